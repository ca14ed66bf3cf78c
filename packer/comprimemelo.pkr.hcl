# Builds the comprimemelo-web and comprimemelo-worker images: Debian 12 with
# the app in /opt/comprimemelo/venv, the Ops Agent, and the role's systemd
# unit enabled. The build VM has no external IP and is reached through IAP.

locals {
  image_version = var.image_version != "" ? var.image_version : formatdate("YYYYMMDDhhmmss", timestamp())
  wheel_name    = basename(var.wheel_path)
}

source "googlecompute" "comprimemelo" {
  project_id                  = var.project_id
  zone                        = var.zone
  network                     = var.network
  subnetwork                  = var.subnetwork
  machine_type                = var.machine_type
  source_image_family         = "debian-12"
  source_image_project_id     = ["debian-cloud"]
  ssh_username                = "packer"
  omit_external_ip            = true
  use_internal_ip             = true
  use_iap                     = true
  disk_size                   = 20
  enable_secure_boot          = true
  enable_vtpm                 = true
  enable_integrity_monitoring = true
  image_labels = {
    app = "comprimemelo"
  }
}

build {
  name = "comprimemelo"

  source "source.googlecompute.comprimemelo" {
    name              = "web"
    image_name        = "comprimemelo-web-${local.image_version}"
    image_family      = "comprimemelo-web"
    image_description = "comprimemelo web role (gunicorn), Debian 12"
  }

  source "source.googlecompute.comprimemelo" {
    name              = "worker"
    image_name        = "comprimemelo-worker-${local.image_version}"
    image_family      = "comprimemelo-worker"
    image_description = "comprimemelo worker role, Debian 12"
  }

  provisioner "shell" {
    inline = ["mkdir -p /tmp/comprimemelo-build/systemd"]
  }

  provisioner "file" {
    source      = var.wheel_path
    destination = "/tmp/comprimemelo-build/${local.wheel_name}"
  }

  provisioner "file" {
    sources     = ["${path.root}/systemd/comprimemelo-web.service", "${path.root}/systemd/comprimemelo-worker.service"]
    destination = "/tmp/comprimemelo-build/systemd/"
  }

  provisioner "shell" {
    script          = "${path.root}/provision.sh"
    execute_command = "chmod +x {{ .Path }}; sudo env {{ .Vars }} {{ .Path }}"
    environment_vars = [
      "COMPRIMEMELO_ROLE=${source.name}",
      "COMPRIMEMELO_WHEEL=/tmp/comprimemelo-build/${local.wheel_name}",
      "COMPRIMEMELO_UNITS_DIR=/tmp/comprimemelo-build/systemd",
    ]
  }
}
