variable "project_id" {
  type        = string
  description = "Google Cloud project to deploy into."
}

variable "region" {
  type        = string
  description = "Region of the VMs, database, bucket and subnet."
  default     = "europe-west1"
}

variable "zones" {
  type        = list(string)
  description = "Zones of var.region the web and worker groups spread over (at least two)."
  default     = ["europe-west1-b", "europe-west1-c", "europe-west1-d"]

  validation {
    condition     = length(distinct(var.zones)) >= 2
    error_message = "zones must list at least two distinct zones."
  }
}

variable "name" {
  type        = string
  description = "Prefix of resource names."
  default     = "comprimemelo"
}

variable "domains" {
  type        = list(string)
  description = "Public domains of the site; the first one is the public URL. Each needs a DNS A record to the load-balancer IP."
}

variable "subnet_cidr" {
  type        = string
  description = "IPv4 range of the VMs' subnet."
  default     = "10.10.0.0/20"
}

variable "image_project" {
  type        = string
  description = "Project holding the comprimemelo-web/-worker image families; null for var.project_id."
  default     = null
}

variable "bucket_name" {
  type        = string
  description = "Name of the files bucket; null for <project_id>-comprimemelo-files."
  default     = null
}

variable "retention_days" {
  type        = number
  description = "How long a task's files are kept unless it asks otherwise (COMPRIMEMELO_RETENTION_SECONDS)."
  default     = 7

  validation {
    condition     = var.retention_days >= 1
    error_message = "retention_days must be at least 1."
  }
}

variable "max_retention_days" {
  type        = number
  description = "The longest retention a task may ask for (COMPRIMEMELO_MAX_RETENTION_SECONDS). The bucket's lifecycle rule deletes objects one day after it, as a backstop to the app's own expiry."
  default     = 30

  validation {
    condition     = var.max_retention_days >= 1
    error_message = "max_retention_days must be at least 1."
  }
}

variable "bucket_versioning" {
  type        = bool
  description = "Keep noncurrent object versions in the files bucket."
  default     = false
}

# The sizes below are the capacity plan's for 100,000 tasks a day
# (capacity/reports/plan-100k/plan.md; tests/capacity checks they agree);
# docs/deploy.md and terraform/examples/ give other scales.

variable "database_tier" {
  type        = string
  description = "Cloud SQL machine tier."
  default     = "db-custom-1-3840"
}

variable "database_max_connections" {
  type        = number
  description = "Cloud SQL max_connections flag: at least the connections the web and worker pools may open at max_replicas (the capacity plan computes it); null keeps the tier's default."
  default     = 200
}

variable "web_machine_type" {
  type        = string
  description = "Machine type of the web VMs."
  default     = "e2-standard-2"
}

variable "worker_machine_type" {
  type        = string
  description = "Machine type of the worker VMs (one task per vCPU)."
  default     = "c2d-standard-2"
}

variable "web_autoscaling" {
  type = object({
    min_replicas          = optional(number, 2)
    max_replicas          = optional(number, 3)
    cooldown_period       = optional(number, 120)
    cpu_target            = optional(number, 0.6)
    load_balancing_target = optional(number, 0.8)
  })
  description = "Web autoscaler bounds and targets."
  default     = {}
}

variable "worker_autoscaling" {
  type = object({
    min_replicas          = optional(number, 2)
    max_replicas          = optional(number, 4)
    cooldown_period       = optional(number, 180)
    messages_per_instance = optional(number, 1.5)
  })
  description = "Worker autoscaler bounds and undelivered messages per VM (the metric counts messages being processed too: keep it below the VM's vCPUs, or the group runs full)."
  default     = {}
}

variable "auth_rate_limit" {
  type = object({
    count            = optional(number, 20)
    interval_sec     = optional(number, 60)
    ban_duration_sec = optional(number, 600)
  })
  description = "Cloud Armor rate-based ban on /api/auth/* per client IP."
  default     = {}
}

variable "labels" {
  type        = map(string)
  description = "Labels added to labelled resources."
  default     = {}
}

variable "secret_rotation_id" {
  type        = string
  description = "Change to generate a new JWT key (a new Secret Manager version); replace the VMs afterwards."
  default     = "1"
}
