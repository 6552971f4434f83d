variable "name" {
  description = "Name prefix of every resource (e.g. gradestack-production)."
  type        = string
}

variable "environment_name" {
  description = "Environment the verifier checks: its inventory name (GRADESTACK_ENVIRONMENT) and the Environment dimension of the verify metrics."
  type        = string
}

variable "aws_region" {
  description = "Region (awslogs driver, AWS_REGION, kms:ViaService conditions)."
  type        = string
}

variable "cluster_arn" {
  description = "ECS cluster the scheduled verifier task runs in (the grading cluster)."
  type        = string
}

variable "private_subnet_ids" {
  description = "Private subnets of the verifier task (inside the VPC: the MQ and RDS round trips need it)."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_ids) > 0
    error_message = "private_subnet_ids must name at least one subnet."
  }
}

variable "security_group_id" {
  description = "Security group of the verifier task (egress only; terraform/modules/security-groups)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key of the stack (ECR repository, log group, bucket objects, SSM SecureStrings)."
  type        = string
}

variable "container_image" {
  description = "Verifier image reference (<repository url>:<git commit>; tags are immutable)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._/:-]*[a-z0-9](:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})$", var.container_image))
    error_message = "container_image must be an image reference with a tag or digest."
  }
}

variable "task_cpu" {
  description = "Fargate CPU units of the verifier task (256, 512, 1024, ...)."
  type        = number
  default     = 512

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096], var.task_cpu)
    error_message = "task_cpu must be 256, 512, 1024, 2048 or 4096."
  }
}

variable "task_memory" {
  description = "Fargate memory of the verifier task in MiB (a valid combination with task_cpu)."
  type        = number
  default     = 1024

  validation {
    condition     = var.task_memory >= 512 && var.task_memory <= 30720
    error_message = "task_memory must be from 512 to 30720 MiB."
  }
}

variable "grading_bucket_name" {
  description = "Grading bucket: the S3 checks read its configuration, the canary lives under canary_prefix and the reports under report_prefix."
  type        = string
}

variable "grading_bucket_arn" {
  description = "ARN of the grading bucket."
  type        = string
}

variable "canary_prefix" {
  description = "Key prefix (without trailing slash) of the verifier's canary objects, the only keys it may delete."
  type        = string
  default     = "verify"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9/_-]*[a-z0-9]$", var.canary_prefix))
    error_message = "canary_prefix must be a key prefix without leading or trailing slash."
  }
}

variable "report_prefix" {
  description = "Key prefix (without trailing slash) the JUnit reports are uploaded to (GRADESTACK_VERIFY_REPORT_S3_URI)."
  type        = string
  default     = "reports/verify"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9/_-]*[a-z0-9]$", var.report_prefix))
    error_message = "report_prefix must be a key prefix without leading or trailing slash."
  }
}

variable "parameter_prefix" {
  description = "SSM path of the stack (/<project>/<environment>): the verifier reads its secrets and connection settings below it."
  type        = string

  validation {
    condition     = can(regex("^/[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$", var.parameter_prefix))
    error_message = "parameter_prefix must be an SSM path such as /gradestack/production (no trailing slash)."
  }
}

variable "metrics_namespace" {
  description = "CloudWatch namespace of the verify metrics (verify_metrics_namespace); the only namespace the task may put metrics into."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._/#:-]+$", var.metrics_namespace)) && !startswith(var.metrics_namespace, "AWS/")
    error_message = "metrics_namespace must be a custom CloudWatch namespace (not AWS/...)."
  }
}

variable "interval_minutes" {
  description = "Minutes between two scheduled runs (verify_interval_minutes): the schedule is rate(<interval> minutes)."
  type        = number

  validation {
    condition     = var.interval_minutes >= 1 && var.interval_minutes <= 720 && floor(var.interval_minutes) == var.interval_minutes
    error_message = "interval_minutes must be a whole number from 1 to 720 (the heartbeat alarm evaluates two intervals, at most a day)."
  }
}

variable "schedule_enabled" {
  description = "State of the schedule: true ENABLED, false DISABLED (the task definition and roles exist either way, for one-off runs)."
  type        = bool
}

variable "log_retention_days" {
  description = "Retention of the verifier's log group in days."
  type        = number
  default     = 365
}

variable "ecr_force_delete" {
  description = "Let `terraform destroy` delete the verifier's ECR repository with its images."
  type        = bool
  default     = false
}

variable "ecr_keep_images" {
  description = "Tagged verifier images the ECR lifecycle policy keeps."
  type        = number
  default     = 30

  validation {
    condition     = var.ecr_keep_images >= 1
    error_message = "ecr_keep_images must be at least 1."
  }
}

variable "permissions_boundary_arn" {
  description = "ARN of the permissions boundary every IAM role of this module carries (docs/iam/README.md)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:policy/.+$", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn must be an IAM policy ARN."
  }
}
