variable "project_id" {
  type        = string
  description = "Project that owns the template and its VMs."
}

variable "role" {
  type        = string
  description = "comprimemelo role of the VMs: web or worker (the comprimemelo-role metadata the start-up script reads)."

  validation {
    condition     = contains(["web", "worker"], var.role)
    error_message = "role must be web or worker."
  }
}

variable "name" {
  type        = string
  description = "Prefix of the template name (Terraform appends a unique suffix, so a changed template is created before the old one is destroyed)."
}

variable "description" {
  type        = string
  description = "Description of the template."
  default     = "comprimemelo VM"
}

variable "region" {
  type        = string
  description = "Region of the template (a regional instance group uses it)."
}

variable "machine_type" {
  type        = string
  description = "Machine type of the VMs."
}

variable "subnetwork" {
  type        = string
  description = "Self link of the subnet the VMs attach to."
}

variable "network_tag" {
  type        = string
  description = "Network tag that firewall rules target."
}

variable "extra_tags" {
  type        = list(string)
  description = "More network tags on the VMs."
  default     = []
}

variable "image_family" {
  type        = string
  description = "Image family built by packer/ (the newest image of the family is used); null for comprimemelo-<role>."
  default     = null
}

variable "image_project" {
  type        = string
  description = "Project holding the image family; null for var.project_id."
  default     = null
}

variable "disk_size_gb" {
  type        = number
  description = "Boot disk size, in GB."
}

variable "disk_type" {
  type        = string
  description = "Boot disk type."
  default     = "pd-balanced"
}

variable "service_account_email" {
  type        = string
  description = "Email of the role's service account."
}

variable "startup_script" {
  type        = string
  description = "Content of the VM start-up script (startup-scripts/comprimemelo-startup.sh)."
}

variable "metadata" {
  type        = map(string)
  description = "comprimemelo-* instance attributes read by the start-up script."
}

variable "labels" {
  type        = map(string)
  description = "Labels on the VMs (comprimemelo-role is added)."
  default     = {}
}
