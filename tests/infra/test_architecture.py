"""The Terraform describes the architecture we promise, read with python-hcl2.

These tests parse the HCL, so they check what is written; test_terraform_plan.py
runs Terraform itself (with stand-in providers), and neither shows what Google
would accept.
"""

from __future__ import annotations

import re

import pytest

from tests.infra.terraform_hcl import (
    MODULES_DIR,
    all_modules,
    block,
    load_file,
    load_module,
    named_blocks,
    resources,
)
from tests.infra.tools import TERRAFORM_DIR

ALLOWED_SOURCE_RANGES = {"130.211.0.0/22", "35.191.0.0/16", "35.235.240.0/20"}
PRIMITIVE_ROLES = re.compile(r"roles/(owner|editor|viewer)\b")
MODULE_FILES = ("main.tf", "variables.tf", "outputs.tf", "versions.tf")
BACKLOG_METRIC = "pubsub.googleapis.com/subscription/num_undelivered_messages"


def module(name: str) -> dict:
    return load_module(MODULES_DIR / name)


def locals_of(loaded: dict) -> dict:
    merged: dict = {}
    for entry in loaded.get("locals", []):
        merged.update(entry)
    return merged


def only(found: dict) -> dict:
    assert len(found) == 1, f"expected exactly one resource, got {sorted(found)}"
    return next(iter(found.values()))


# --- module layout and documentation -----------------------------------------


@pytest.mark.parametrize("name", sorted(all_modules()))
def test_module_has_the_four_standard_files(name):
    directory = all_modules()[name]
    missing = [f for f in MODULE_FILES if not (directory / f).is_file()]
    assert not missing, f"{name} lacks {missing}"


@pytest.mark.parametrize("name", sorted(all_modules()))
def test_every_variable_is_typed_and_described(name):
    loaded = load_module(all_modules()[name])
    for variable, body in named_blocks(loaded, "variable"):
        assert body.get("type"), f"{name}: variable {variable} has no type"
        assert str(body.get("description", "")).strip(), f"{name}: variable {variable} has no description"


@pytest.mark.parametrize("name", sorted(all_modules()))
def test_every_output_is_described(name):
    loaded = load_module(all_modules()[name])
    outputs = list(named_blocks(loaded, "output"))
    assert outputs, f"{name} has no outputs"
    for output, body in outputs:
        assert str(body.get("description", "")).strip(), f"{name}: output {output} has no description"


def test_root_outputs_cover_the_deployment_handles():
    outputs = dict(named_blocks(load_module(TERRAFORM_DIR), "output"))
    assert {"url", "load_balancer_ip", "bucket", "database_connection_name"} <= set(outputs)


@pytest.mark.parametrize("name", sorted(all_modules()))
def test_google_provider_constraint(name):
    versions = load_file(all_modules()[name] / "versions.tf")
    providers = versions["terraform"][0]["required_providers"][0]
    assert providers["google"]["version"] == ">= 5.40, < 7"


def test_no_primitive_roles_anywhere():
    for path in TERRAFORM_DIR.rglob("*.tf"):
        text = path.read_text()
        # The IAM module names them only to reject them in a validation.
        text = re.sub(r"!contains\(\[[^]]*\]", "", text)
        assert not PRIMITIVE_ROLES.search(text), f"primitive role in {path}"


# --- network -------------------------------------------------------------------


def test_firewall_sources_are_only_google_ranges():
    root = load_module(TERRAFORM_DIR)
    network_call = dict(named_blocks(root, "module"))["network"]
    rules = network_call["ingress_rules"]
    assert rules, "no ingress rules"
    for name, rule in rules.items():
        assert set(rule["source_ranges"]) <= ALLOWED_SOURCE_RANGES, name
    ports = {port for rule in rules.values() for port in rule["ports"]}
    assert ports == {"8000", "22"}

    network = module("network")
    firewall = only(resources(network, "google_compute_firewall"))
    assert firewall["direction"] == "INGRESS"
    assert firewall["source_ranges"] == "${each.value.source_ranges}"


