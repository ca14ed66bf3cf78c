"""``terraform init``, ``validate`` and ``plan`` on the real root module and the examples, offline.

The providers are stand-ins serving the published schemas of hashicorp/google
6.50.0 and hashicorp/random 3.7.2 (tests/infra/terraform_offline.py): Terraform
itself checks every argument, type, block and reference against them, and the
plan is what Terraform would send a real provider. What only a real apply
would show (Google's own validation of values, quotas, IAM propagation,
anything computed by Google) is not here: see docs/deploy.md.
"""

from __future__ import annotations

from collections import Counter, defaultdict

import pytest

from capacity.plan import Workload, make_plan
from tests.conftest import require_or_skip
from tests.infra.provider_schema import SchemaUnavailable
from tests.infra.terraform_offline import OfflineTerraform, TerraformFailed

EXAMPLE_ZONES = ["europe-west1-b", "europe-west1-c", "europe-west1-d"]
GOOGLE_RANGES = {"130.211.0.0/22", "35.191.0.0/16"}
IAP_RANGE = "35.235.240.0/20"
BACKLOG_METRIC = "pubsub.googleapis.com/subscription/num_undelivered_messages"
EXAMPLE_VARIABLES = ["-var=project_id=demo-project", '-var=domains=["files.example.com"]']
EXPECTED_COUNTS = {
    "google_compute_backend_service": 1, "google_compute_firewall": 2, "google_compute_global_address": 2,
    "google_compute_global_forwarding_rule": 2, "google_compute_health_check": 2,
    "google_compute_instance_template": 2, "google_compute_managed_ssl_certificate": 1, "google_compute_network": 1,
    "google_compute_region_autoscaler": 2, "google_compute_region_instance_group_manager": 2,
    "google_compute_router": 1, "google_compute_router_nat": 1, "google_compute_security_policy": 1,
    "google_compute_ssl_policy": 1, "google_compute_subnetwork": 1, "google_compute_target_http_proxy": 1,
    "google_compute_target_https_proxy": 1, "google_compute_url_map": 2, "google_project_iam_member": 8,
    "google_project_service": 11, "google_pubsub_subscription": 2, "google_pubsub_subscription_iam_member": 4,
    "google_pubsub_topic": 2, "google_pubsub_topic_iam_member": 2, "google_secret_manager_secret": 1,
    "google_secret_manager_secret_iam_member": 2, "google_secret_manager_secret_version": 1,
    "google_service_account": 2, "google_service_account_iam_member": 1, "google_service_networking_connection": 1,
    "google_sql_database": 1, "google_sql_database_instance": 1, "google_sql_user": 2, "google_storage_bucket": 2,
    "google_storage_bucket_iam_member": 3, "random_id": 1, "random_password": 1,
}


@pytest.fixture(scope="module")
def offline(tmp_path_factory) -> OfflineTerraform:
    try:
        return OfflineTerraform.create(tmp_path_factory.mktemp("terraform-offline"))
    except SchemaUnavailable as error:
        require_or_skip(str(error))
        raise


def plan_of(offline: OfflineTerraform, directory: str, *variables: str) -> dict:
    try:
        return offline.plan_json(offline.directory(directory), *variables)
    except TerraformFailed as error:
        pytest.fail(str(error))


@pytest.fixture(scope="module")
def root_plan(offline) -> dict:
    return plan_of(offline, ".", "-var-file=terraform.tfvars.example")


def created(plan: dict) -> list[dict]:
    return [change for change in plan["resource_changes"] if change["change"]["actions"] == ["create"]]


def by_type(plan: dict, resource_type: str) -> dict[str, dict]:
    """``after`` values of the planned resources of one type, by address."""
    return {c["address"]: c["change"]["after"] for c in created(plan) if c["type"] == resource_type}


def one(plan: dict, resource_type: str, module: str) -> dict:
    found = {a: v for a, v in by_type(plan, resource_type).items() if a.startswith(module + ".")}
    assert len(found) == 1, sorted(found)
    return next(iter(found.values()))


def members_by_role(plan: dict) -> dict[str, set[str]]:
    """Who gets each role, at every IAM resource: a known member, or ``sa:<key>`` for a service account
    not created yet (its e-mail is computed by Google; the for_each key names the role it is for)."""
    roles: dict[str, set[str]] = defaultdict(set)
    for change in created(plan):
        if not change["type"].endswith("_iam_member"):
            continue
        after, unknown = change["change"]["after"], change["change"]["after_unknown"]
        key = str(change.get("index", ""))
        member = f"sa:{key.split('/')[0]}" if unknown.get("member") else after["member"]
        scope = change["type"].removeprefix("google_").removesuffix("_iam_member")
        roles[f"{scope} {after['role']}"].add(member)
    return roles


def test_root_module_plans_every_resource_once(root_plan):
    changes = root_plan["resource_changes"]
    assert all(c["change"]["actions"] == ["create"] for c in changes), "a fresh plan only creates"
    assert dict(Counter(c["type"] for c in changes)) == EXPECTED_COUNTS
    providers = {c["provider_name"] for c in changes}
    assert providers == {"registry.terraform.io/hashicorp/google", "registry.terraform.io/hashicorp/random"}


