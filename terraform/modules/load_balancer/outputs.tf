output "ip_address" {
  description = "Public IPv4 address of the load balancer: point the domains' A records here."
  value       = google_compute_global_address.this.address
}

output "certificate_name" {
  description = "Name of the managed certificate (gcloud compute ssl-certificates describe NAME --global)."
  value       = google_compute_managed_ssl_certificate.this.name
}

output "backend_service_name" {
  description = "Name of the backend service."
  value       = google_compute_backend_service.this.name
}

output "security_policy_name" {
  description = "Name of the Cloud Armor security policy."
  value       = google_compute_security_policy.this.name
}
