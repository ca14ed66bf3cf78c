variable "project_id" {
  type        = string
  description = "Project the images are built in and stored in."
}

variable "zone" {
  type        = string
  description = "Zone of the temporary build VM."
  default     = "europe-west1-b"
}

variable "subnetwork" {
  type        = string
  description = "Subnet of the build VM (needs Cloud NAT for apt/pip and an IAP SSH firewall rule); empty for the default network."
  default     = ""
}

variable "network" {
  type        = string
  description = "Network of the build VM; empty for the default network."
  default     = ""
}

variable "wheel_path" {
  type        = string
  description = "Path of the comprimemelo wheel built by `pip wheel --no-deps -w dist .`."
  default     = "dist/comprimemelo-0.1.0-py3-none-any.whl"
}

variable "machine_type" {
  type        = string
  description = "Machine type of the build VM."
  default     = "e2-standard-2"
}

variable "image_version" {
  type        = string
  description = "Suffix of the image names (default: a timestamp)."
  default     = ""
}
