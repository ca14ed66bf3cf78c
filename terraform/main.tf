/**
 * comprimemelo on Google Cloud: web VMs behind a global HTTPS load balancer,
 * worker VMs scaled on the Pub/Sub backlog, Cloud SQL for PostgreSQL, a
 * private bucket, and the JWT key in Secret Manager. VMs have no external IP
 * and read their configuration from instance metadata at boot
 * (startup-scripts/comprimemelo-startup.sh).
 */

locals {
  public_url  = "https://${var.domains[0]}"
  bucket_name = coalesce(var.bucket_name, "${var.project_id}-comprimemelo-files")
  # One day past the longest retention a task may ask for: the app deletes
  # expired files itself; this rule only catches what it could not.
  bucket_backstop_days = max(var.retention_days, var.max_retention_days) + 1
  startup_script       = file("${path.module}/../startup-scripts/comprimemelo-startup.sh")
  labels               = merge(var.labels, { "app" = "comprimemelo" })

  roles = {
    web    = { display_name = "comprimemelo web VMs", sign_blobs = true }
    worker = { display_name = "comprimemelo worker VMs", sign_blobs = false }
  }

  common_project_roles = [
    "roles/cloudsql.client",
    "roles/cloudsql.instanceUser",
    "roles/logging.logWriter",
    "roles/monitoring.metricWriter",
  ]

  common_metadata = {
    "comprimemelo-cloudsql-instance" = module.database.connection_name
    "comprimemelo-database-name"     = module.database.database_name
    "comprimemelo-bucket"            = module.storage.bucket_name
    "comprimemelo-topic"             = module.messaging.topic_name
    "comprimemelo-subscription"      = module.messaging.subscription_name
    "comprimemelo-secret-name"       = module.secrets.secret_id
    # The app expires tasks itself; the bucket's lifecycle rule is only a backstop.
    "comprimemelo-retention-seconds"     = tostring(var.retention_days * 86400)
    "comprimemelo-max-retention-seconds" = tostring(max(var.retention_days, var.max_retention_days) * 86400)
  }
}

module "iam" {
  source = "./modules/iam"

  project_id = var.project_id
  service_accounts = {
    for role, spec in local.roles : role => {
      display_name  = spec.display_name
      description   = "Runs the comprimemelo ${role} role; least privilege."
      project_roles = local.common_project_roles
      sign_blobs    = spec.sign_blobs
    }
  }
}

module "network" {
  source = "./modules/network"

  project_id  = module.iam.project_id
  name        = var.name
  region      = var.region
  subnet_cidr = var.subnet_cidr

  ingress_rules = {
    "lb-to-web" = {
      description   = "Google load balancers and health checks to gunicorn"
      source_ranges = ["130.211.0.0/22", "35.191.0.0/16"]
      ports         = ["8000"]
      target_tags   = ["comprimemelo-web"]
    }
    "iap-ssh" = {
      description   = "SSH through Identity-Aware Proxy TCP forwarding only"
      source_ranges = ["35.235.240.0/20"]
      ports         = ["22"]
      target_tags   = ["comprimemelo-web", "comprimemelo-worker"]
    }
  }
}

module "database" {
  source = "./modules/database"

  project_id                 = module.iam.project_id
  name                       = var.name
  region                     = var.region
  network_id                 = module.network.network_id
  tier                       = var.database_tier
  extra_database_flags       = var.database_max_connections == null ? {} : { "max_connections" = tostring(var.database_max_connections) }
  iam_service_account_emails = module.iam.emails
  labels                     = local.labels
}

module "messaging" {
  source = "./modules/messaging"

  project_id         = module.iam.project_id
  topic_name         = "${var.name}-tasks"
  publisher_members  = { web = module.iam.members["web"] }
  subscriber_members = { worker = module.iam.members["worker"] }
  labels             = local.labels
}

module "storage" {
  source = "./modules/storage"

  project_id     = module.iam.project_id
  name           = local.bucket_name
  location       = var.region
  retention_days = local.bucket_backstop_days
  # The dashboard uploads big files straight to the bucket (docs/uploads.md).
  cors_origins         = [for domain in var.domains : "https://${domain}"]
  versioning           = var.bucket_versioning
  object_admin_members = module.iam.members
  labels               = local.labels
}

module "secrets" {
  source = "./modules/secrets"

  project_id       = module.iam.project_id
  secret_id        = "${var.name}-secret-key"
  rotation_id      = var.secret_rotation_id
  accessor_members = module.iam.members
  labels           = local.labels
}

module "web" {
  source = "./modules/web"

  project_id            = module.iam.project_id
  name                  = "${var.name}-web"
  region                = var.region
  zones                 = var.zones
  subnetwork            = module.network.subnetwork_self_link
  image_project         = var.image_project
  machine_type          = var.web_machine_type
  service_account_email = module.iam.emails["web"]
  startup_script        = local.startup_script
  autoscaling           = var.web_autoscaling
  labels                = local.labels

  metadata = merge(local.common_metadata, {
    "comprimemelo-public-url" = local.public_url
  })
}

module "worker" {
  source = "./modules/worker"

  project_id            = module.iam.project_id
  name                  = "${var.name}-worker"
  region                = var.region
  zones                 = var.zones
  subnetwork            = module.network.subnetwork_self_link
  image_project         = var.image_project
  machine_type          = var.worker_machine_type
  service_account_email = module.iam.emails["worker"]
  startup_script        = local.startup_script
  subscription_name     = module.messaging.subscription_name
  autoscaling           = var.worker_autoscaling
  labels                = local.labels

  metadata = merge(local.common_metadata, {
    "comprimemelo-dead-letter-subscription" = module.messaging.dead_letter_subscription_name
  })
}

module "load_balancer" {
  source = "./modules/load_balancer"

  project_id      = module.iam.project_id
  name            = var.name
  domains         = var.domains
  backends        = { web = module.web.instance_group }
  auth_rate_limit = var.auth_rate_limit
}
