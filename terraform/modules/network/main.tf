/**
 * Private network for comprimemelo: one VPC, one regional subnet with Private
 * Google Access and flow logs, Cloud NAT for egress (VMs have no external
 * IPs), and the only two ingress paths: Google's load-balancer/health-check
 * ranges to the web port, and IAP TCP forwarding to SSH.
 */

resource "google_compute_network" "this" {
  project                 = var.project_id
  name                    = var.name
  auto_create_subnetworks = false
  routing_mode            = "REGIONAL"
}

resource "google_compute_subnetwork" "this" {
  project                  = var.project_id
  name                     = "${var.name}-${var.region}"
  region                   = var.region
  network                  = google_compute_network.this.id
  ip_cidr_range            = var.subnet_cidr
  private_ip_google_access = true

  log_config {
    aggregation_interval = var.flow_logs.aggregation_interval
    flow_sampling        = var.flow_logs.flow_sampling
    metadata             = "INCLUDE_ALL_METADATA"
  }
}

resource "google_compute_router" "this" {
  project = var.project_id
  name    = "${var.name}-router"
  region  = var.region
  network = google_compute_network.this.id
}

resource "google_compute_router_nat" "this" {
  project                            = var.project_id
  name                               = "${var.name}-nat"
  router                             = google_compute_router.this.name
  region                             = var.region
  nat_ip_allocate_option             = "AUTO_ONLY"
  source_subnetwork_ip_ranges_to_nat = "ALL_SUBNETWORKS_ALL_IP_RANGES"

  log_config {
    enable = true
    filter = var.nat_log_filter
  }
}

resource "google_compute_firewall" "ingress" {
  for_each = var.ingress_rules

  project       = var.project_id
  name          = "${var.name}-allow-${each.key}"
  network       = google_compute_network.this.id
  description   = each.value.description
  direction     = "INGRESS"
  priority      = 1000
  source_ranges = each.value.source_ranges
  target_tags   = each.value.target_tags

  allow {
    protocol = "tcp"
    ports    = each.value.ports
  }

  log_config {
    metadata = "INCLUDE_ALL_METADATA"
  }
}