def test_both_groups_spread_over_the_example_zones(root_plan):
    for role in ("web", "worker"):
        manager = one(root_plan, "google_compute_region_instance_group_manager", f"module.{role}")
        assert manager["distribution_policy_zones"] == EXAMPLE_ZONES
        assert manager["region"] == "europe-west1"
        assert manager["update_policy"][0]["max_unavailable_fixed"] == 0


def test_firewall_admits_only_google_ranges(root_plan):
    rules = {after["name"]: after for after in by_type(root_plan, "google_compute_firewall").values()}
    assert set(rules) == {"comprimemelo-allow-lb-to-web", "comprimemelo-allow-iap-ssh"}
    web = rules["comprimemelo-allow-lb-to-web"]
    assert set(web["source_ranges"]) == GOOGLE_RANGES
    assert web["allow"] == [{"protocol": "tcp", "ports": ["8000"]}]
    assert web["target_tags"] == ["comprimemelo-web"]
    assert rules["comprimemelo-allow-iap-ssh"]["source_ranges"] == [IAP_RANGE]
    assert all(rule["direction"] == "INGRESS" for rule in rules.values())


def test_iam_members_per_role_are_least_privilege(root_plan):
    roles = members_by_role(root_plan)
    agent = {m for m in roles["pubsub_topic roles/pubsub.publisher"] if m.startswith("serviceAccount:service-")}
    assert len(agent) == 1 and next(iter(agent)).endswith("@gcp-sa-pubsub.iam.gserviceaccount.com")
    assert dict(roles) == {
        "project roles/cloudsql.client": {"sa:web", "sa:worker"},
        "project roles/cloudsql.instanceUser": {"sa:web", "sa:worker"},
        "project roles/logging.logWriter": {"sa:web", "sa:worker"},
        "project roles/monitoring.metricWriter": {"sa:web", "sa:worker"},
        "service_account roles/iam.serviceAccountTokenCreator": {"sa:web"},
        "pubsub_topic roles/pubsub.publisher": {"sa:web", *agent},
        "pubsub_subscription roles/pubsub.subscriber": {"sa:worker", *agent},
        "pubsub_subscription roles/pubsub.viewer": {"sa:worker"},
        "storage_bucket roles/storage.objectAdmin": {"sa:web", "sa:worker"},
        "storage_bucket roles/storage.objectCreator": {"group:cloud-storage-analytics@google.com"},
        "secret_manager_secret roles/secretmanager.secretAccessor": {"sa:web", "sa:worker"},
    }


def test_worker_autoscaler_follows_the_subscription_backlog(root_plan):
    policy = one(root_plan, "google_compute_region_autoscaler", "module.worker")["autoscaling_policy"][0]
    metric = policy["metric"][0]
    assert metric["name"] == BACKLOG_METRIC
    assert metric["filter"] == ('resource.type = pubsub_subscription AND '
                                'resource.labels.subscription_id = "comprimemelo-tasks-worker"')
    assert policy["scale_in_control"][0]["max_scaled_in_replicas"][0]["fixed"] == 2
    web = one(root_plan, "google_compute_region_autoscaler", "module.web")["autoscaling_policy"][0]
    assert web["cpu_utilization"][0]["target"] == 0.6 and not web["metric"]


def test_instance_templates_are_private_and_carry_their_role(root_plan):
    for role in ("web", "worker"):
        template = one(root_plan, "google_compute_instance_template", f"module.{role}.module.instance_template")
        assert template["network_interface"][0]["access_config"] == []
        assert template["metadata"]["comprimemelo-role"] == role
        assert template["metadata"]["block-project-ssh-keys"] == "true"
        assert template["metadata"]["enable-oslogin"] == "TRUE"
        assert template["disk"][0]["source_image"] == (
            f"projects/my-comprimemelo-project/global/images/family/comprimemelo-{role}")
        assert template["shielded_instance_config"][0]["enable_secure_boot"] is True


@pytest.mark.parametrize(("example", "tasks_per_day"), [("minimal", 10_000), ("production", 1_000_000)])
def test_example_plans_the_capacity_model_sizes(offline, example, tasks_per_day):
    plan = plan_of(offline, f"examples/{example}", *EXAMPLE_VARIABLES)
    model = make_plan(Workload(tasks_per_day))
    worker = one(plan, "google_compute_region_autoscaler", "module.comprimemelo.module.worker")["autoscaling_policy"][0]
    assert (worker["min_replicas"], worker["max_replicas"], worker["metric"][0]["single_instance_assignment"]) == (
        model.workers.values["min_replicas"], model.workers.values["max_replicas"],
        model.workers.values["messages_per_instance"])
    template = one(plan, "google_compute_instance_template",
                   "module.comprimemelo.module.worker.module.instance_template")
    assert template["machine_type"] == model.workers.values["machine_type"]
    instance = one(plan, "google_sql_database_instance", "module.comprimemelo.module.database")
    assert instance["settings"][0]["tier"] == model.database.values["tier"]
    flags = {flag["name"]: flag["value"] for flag in instance["settings"][0]["database_flags"]}
    assert flags["max_connections"] == str(model.database.values["max_connections_flag"])
