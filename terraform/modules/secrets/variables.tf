variable "project_id" {
  type        = string
  description = "Project that owns the secret."
}

variable "secret_id" {
  type        = string
  description = "Secret Manager secret ID of the JWT signing key."
  default     = "comprimemelo-secret-key"
}

variable "key_length" {
  type        = number
  description = "Length of the generated key, in characters."
  default     = 64

  validation {
    condition     = var.key_length >= 32
    error_message = "key_length must be at least 32."
  }
}

variable "rotation_id" {
  type        = string
  description = "Change this value to generate a new key (a new secret version); VMs pick it up on their next boot."
  default     = "1"
}

variable "accessor_members" {
  type        = map(string)
  description = "IAM members allowed to read the secret, keyed by a stable name (web, worker)."
  default     = {}
}

variable "labels" {
  type        = map(string)
  description = "Labels on the secret."
  default     = {}
}
