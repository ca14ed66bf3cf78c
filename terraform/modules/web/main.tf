/**
 * The web role: hardened instance template from the comprimemelo-web image
 * family, a regional managed instance group spread over var.zones with
 * auto-healing on /healthz and surge-only rolling updates, and an autoscaler
 * on CPU and load-balancer utilisation.
 */

locals {
  image = "projects/${coalesce(var.image_project, var.project_id)}/global/images/family/${var.image_family}"
}

resource "google_compute_instance_template" "this" {
  #checkov:skip=CKV_GCP_32:block-project-ssh-keys = "true" is set in the metadata merge() below, which checkov cannot evaluate (it merges module outputs); tests/infra/test_architecture.py asserts it.
  project              = var.project_id
  name_prefix          = "${var.name}-"
  description          = "comprimemelo web VM (gunicorn on port ${var.port})"
  region               = var.region
  machine_type         = var.machine_type
  can_ip_forward       = false
  tags                 = concat([var.network_tag], var.extra_tags)
  labels               = merge(var.labels, { "comprimemelo-role" = "web" })
  instance_description = "comprimemelo web"

  # OS Login only (no project-wide SSH keys); the comprimemelo-* attributes
  # are read by the start-up script.
  metadata = merge(var.metadata, {
    "block-project-ssh-keys" = "true"
    "enable-oslogin"         = "TRUE"
    "startup-script"         = var.startup_script
    "comprimemelo-role"      = "web"
  })

  disk {
    source_image = local.image
    auto_delete  = true
    boot         = true
    disk_type    = "pd-balanced"
    disk_size_gb = var.disk_size_gb
  }

  # No access_config: the VMs have no external IP; egress goes through Cloud NAT.
  network_interface {
    subnetwork = var.subnetwork
  }

  service_account {
    email  = var.service_account_email
    scopes = ["cloud-platform"]
  }

  shielded_instance_config {
    enable_secure_boot          = true
    enable_vtpm                 = true
    enable_integrity_monitoring = true
  }

  scheduling {
    automatic_restart   = true
    on_host_maintenance = "MIGRATE"
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "google_compute_health_check" "autohealing" {
  project             = var.project_id
  name                = "${var.name}-autohealing"
  check_interval_sec  = var.autohealing.check_interval_sec
  timeout_sec         = var.autohealing.timeout_sec
  healthy_threshold   = 2
  unhealthy_threshold = var.autohealing.unhealthy_threshold

  http_health_check {
    port         = var.port
    request_path = "/healthz"
  }

  log_config {
    enable = true
  }
}

resource "google_compute_region_instance_group_manager" "this" {
  project                   = var.project_id
  name                      = "${var.name}-mig"
  region                    = var.region
  base_instance_name        = var.name
  distribution_policy_zones = var.zones

  version {
    name              = "primary"
    instance_template = google_compute_instance_template.this.self_link
  }

  named_port {
    name = "http"
    port = var.port
  }

  auto_healing_policies {
    health_check      = google_compute_health_check.autohealing.id
    initial_delay_sec = var.autohealing.initial_delay_sec
  }

  update_policy {
    type                           = "PROACTIVE"
    minimal_action                 = "REPLACE"
    most_disruptive_allowed_action = "REPLACE"
    instance_redistribution_type   = "PROACTIVE"
    max_surge_fixed                = max(var.update_max_surge, length(var.zones))
    max_unavailable_fixed          = 0
    replacement_method             = "SUBSTITUTE"
  }

  # The autoscaler owns the size.
  lifecycle {
    ignore_changes = [target_size]
  }
}

resource "google_compute_region_autoscaler" "this" {
  project = var.project_id
  name    = "${var.name}-autoscaler"
  region  = var.region
  target  = google_compute_region_instance_group_manager.this.id

  autoscaling_policy {
    min_replicas    = var.autoscaling.min_replicas
    max_replicas    = var.autoscaling.max_replicas
    cooldown_period = var.autoscaling.cooldown_period

    cpu_utilization {
      target = var.autoscaling.cpu_target
    }

    load_balancing_utilization {
      target = var.autoscaling.load_balancing_target
    }
  }
}
