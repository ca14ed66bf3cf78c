variable "project_id" {
  type        = string
  description = "Project that owns the VMs."
}

variable "name" {
  type        = string
  description = "Prefix of the template, health check, group and autoscaler names."
  default     = "comprimemelo-web"
}

variable "region" {
  type        = string
  description = "Region of the managed instance group."
}

variable "zones" {
  type        = list(string)
  description = "Zones of var.region the group spreads its VMs over (at least two)."

  validation {
    condition     = length(distinct(var.zones)) >= 2
    error_message = "zones must list at least two distinct zones."
  }
}

variable "subnetwork" {
  type        = string
  description = "Self link of the subnet the VMs attach to."
}

variable "network_tag" {
  type        = string
  description = "Network tag that the load-balancer firewall rule targets."
  default     = "comprimemelo-web"
}

variable "extra_tags" {
  type        = list(string)
  description = "More network tags on the VMs."
  default     = []
}

variable "image_family" {
  type        = string
  description = "Image family built by packer/ (the newest image of the family is used)."
  default     = "comprimemelo-web"
}

variable "image_project" {
  type        = string
  description = "Project holding the image family; null for var.project_id."
  default     = null
}

variable "machine_type" {
  type        = string
  description = "Machine type of the VMs."
  default     = "e2-standard-2"
}

variable "disk_size_gb" {
  type        = number
  description = "Boot disk size, in GB."
  default     = 20
}

variable "port" {
  type        = number
  description = "Port gunicorn listens on (named port http)."
  default     = 8000
}

variable "service_account_email" {
  type        = string
  description = "Email of the web role's service account."
}

variable "startup_script" {
  type        = string
  description = "Content of the VM start-up script (startup-scripts/comprimemelo-startup.sh)."
}

variable "metadata" {
  type        = map(string)
  description = "comprimemelo-* instance attributes read by the start-up script (cloudsql-instance, database-name, bucket, topic, subscription, secret-name, public-url)."
}

variable "autohealing" {
  type = object({
    initial_delay_sec   = optional(number, 300)
    check_interval_sec  = optional(number, 10)
    timeout_sec         = optional(number, 5)
    unhealthy_threshold = optional(number, 3)
  })
  description = "Auto-healing health check (/healthz) timing."
  default     = {}
}

variable "update_max_surge" {
  type        = number
  description = "Extra VMs created during a rolling update (raised to the number of zones, the minimum for a regional group)."
  default     = 3
}

variable "autoscaling" {
  type = object({
    min_replicas          = optional(number, 2)
    max_replicas          = optional(number, 3)
    cooldown_period       = optional(number, 120)
    cpu_target            = optional(number, 0.6)
    load_balancing_target = optional(number, 0.8)
  })
  description = "Autoscaler bounds and targets (CPU utilisation and load-balancer serving capacity)."
  default     = {}

  validation {
    condition     = var.autoscaling.min_replicas >= 1 && var.autoscaling.min_replicas <= var.autoscaling.max_replicas
    error_message = "autoscaling needs 1 <= min_replicas <= max_replicas."
  }
}

variable "labels" {
  type        = map(string)
  description = "Labels on the VMs."
  default     = {}
}
