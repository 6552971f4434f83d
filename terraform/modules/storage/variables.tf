variable "name" {
  description = "Name prefix of every resource (e.g. gradestack-production)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for server-side encryption of the grading bucket."
  type        = string
}

variable "enable_versioning" {
  description = "Keep object versions in the grading bucket."
  type        = bool
}

variable "enable_lifecycle" {
  description = "Expire old results and noncurrent versions and move aging objects to STANDARD_IA."
  type        = bool
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete the buckets with their objects (environments without deletion protection)."
  type        = bool
  default     = false
}

variable "results_expiration_days" {
  description = "With enable_lifecycle: days after which results/ objects expire."
  type        = number
  default     = 90
}

variable "log_expiration_days" {
  description = "Days the access logs (ALB, S3) are kept in the log bucket."
  type        = number
  default     = 365
}
