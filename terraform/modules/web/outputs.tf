output "instance_group" {
  description = "Instance group URL of the managed group, for a load-balancer backend."
  value       = google_compute_region_instance_group_manager.this.instance_group
}

output "instance_group_manager_name" {
  description = "Name of the regional managed instance group (for gcloud rolling-action)."
  value       = google_compute_region_instance_group_manager.this.name
}

output "instance_template" {
  description = "Self link of the current instance template."
  value       = module.instance_template.self_link
}

output "network_tag" {
  description = "Network tag carried by the web VMs."
  value       = var.network_tag
}

output "named_port" {
  description = "Named port the load balancer sends traffic to."
  value       = "http"
}
