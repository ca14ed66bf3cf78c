/**
 * The worker role: its instance template (modules/instance_template, image
 * family comprimemelo-worker), a regional managed instance group over var.zones, and an
 * autoscaler that follows the Pub/Sub backlog (undelivered messages per VM),
 * with scale-in control so a short lull does not kill busy workers.
 */

locals {
  backlog_filter = "resource.type = pubsub_subscription AND resource.labels.subscription_id = \"${var.subscription_name}\""
}

module "instance_template" {
  source = "../instance_template"

  project_id            = var.project_id
  role                  = "worker"
  name                  = var.name
  description           = "comprimemelo worker VM (Pub/Sub consumer)"
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

  update_policy {
    type                         = "PROACTIVE"
    minimal_action               = "REPLACE"
    instance_redistribution_type = "PROACTIVE"
    max_surge_fixed              = max(var.update_max_surge, length(var.zones))
    max_unavailable_fixed        = 0
    replacement_method           = "SUBSTITUTE"
  }

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

    metric {
      name                       = "pubsub.googleapis.com/subscription/num_undelivered_messages"
      filter                     = local.backlog_filter
      single_instance_assignment = var.autoscaling.messages_per_instance
    }

    dynamic "scale_in_control" {
      for_each = var.scale_in_control == null ? [] : [var.scale_in_control]
      content {
        time_window_sec = scale_in_control.value.time_window_sec
        max_scaled_in_replicas {
          fixed = scale_in_control.value.max_scaled_in_replicas
        }
      }
    }
  }
}
