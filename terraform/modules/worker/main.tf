/**
 * The worker role: hardened instance template from the comprimemelo-worker
 * image family, a regional managed instance group over var.zones, and an
 * autoscaler that follows the Pub/Sub backlog (undelivered messages per VM),
 * with scale-in control so a short lull does not kill busy workers.
 */

locals {
  image = "projects/${coalesce(var.image_project, var.project_id)}/global/images/family/${var.image_family}"

  backlog_filter = "resource.type = pubsub_subscription AND resource.labels.subscription_id = \"${var.subscription_name}\""
}

resource "google_compute_instance_template" "this" {
  #checkov:skip=CKV_GCP_32:block-project-ssh-keys = "true" is set in the metadata merge() below, which checkov cannot evaluate (it merges module outputs); tests/infra/test_architecture.py asserts it.
  project              = var.project_id
  name_prefix          = "${var.name}-"
  description          = "comprimemelo worker VM (Pub/Sub consumer)"
  region               = var.region
  machine_type         = var.machine_type
  can_ip_forward       = false
  tags                 = concat([var.network_tag], var.extra_tags)
  labels               = merge(var.labels, { "comprimemelo-role" = "worker" })
  instance_description = "comprimemelo worker"

  # OS Login only (no project-wide SSH keys); the comprimemelo-* attributes
  # are read by the start-up script.
  metadata = merge(var.metadata, {
    "block-project-ssh-keys" = "true"
    "enable-oslogin"         = "TRUE"
    "startup-script"         = var.startup_script
    "comprimemelo-role"      = "worker"
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
