variable "project_id" {
  type        = string
  description = "Project that owns the network."
}

variable "name" {
  type        = string
  description = "Name of the VPC; also the prefix of the subnet, router, NAT and firewall rules."
}

variable "region" {
  type        = string
  description = "Region of the subnet, Cloud Router and Cloud NAT."
}

variable "subnet_cidr" {
  type        = string
  description = "Primary IPv4 range of the subnet the VMs live in."
  default     = "10.10.0.0/20"
}

variable "flow_logs" {
  type = object({
    aggregation_interval = optional(string, "INTERVAL_5_SEC")
    flow_sampling        = optional(number, 0.5)
  })
  description = "VPC flow-log settings of the subnet."
  default     = {}
}

variable "nat_log_filter" {
  type        = string
  description = "Which Cloud NAT events are logged: ERRORS_ONLY, TRANSLATIONS_ONLY or ALL."
  default     = "ERRORS_ONLY"

  validation {
    condition     = contains(["ERRORS_ONLY", "TRANSLATIONS_ONLY", "ALL"], var.nat_log_filter)
    error_message = "nat_log_filter must be ERRORS_ONLY, TRANSLATIONS_ONLY or ALL."
  }
}

variable "ingress_rules" {
  type = map(object({
    description   = string
    source_ranges = list(string)
    ports         = list(string)
    target_tags   = list(string)
  }))
  description = "Ingress firewall rules, keyed by a short name (allow-<key>). Only Google-owned ranges belong here: the VMs are never reachable from the internet directly."
}
