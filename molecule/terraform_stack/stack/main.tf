# A tiny root module for the terraform_stack scenario: two SSM parameters, an S3
# backend configured by the role (backend.hcl), a sensitive input (the role's secrets file).
terraform {
  required_version = ">= 1.10"
  backend "s3" {}
  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.0"
    }
  }
}

provider "aws" {
  region = var.aws_region
}

variable "aws_region" {
  description = "Region of the parameters."
  type        = string
}

variable "environment_name" {
  description = "Environment name, the parameters' path prefix."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*$", var.environment_name))
    error_message = "environment_name must be lower-case letters, digits and dashes."
  }
}

variable "release" {
  description = "Value of the release parameter."
  type        = string
}

variable "api_token" {
  description = "A secret, stored as a SecureString."
  type        = string
  sensitive   = true
}

resource "aws_ssm_parameter" "release" {
  name  = "/${var.environment_name}/release"
  type  = "String"
  value = var.release
}

resource "aws_ssm_parameter" "api_token" {
  name  = "/${var.environment_name}/api_token"
  type  = "SecureString"
  value = var.api_token
}

output "release_parameter" {
  description = "Name of the release parameter."
  value       = aws_ssm_parameter.release.name
}

output "api_token_parameter" {
  description = "Name of the secret parameter."
  value       = aws_ssm_parameter.api_token.name
}

output "api_token" {
  description = "The secret (a sensitive output)."
  value       = var.api_token
  sensitive   = true
}
