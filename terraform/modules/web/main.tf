/**
 * The web role: its instance template (modules/instance_template, image
 * family comprimemelo-web), a regional managed instance group spread over var.zones with
 * auto-healing on /healthz and surge-only rolling updates, and an autoscaler
 * on CPU and load-balancer utilisation.
 */

module "instance_template" {
  source = "../instance_template"

  project_id            = var.project_id
  role                  = "web"
  name                  = var.name
  description           = "comprimemelo web VM (gunicorn on port ${var.port})"
  region                = var.region
  machine_type          = var.machine_type
  subnetwork            = var.subnetwork
  network_tag           = var.network_tag
  extra_tags            = var.extra_tags
  image_family          = var.image_family
  image_project         = var.image_project
  disk_size_gb          = var.disk_size_gb
  service_account_email = var.service_account_email
  startup_script        = var.startup_script
  metadata              = var.metadata
  labels                = var.labels
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
    instance_template = module.instance_template.self_link
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
