variable "project_id" {
  type        = string
  description = "Project that owns the VMs."
}

variable "name" {
  type        = string
  description = "Prefix of the template, group and autoscaler names."
  default     = "comprimemelo-worker"
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
  description = "Network tag on the worker VMs (no ingress rule targets it)."
  default     = "comprimemelo-worker"
}

variable "extra_tags" {
  type        = list(string)
  description = "More network tags on the VMs."
  default     = []
}

variable "image_family" {
  type        = string
  description = "Image family built by packer/ (the newest image of the family is used)."
  default     = "comprimemelo-worker"
}

variable "image_project" {
  type        = string
  description = "Project holding the image family; null for var.project_id."
  default     = null
}

variable "machine_type" {
  type        = string
  description = "Machine type of the VMs (compression is CPU-bound)."
  default     = "c2d-standard-2"
}

variable "disk_size_gb" {
  type        = number
  description = "Boot disk size, in GB (temporary files live in /var/tmp/comprimemelo)."
  default     = 50
}

variable "service_account_email" {
  type        = string
  description = "Email of the worker role's service account."
}

variable "startup_script" {
  type        = string
  description = "Content of the VM start-up script (startup-scripts/comprimemelo-startup.sh)."
}

variable "metadata" {
  type        = map(string)
  description = "comprimemelo-* instance attributes read by the start-up script (cloudsql-instance, database-name, bucket, topic, subscription, secret-name, dead-letter-subscription)."
}

variable "subscription_name" {
  type        = string
  description = "Short name of the task subscription whose backlog drives the autoscaler."
}

variable "update_max_surge" {
  type        = number
  description = "Extra VMs created during a rolling update (raised to the number of zones, the minimum for a regional group)."
  default     = 3
}

variable "autoscaling" {
  type = object({
    min_replicas          = optional(number, 3)
    max_replicas          = optional(number, 4)
    cooldown_period       = optional(number, 180)
    messages_per_instance = optional(number, 1.5)
  })
  description = "Autoscaler bounds and the number of undelivered messages each VM is expected to absorb."
  default     = {}

  validation {
    condition     = var.autoscaling.min_replicas >= 1 && var.autoscaling.min_replicas <= var.autoscaling.max_replicas
    error_message = "autoscaling needs 1 <= min_replicas <= max_replicas."
  }
}

variable "scale_in_control" {
  type = object({
    max_scaled_in_replicas = number
    time_window_sec        = number
  })
  description = "At most max_scaled_in_replicas VMs removed per time_window_sec; null to let the autoscaler scale in freely."
  default = {
    max_scaled_in_replicas = 2
    time_window_sec        = 600
  }
}

variable "labels" {
  type        = map(string)
  description = "Labels on the VMs."
  default     = {}
}