def test_subnet_has_private_google_access_and_flow_logs():
    network = module("network")
    subnet = only(resources(network, "google_compute_subnetwork"))
    assert subnet["private_ip_google_access"] is True
    assert "log_config" in subnet
    vpc = only(resources(network, "google_compute_network"))
    assert vpc["auto_create_subnetworks"] is False
    nat = only(resources(network, "google_compute_router_nat"))
    assert block(nat, "log_config")["enable"] is True


# --- compute -------------------------------------------------------------------


def test_instance_template_is_private_and_shielded():
    loaded = module("instance_template")
    template = only(resources(loaded, "google_compute_instance_template"))
    interface = block(template, "network_interface")
    assert "access_config" not in interface, "VMs must not get an external IP"
    shielded = block(template, "shielded_instance_config")
    assert shielded == {
        "enable_secure_boot": True,
        "enable_vtpm": True,
        "enable_integrity_monitoring": True,
    }
    assert block(template, "service_account")["scopes"] == ["cloud-platform"]
    metadata = re.sub(r"\s+", " ", template["metadata"].replace('\\"', '"'))
    for expected in ('"block-project-ssh-keys" = "true"', '"enable-oslogin" = "TRUE"', '"comprimemelo-role" = var.role'):
        assert expected in metadata, f"{expected} missing from metadata {metadata}"
    image = locals_of(loaded)["image"]
    assert image.startswith("projects/") and "/global/images/family/" in image
    assert "comprimemelo-${var.role}" in image


@pytest.mark.parametrize("role", ["web", "worker"])
def test_both_roles_use_the_one_instance_template_module(role):
    loaded = module(role)
    assert not resources(loaded, "google_compute_instance_template"), f"{role} defines its own template"
    call = dict(named_blocks(loaded, "module"))["instance_template"]
    assert call["source"] == "../instance_template"
    assert call["role"] == role
    manager = only(resources(loaded, "google_compute_region_instance_group_manager"))
    assert block(manager, "version")["instance_template"] == "${module.instance_template.self_link}"
    variables = dict(named_blocks(loaded, "variable"))
    assert variables["image_family"]["default"] == f"comprimemelo-{role}"


@pytest.mark.parametrize("role", ["web", "worker"])
def test_groups_are_regional_over_at_least_two_zones(role):
    loaded = module(role)
    manager = only(resources(loaded, "google_compute_region_instance_group_manager"))
    assert manager["distribution_policy_zones"] == "${var.zones}"
    zones = dict(named_blocks(loaded, "variable"))["zones"]
    validation = block(zones, "validation")
    assert ">= 2" in validation["condition"]
    policy = block(manager, "update_policy")
    assert policy["type"] == "PROACTIVE"
    assert policy["max_unavailable_fixed"] == 0
    assert "max_surge_fixed" in policy


def test_web_group_autoheals_and_serves_named_port():
    loaded = module("web")
    manager = only(resources(loaded, "google_compute_region_instance_group_manager"))
    assert block(manager, "named_port") == {"name": "http", "port": "${var.port}"}
    healing = block(manager, "auto_healing_policies")
    assert healing["health_check"] == "${google_compute_health_check.autohealing.id}"
    check = resources(loaded, "google_compute_health_check")["autohealing"]
    assert block(check, "http_health_check")["request_path"] == "/healthz"


def test_web_autoscaler_uses_cpu_and_load_balancer_utilisation():
    autoscaler = only(resources(module("web"), "google_compute_region_autoscaler"))
    policy = block(autoscaler, "autoscaling_policy")
    assert "cpu_utilization" in policy
    assert "load_balancing_utilization" in policy
    assert "min_replicas" in policy and "max_replicas" in policy


