variable "project_id" {
  type        = string
  description = "Project that owns the load balancer."
}

variable "name" {
  type        = string
  description = "Prefix of every load-balancer resource name."
  default     = "comprimemelo"
}

variable "domains" {
  type        = list(string)
  description = "Domains served (and put on the managed certificate); each needs a DNS A record to the load-balancer IP."

  validation {
    condition     = length(var.domains) >= 1
    error_message = "domains must list at least one domain."
  }
}

variable "backends" {
  type        = map(string)
  description = "Instance-group URLs serving the site, keyed by a stable name (web)."
}

variable "named_port" {
  type        = string
  description = "Named port of the instance groups that receives traffic."
  default     = "http"
}

variable "backend_timeout_sec" {
  type        = number
  description = "Seconds the load balancer waits for a backend response (uploads are streamed)."
  default     = 300
}

variable "auth_rate_limit" {
  type = object({
    count            = optional(number, 20)
    interval_sec     = optional(number, 60)
    ban_duration_sec = optional(number, 600)
  })
  description = "Cloud Armor rate-based ban on /api/auth/*: more than count requests per interval_sec from one IP bans it for ban_duration_sec."
  default     = {}
}

variable "extra_security_rules" {
  type = map(object({
    action     = string
    priority   = number
    expression = string
  }))
  description = "More Cloud Armor rules (CEL expressions), keyed by description; priorities must be unique and below 2147483647."
  default     = {}
}
