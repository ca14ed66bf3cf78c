variable "project_id" {
  type        = string
  description = "Google Cloud project to deploy into."
}

variable "domains" {
  type        = list(string)
  description = "Public domains of the site; each needs a DNS A record to the load-balancer IP."
}
