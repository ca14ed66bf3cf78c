variable "project_id" {
  type        = string
  description = "Project that owns the Cloud SQL instance."
}

variable "name" {
  type        = string
  description = "Prefix of the instance name (a random suffix is appended) and of the private-services range."
  default     = "comprimemelo"
}

variable "region" {
  type        = string
  description = "Region of the instance (the VMs' region)."
}

variable "network_id" {
  type        = string
  description = "ID of the VPC the instance is privately reachable from."
}

variable "private_services_prefix_length" {
  type        = number
  description = "Prefix length of the range reserved for private service access."
  default     = 20
}

variable "database_version" {
  type        = string
  description = "Cloud SQL database version."
  default     = "POSTGRES_15"
}

variable "tier" {
  type        = string
  description = "Machine tier of the instance."
  default     = "db-custom-1-3840"
}

variable "database_name" {
  type        = string
  description = "Name of the application database."
  default     = "comprimemelo"
}

variable "iam_service_account_emails" {
  type        = map(string)
  description = "Service-account emails that get an IAM database user, keyed by a stable name (web, worker)."
  default     = {}
}

variable "backup_start_time" {
  type        = string
  description = "Daily backup window start, HH:MM UTC."
  default     = "02:00"
}

variable "retained_backups" {
  type        = number
  description = "Number of daily backups kept."
  default     = 14
}

variable "transaction_log_retention_days" {
  type        = number
  description = "Days of write-ahead log kept for point-in-time recovery (1 to 7)."
  default     = 7
}

variable "maintenance_window" {
  type = object({
    day  = number
    hour = number
  })
  description = "Weekly maintenance window: day 1 (Monday) to 7, hour 0 to 23 UTC."
  default     = { day = 7, hour = 3 }
}

variable "extra_database_flags" {
  type        = map(string)
  description = "PostgreSQL flags added to the built-in ones (IAM authentication and CIS logging flags), e.g. { max_connections = \"200\" }."
  default     = {}
}

variable "labels" {
  type        = map(string)
  description = "User labels on the instance."
  default     = {}
}
