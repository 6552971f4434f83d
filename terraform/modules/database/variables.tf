variable "name" {
  description = "Name prefix of every resource (e.g. gradestack-production)."
  type        = string
}

variable "parameter_prefix" {
  description = "SSM Parameter Store path under which the connection settings are published (e.g. /gradestack/production)."
  type        = string
}

variable "subnet_ids" {
  description = "Database subnets (two availability zones)."
  type        = list(string)
}

variable "security_group_id" {
  description = "Security group of the database."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for storage, Performance Insights and the SSM SecureString."
  type        = string
}

variable "instance_class" {
  description = "RDS instance class."
  type        = string
}

variable "engine_version" {
  description = "PostgreSQL major version (minor versions follow automatically)."
  type        = string
  default     = "16"
}

variable "database_name" {
  description = "Name of the application database."
  type        = string
  default     = "gradestack"
}

variable "username" {
  description = "Master user name."
  type        = string
  default     = "gradestack"
}

variable "password" {
  description = "Master password."
  type        = string
  sensitive   = true
}

variable "password_version" {
  description = "Version of password: the write-only password is sent to RDS and SSM again only when this changes."
  type        = number
  default     = 1
}

variable "allocated_storage" {
  description = "Initial storage in GiB."
  type        = number
  default     = 20
}

variable "max_allocated_storage" {
  description = "Upper bound for storage autoscaling in GiB."
  type        = number
  default     = 100
}

variable "multi_az" {
  description = "Run a synchronous standby in a second availability zone."
  type        = bool
}

variable "deletion_protection" {
  description = "Refuse deletion; also take a final snapshot when the instance is deleted."
  type        = bool
}

variable "backup_retention_days" {
  description = "Days of automated backups."
  type        = number
  default     = 7
}

variable "log_retention_days" {
  description = "Retention of the exported PostgreSQL log groups."
  type        = number
  default     = 365
}

variable "permissions_boundary_arn" {
  description = "ARN of the permissions boundary every IAM role of this module carries (docs/iam/README.md)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:policy/.+$", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn must be an IAM policy ARN."
  }
}
