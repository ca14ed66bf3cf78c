output "secret_id" {
  description = "Short secret ID, as the VMs' comprimemelo-secret-name metadata expects."
  value       = google_secret_manager_secret.this.secret_id
}

output "secret_name" {
  description = "Full resource name of the secret (projects/NUMBER/secrets/ID)."
  value       = google_secret_manager_secret.this.name
}

output "version_name" {
  description = "Resource name of the current secret version."
  value       = google_secret_manager_secret_version.this.name
}
