output "network_id" {
  description = "ID of the VPC (projects/P/global/networks/N), for private service access."
  value       = google_compute_network.this.id
}

output "network_self_link" {
  description = "Self link of the VPC, for instance templates."
  value       = google_compute_network.this.self_link
}

output "network_name" {
  description = "Name of the VPC."
  value       = google_compute_network.this.name
}

output "subnetwork_self_link" {
  description = "Self link of the regional subnet the VMs use."
  value       = google_compute_subnetwork.this.self_link
}

output "firewall_rule_names" {
  description = "Names of the ingress firewall rules, by key."
  value       = { for key, rule in google_compute_firewall.ingress : key => rule.name }
}
