variable "project_id" {
  type        = string
  description = "Project that owns the buckets."
}

variable "name" {
  type        = string
  description = "Globally unique name of the files bucket; the access-log bucket is <name>-access-logs."
}

variable "location" {
  type        = string
  description = "Bucket location: the region of the VMs keeps traffic local."
}

variable "retention_days" {
  type        = number
  description = "Objects (uploads and archives) are deleted this many days after creation."
  default     = 7

  validation {
    condition     = var.retention_days >= 1
    error_message = "retention_days must be at least 1."
  }
}

variable "versioning" {
  type        = bool
  description = "Keep noncurrent object versions (deleted after var.noncurrent_retention_days)."
  default     = false
}

variable "noncurrent_retention_days" {
  type        = number
  description = "With versioning on, noncurrent versions are deleted this many days after they become noncurrent."
  default     = 7
}

variable "access_log_retention_days" {
  type        = number
  description = "Bucket access logs are deleted this many days after creation."
  default     = 90
}

variable "cors_origins" {
  type        = list(string)
  description = "Origins allowed to use signed URLs from a browser; empty for no CORS configuration."
  default     = []
}

variable "object_admin_members" {
  type        = map(string)
  description = "IAM members granted roles/storage.objectAdmin on the files bucket, keyed by a stable name (web, worker)."
  default     = {}
}

variable "labels" {
  type        = map(string)
  description = "Labels on both buckets."
  default     = {}
}
