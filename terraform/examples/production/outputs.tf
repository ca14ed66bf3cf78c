output "url" {
  description = "Public URL of the site."
  value       = module.comprimemelo.url
}

output "load_balancer_ip" {
  description = "IPv4 address the domains' A records point to."
  value       = module.comprimemelo.load_balancer_ip
}
