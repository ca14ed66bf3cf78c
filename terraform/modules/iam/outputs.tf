output "project_id" {
  description = "The project ID, available only once every API in var.services is enabled: depend on this to order resources after API enablement."
  value       = var.project_id
  depends_on  = [google_project_service.this]
}

output "emails" {
  description = "Service-account emails, by role name."
  value       = { for key, account in google_service_account.this : key => account.email }
}

output "members" {
  description = "IAM members (serviceAccount:EMAIL), by role name."
  value       = { for key, account in google_service_account.this : key => account.member }
}

output "enabled_services" {
  description = "APIs enabled by this module."
  value       = sort([for service in google_project_service.this : service.service])
}
