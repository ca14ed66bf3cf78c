variable "project_id" {
  type        = string
  description = "Project in which APIs are enabled and service accounts created."
}

variable "prefix" {
  type        = string
  description = "Prefix of the service-account IDs (<prefix>-<key>); keep it short, IDs are limited to 30 characters."
  default     = "comprimemelo"
}

variable "services" {
  type        = list(string)
  description = "APIs to enable in the project. They are left enabled on destroy."
  default = [
    "cloudresourcemanager.googleapis.com",
    "compute.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "secretmanager.googleapis.com",
    "servicenetworking.googleapis.com",
    "sqladmin.googleapis.com",
    "storage.googleapis.com",
  ]
}

variable "service_accounts" {
  type = map(object({
    display_name  = string
    description   = optional(string, "")
    project_roles = optional(list(string), [])
    sign_blobs    = optional(bool, false)
  }))
  description = "Service accounts keyed by role name (web, worker): project-level roles, and whether the account may sign blobs as itself (signed URLs)."

  validation {
    condition = alltrue(flatten([
      for spec in values(var.service_accounts) : [
        for role in spec.project_roles : !contains(["roles/owner", "roles/editor", "roles/viewer"], role)
      ]
    ]))
    error_message = "Primitive roles (owner, editor, viewer) are not allowed."
  }
}
