terraform {
  # 1.5: check blocks and the import block; everything here is plain 1.x HCL otherwise.
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # The deployment guide's 5.x line; 5.100 is the version the project's local provider mirror holds.
      version = "~> 5.100"
    }
  }
}