def test_worker_autoscaler_follows_the_pubsub_backlog():
    loaded = module("worker")
    autoscaler = only(resources(loaded, "google_compute_region_autoscaler"))
    policy = block(autoscaler, "autoscaling_policy")
    metric = block(policy, "metric")
    assert metric["name"] == BACKLOG_METRIC
    assert "single_instance_assignment" in metric
    backlog_filter = metric["filter"]
    if backlog_filter == "${local.backlog_filter}":
        backlog_filter = locals_of(loaded)["backlog_filter"]
    assert "resource.type = pubsub_subscription" in backlog_filter
    assert "resource.labels.subscription_id" in backlog_filter
    dynamic = {name for entry in policy.get("dynamic", []) for name in entry}
    assert "scale_in_control" in dynamic or "scale_in_control" in policy


# --- load balancer -------------------------------------------------------------


def test_managed_certificate_is_replaced_before_destroy():
    loaded = module("load_balancer")
    certificate = only(resources(loaded, "google_compute_managed_ssl_certificate"))
    assert block(certificate, "lifecycle")["create_before_destroy"] is True
    assert "certificate_suffix" in certificate["name"]
    assert "sha256" in locals_of(loaded)["certificate_suffix"]


def test_load_balancer_is_https_with_redirect_armor_and_logging():
    loaded = module("load_balancer")
    policy = only(resources(loaded, "google_compute_ssl_policy"))
    assert (policy["profile"], policy["min_tls_version"]) == ("MODERN", "TLS_1_2")

    backend = only(resources(loaded, "google_compute_backend_service"))
    assert backend["load_balancing_scheme"] == "EXTERNAL_MANAGED"
    assert backend["security_policy"] == "${google_compute_security_policy.this.id}"
    assert block(backend, "log_config") == {"enable": True, "sample_rate": 1.0}
    check = only(resources(loaded, "google_compute_health_check"))
    assert block(check, "http_health_check")["request_path"] == "/readyz"

    rules = resources(loaded, "google_compute_global_forwarding_rule")
    assert sorted(rule["port_range"] for rule in rules.values()) == ["443", "80"]
    redirect = resources(loaded, "google_compute_url_map")["http_redirect"]
    assert block(redirect, "default_url_redirect")["https_redirect"] is True


def test_cloud_armor_rate_limits_auth_and_allows_by_default():
    armor = only(resources(module("load_balancer"), "google_compute_security_policy"))
    rules = armor["rule"]
    auth = [
        rule
        for rule in rules
        if "/api/auth/" in block(rule, "match").get("expr", [{}])[0].get("expression", "")
    ]
    assert auth and auth[0]["action"] in {"rate_based_ban", "throttle"}
    assert "rate_limit_options" in auth[0]
    default = [rule for rule in rules if rule["priority"] == 2147483647]
    assert default and default[0]["action"] == "allow"


# --- data ----------------------------------------------------------------------


def test_cloud_sql_is_private_regional_recoverable_and_iam_authenticated():
    loaded = module("database")
    instance = only(resources(loaded, "google_sql_database_instance"))
    assert instance["deletion_protection"] is True
    settings = block(instance, "settings")
    assert settings["availability_type"] == "REGIONAL"
    assert settings["deletion_protection_enabled"] is True
    ip = block(settings, "ip_configuration")
    assert ip["ipv4_enabled"] is False
    assert ip["ssl_mode"] == "ENCRYPTED_ONLY"
    backups = block(settings, "backup_configuration")
    assert backups["enabled"] is True
    assert backups["point_in_time_recovery_enabled"] is True
    flags = {flag["name"]: flag["value"] for flag in settings["database_flags"]}
    assert flags["cloudsql.iam_authentication"] == "on"
    assert instance["database_version"] == "${var.database_version}"
    assert dict(named_blocks(loaded, "variable"))["database_version"]["default"] == "POSTGRES_15"

    assert only(resources(loaded, "google_compute_global_address"))["purpose"] == "VPC_PEERING"
    assert resources(loaded, "google_service_networking_connection")
    user = only(resources(loaded, "google_sql_user"))
    assert user["type"] == "CLOUD_IAM_SERVICE_ACCOUNT"
    assert "trimsuffix" in user["name"] and ".gserviceaccount.com" in user["name"]


