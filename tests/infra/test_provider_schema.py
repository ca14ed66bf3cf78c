"""terraform/ against the google (6.50.0) and random providers' schemas, from their npm packages.

The checker is shown to catch each kind of mistake on small files first, so
that "no findings" on terraform/ means something.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from tests.conftest import require_or_skip
from tests.infra.provider_schema import GOOGLE, SchemaUnavailable, provider_schema
from tests.infra.schema_check import check_files, checked_types
from tests.infra.tools import TERRAFORM_DIR


@pytest.fixture(scope="session")
def schemas() -> dict[str, dict]:
    try:
        return {name: provider_schema(name) for name in ("google", "random")}
    except SchemaUnavailable as error:
        require_or_skip(str(error))
        raise


def terraform_files() -> list[Path]:
    return sorted(TERRAFORM_DIR.rglob("*.tf"))


def findings_for(tmp_path: Path, schemas: dict, hcl: str) -> list[str]:
    path = tmp_path / "main.tf"
    path.write_text(textwrap.dedent(hcl))
    return [f"{f.address}{' ' + f.where if f.where else ''}: {f.message}" for f in check_files([path], schemas)]


def test_schema_is_google_provider_6_50(schemas):
    source = schemas["google"]["source"]
    assert source["provider"] == "registry.terraform.io/hashicorp/google"
    assert source["provider_version"] == "6.50.0"
    assert source["npm_package"] == f"{GOOGLE.npm_package}@{GOOGLE.npm_version}"
    template = schemas["google"]["resource_schemas"]["google_compute_instance_template"]["block"]
    assert template["attributes"]["machine_type"]["required"] is True
    assert template["attributes"]["self_link"] == {"type": "string", "computed": True}
    assert template["block_types"]["disk"]["min_items"] == 1
    sql = schemas["google"]["resource_schemas"]["google_sql_database_instance"]["block"]
    assert sql["block_types"]["settings"]["max_items"] == 1
    assert "database_flags" in sql["block_types"]["settings"]["block"]["block_types"]


def test_every_google_and_random_block_in_terraform_matches_the_schema(schemas):
    findings = check_files(terraform_files(), schemas)
    assert not findings, "\n".join(map(str, findings))


def test_the_check_covers_every_resource_type_used(schemas):
    used = checked_types(terraform_files())
    assert {"google_compute_region_autoscaler", "google_sql_database_instance", "data.google_project",
            "random_password"} <= used
    assert len(used) >= 35


def test_unknown_argument_is_found(tmp_path, schemas):
    found = findings_for(tmp_path, schemas, """
        resource "google_pubsub_topic" "t" {
          name       = "t"
          retention  = "1d"
        }
    """)
    assert found == ['google_pubsub_topic.t: unknown argument "retention"']


def test_missing_required_argument_and_block_are_found(tmp_path, schemas):
    found = findings_for(tmp_path, schemas, """
        resource "google_compute_region_autoscaler" "a" {
          name = "a"
        }
    """)
    assert 'google_compute_region_autoscaler.a: missing required argument "target"' in found
    assert 'google_compute_region_autoscaler.a: missing required block "autoscaling_policy"' in found


def test_nested_and_dynamic_blocks_are_checked(tmp_path, schemas):
    found = findings_for(tmp_path, schemas, """
        resource "google_compute_region_autoscaler" "a" {
          name   = "a"
          target = "t"
          autoscaling_policy {
            min_replicas = 1
            max_replicas = 2
            metric {
              name   = "m"
              target_value = 3
            }
            dynamic "scale_in_control" {
              for_each = [1]
              content {
                window_sec = 600
              }
            }
            dynamic "scale_down" {
              for_each = []
              content {}
            }
          }
        }
    """)
    assert sorted(found) == sorted([
        'google_compute_region_autoscaler.a autoscaling_policy.metric: unknown argument "target_value"',
        'google_compute_region_autoscaler.a autoscaling_policy.scale_in_control[dynamic]: '
        'unknown argument "window_sec"',
        'google_compute_region_autoscaler.a autoscaling_policy: dynamic "scale_down": no block type "scale_down" here',
    ])


def test_block_written_as_argument_and_unknown_type_are_found(tmp_path, schemas):
    found = findings_for(tmp_path, schemas, """
        resource "google_storage_bucket" "b" {
          name     = "b"
          location = "EU"
          versioning = { enabled = true }
        }
        data "google_projects" "p" {
          filter = "x"
        }
        resource "google_compute_instance_templat" "x" {}
    """)
    assert 'google_storage_bucket.b: unknown argument "versioning" (it is a block: write it without =)' in found
    assert "google_compute_instance_templat.x: the google provider has no resource type " \
           "google_compute_instance_templat" in found
    assert not [f for f in found if f.startswith("data.google_projects")]


def test_computed_only_attribute_cannot_be_set(tmp_path, schemas):
    found = findings_for(tmp_path, schemas, """
        resource "google_compute_network" "n" {
          name      = "n"
          self_link = "x"
        }
    """)
    assert found == ['google_compute_network.n: "self_link" is computed by the provider and cannot be set']
