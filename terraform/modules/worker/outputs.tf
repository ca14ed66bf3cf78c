output "instance_group" {
  description = "Instance group URL of the managed group."
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

output "autoscaler_metric_filter" {
  description = "Cloud Monitoring filter of the backlog metric the autoscaler follows."
  value       = local.backlog_filter
}