def test_bucket_is_private_and_expires_objects():
    bucket = resources(module("storage"), "google_storage_bucket")["files"]
    assert bucket["uniform_bucket_level_access"] is True
    assert bucket["public_access_prevention"] == "enforced"
    assert bucket["force_destroy"] is False
    actions = [block(rule, "action")["type"] for rule in bucket["lifecycle_rule"]]
    assert "Delete" in actions
    condition = block(bucket["lifecycle_rule"][0], "condition")
    assert condition["age"] == "${var.retention_days}"
    assert "logging" in bucket


def test_the_app_and_the_bucket_agree_on_retention():
    """VMs get the app's retention settings from the same variables whose
    maximum (plus a day) is the bucket's lifecycle age: the rule never deletes
    files the app still promises to keep."""
    root = load_module(TERRAFORM_DIR)
    local = locals_of(root)
    metadata = local["common_metadata"]
    assert metadata["comprimemelo-retention-seconds"] == "${tostring(var.retention_days * 86400)}"
    assert metadata["comprimemelo-max-retention-seconds"] == (
        "${tostring(max(var.retention_days, var.max_retention_days) * 86400)}"
    )
    assert local["bucket_backstop_days"] == "${max(var.retention_days, var.max_retention_days) + 1}"
    storage = dict(named_blocks(root, "module"))["storage"]
    assert storage["retention_days"] == "${local.bucket_backstop_days}"


def test_subscription_is_exactly_once_with_dead_letters():
    loaded = module("messaging")
    subscription = resources(loaded, "google_pubsub_subscription")["tasks"]
    assert subscription["enable_exactly_once_delivery"] is True
    assert block(subscription, "expiration_policy")["ttl"] == ""
    dead_letter = block(subscription, "dead_letter_policy")
    assert dead_letter["dead_letter_topic"] == "${google_pubsub_topic.dead_letter.id}"
    assert "retry_policy" in subscription
    assert "dead_letter" in resources(loaded, "google_pubsub_subscription")
    text = (MODULES_DIR / "messaging" / "main.tf").read_text()
    assert "@gcp-sa-pubsub.iam.gserviceaccount.com" in text


# --- identity ------------------------------------------------------------------


def test_service_accounts_per_role_and_apis_enabled():
    root = load_module(TERRAFORM_DIR)
    roles = locals_of(root)["roles"]
    assert set(roles) == {"web", "worker"}
    iam = module("iam")
    services = dict(named_blocks(iam, "variable"))["services"]["default"]
    for api in ("compute", "sqladmin", "servicenetworking", "pubsub", "secretmanager", "iamcredentials"):
        assert f"{api}.googleapis.com" in services
    service = only(resources(iam, "google_project_service"))
    assert service["disable_on_destroy"] is False
    token_creator = resources(iam, "google_service_account_iam_member")["self_token_creator"]
    assert token_creator["role"] == "roles/iam.serviceAccountTokenCreator"


def test_secret_is_generated_and_auto_replicated():
    loaded = module("secrets")
    password = only(resources(loaded, "random_password"))
    assert password["length"] == "${var.key_length}"
    assert dict(named_blocks(loaded, "variable"))["key_length"]["default"] == 64
    secret = only(resources(loaded, "google_secret_manager_secret"))
    assert "auto" in block(secret, "replication")


def test_the_bucket_lets_the_sites_pages_upload_big_files_directly():
    storage = dict(named_blocks(load_module(TERRAFORM_DIR), "module"))["storage"]
    assert "var.domains" in storage["cors_origins"]
    bucket = resources(module("storage"), "google_storage_bucket")["files"]
    (cors,) = [entry["cors"] for entry in bucket["dynamic"] if "cors" in entry]
    (content,) = cors["content"]
    assert "PUT" in content["method"] and "Range" in content["response_header"]
