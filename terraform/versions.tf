terraform {
  # 1.11: write-only arguments (password_wo, value_wo keep secrets out of the state); the
  # playbooks' S3 backend locking (use_lockfile) needs 1.10 or later anyway.
  required_version = ">= 1.11"

  required_providers {
    aws = {
      source = "hashicorp/aws"
      # The deployment guide's 5.x line; 5.100 is the version the project's local provider mirror holds.
      version = "~> 5.100"
    }
  }
}
