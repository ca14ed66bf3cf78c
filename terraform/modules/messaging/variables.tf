variable "project_id" {
  type        = string
  description = "Project that owns the topics and subscriptions."
}

variable "topic_name" {
  type        = string
  description = "Name of the task topic; subscriptions and the dead-letter topic are named after it."
  default     = "comprimemelo-tasks"
}

variable "ack_deadline_seconds" {
  type        = number
  description = "Seconds a worker has to acknowledge a message before redelivery (the client extends it while a task runs)."
  default     = 60
}

variable "max_delivery_attempts" {
  type        = number
  description = "Deliveries before a message goes to the dead-letter topic (5 to 100)."
  default     = 5

  validation {
    condition     = var.max_delivery_attempts >= 5 && var.max_delivery_attempts <= 100
    error_message = "max_delivery_attempts must be between 5 and 100."
  }
}

variable "retry_backoff" {
  type = object({
    minimum = optional(string, "10s")
    maximum = optional(string, "600s")
  })
  description = "Exponential redelivery backoff bounds of the task subscription."
  default     = {}
}

variable "topic_message_retention" {
  type        = string
  description = "How long topics retain messages (lets a subscription seek back)."
  default     = "86400s"
}

variable "subscription_message_retention" {
  type        = string
  description = "How long subscriptions keep unacknowledged messages."
  default     = "604800s"
}

variable "kms_key_name" {
  type        = string
  description = "Cloud KMS key to encrypt the topics with; null for Google-managed encryption."
  default     = null
}

variable "publisher_members" {
  type        = map(string)
  description = "IAM members allowed to publish tasks, keyed by a stable name (web)."
  default     = {}
}

variable "subscriber_members" {
  type        = map(string)
  description = "IAM members allowed to pull tasks and dead letters, keyed by a stable name (worker)."
  default     = {}
}

variable "labels" {
  type        = map(string)
  description = "Labels on topics and subscriptions."
  default     = {}
}
