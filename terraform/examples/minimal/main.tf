/**
 * The smallest comprimemelo deployment: the capacity plan for 10,000 tasks a
 * day (capacity/reports/plan-10k/plan.md). Two zones, the fewest VMs the
 * zones allow, the smallest dedicated Cloud SQL tier.
 */

module "comprimemelo" {
  source = "../.."

  project_id = var.project_id
  domains    = var.domains
  region     = "europe-west1"
  zones      = ["europe-west1-b", "europe-west1-c"]

  web_machine_type = "e2-standard-2"
  web_autoscaling  = { min_replicas = 2, max_replicas = 3 }

  worker_machine_type = "c2d-standard-2"
  worker_autoscaling  = { min_replicas = 2, max_replicas = 2, cooldown_period = 180, messages_per_instance = 1.5 }

  database_tier            = "db-custom-1-3840"
  database_max_connections = 150
}
