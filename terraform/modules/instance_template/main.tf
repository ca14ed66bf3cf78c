/**
 * One hardened instance template for a comprimemelo role (web or worker):
 * the newest image of the role's family built by packer/, no external IP
 * (egress through Cloud NAT), Shielded VM, OS Login only, the role's
 * service account, and the start-up script that reads the comprimemelo-*
 * metadata at boot. Both roles use this module, so they cannot drift apart.
 */

locals {
  image = "projects/${coalesce(var.image_project, var.project_id)}/global/images/family/${coalesce(var.image_family, "comprimemelo-${var.role}")}"
}

resource "google_compute_instance_template" "this" {
  #checkov:skip=CKV_GCP_32:block-project-ssh-keys = "true" is set in the metadata merge() below, which checkov cannot evaluate (it merges module outputs); tests/infra/test_architecture.py and the offline plan (test_terraform_plan.py) assert it.
  project              = var.project_id
  name_prefix          = "${var.name}-"
  description          = var.description
  region               = var.region
  machine_type         = var.machine_type
  can_ip_forward       = false
  tags                 = concat([var.network_tag], var.extra_tags)
  labels               = merge(var.labels, { "comprimemelo-role" = var.role })
  instance_description = "comprimemelo ${var.role}"

  # OS Login only (no project-wide SSH keys); the comprimemelo-* attributes
  # are read by the start-up script.
  metadata = merge(var.metadata, {
    "block-project-ssh-keys" = "true"
    "enable-oslogin"         = "TRUE"
    "startup-script"         = var.startup_script
    "comprimemelo-role"      = var.role
  })

  disk {
    source_image = local.image
    auto_delete  = true
    boot         = true
    disk_type    = var.disk_type
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
