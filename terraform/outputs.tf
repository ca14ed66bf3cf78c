output "url" {
  description = "Public URL of the site (HTTPS on the first domain)."
  value       = local.public_url
}

output "load_balancer_ip" {
  description = "IPv4 address of the load balancer: create an A record for each domain pointing here."
  value       = module.load_balancer.ip_address
}

output "certificate_name" {
  description = "Managed certificate name, to check provisioning status."
  value       = module.load_balancer.certificate_name
}

output "bucket" {
  description = "Name of the files bucket."
  value       = module.storage.bucket_name
}

output "database_connection_name" {
  description = "Cloud SQL connection name (PROJECT:REGION:INSTANCE)."
  value       = module.database.connection_name
}

output "database_instance_name" {
  description = "Cloud SQL instance name (for gcloud sql commands, e.g. turning off deletion protection)."
  value       = module.database.instance_name
}

output "topic" {
  description = "Task topic name."
  value       = module.messaging.topic_name
}

output "subscription" {
  description = "Workers' subscription name."
  value       = module.messaging.subscription_name
}

output "secret_id" {
  description = "Secret Manager secret ID of the JWT key."
  value       = module.secrets.secret_id
}

output "service_accounts" {
  description = "Service-account emails by role (web, worker)."
  value       = module.iam.emails
}

output "web_instance_group_manager" {
  description = "Name of the web regional managed instance group."
  value       = module.web.instance_group_manager_name
}

output "worker_instance_group_manager" {
  description = "Name of the worker regional managed instance group."
  value       = module.worker.instance_group_manager_name
}
