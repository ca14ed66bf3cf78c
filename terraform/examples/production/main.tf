/**
 * A production-sized comprimemelo deployment: the capacity plan for
 * 1,000,000 tasks a day (capacity/reports/plan-1m/plan.md), three zones. The
 * worker group keeps room for a 10x burst's first minutes and can drain what
 * piles up while the autoscaler reacts (capacity/reports/plan-simulation).
 */

module "comprimemelo" {
  source = "../.."

  project_id = var.project_id
  domains    = var.domains
  region     = "europe-west1"
  zones      = ["europe-west1-b", "europe-west1-c", "europe-west1-d"]

  web_machine_type = "e2-standard-2"
  web_autoscaling  = { min_replicas = 2, max_replicas = 3 }

  worker_machine_type = "c2d-standard-2"
  worker_autoscaling  = { min_replicas = 16, max_replicas = 46, cooldown_period = 180, messages_per_instance = 1.5 }

  database_tier            = "db-custom-4-15360"
  database_max_connections = 950

  bucket_versioning = false
  labels            = { "environment" = "production" }
}
