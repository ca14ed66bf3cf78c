# Kept apart so that the other files also validate with packers that have the
# googlecompute builder built in (Debian's packer 1.6.6, which predates
# required_plugins); `packer init packer/` installs the plugin on newer ones.
packer {
  required_version = ">= 1.7.0"

  required_plugins {
    googlecompute = {
      source  = "github.com/hashicorp/googlecompute"
      version = ">= 1.1.0"
    }
  }
}
