"""Infrastructure tests: Terraform, Packer and the VM start-up script, offline."""
