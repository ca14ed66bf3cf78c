output "self_link" {
  description = "Self link of the current instance template, for a managed instance group's version."
  value       = google_compute_instance_template.this.self_link
}

output "name" {
  description = "Name of the current instance template."
  value       = google_compute_instance_template.this.name
}

output "image" {
  description = "Image family URL the template boots from."
  value       = local.image
}
