variable "name" {
  description = "Name prefix of every resource (e.g. gradestack-production); the cluster is named after it."
  type        = string
}

variable "aws_region" {
  description = "Region (for the awslogs driver and AWS_REGION)."
  type        = string
}

variable "private_subnet_ids" {
  description = "Subnets of the grading tasks."
  type        = list(string)
}

variable "security_group_id" {
  description = "Security group of the grading tasks."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key of the stack (log group, ECR, bucket objects, SSM SecureStrings)."
  type        = string
}

variable "container_image" {
  description = "Grading worker image (tagged with the git commit; tags are immutable)."
  type        = string
}

variable "task_cpu" {
  description = "Fargate task CPU units."
  type        = number
}

variable "task_memory" {
  description = "Fargate task memory in MiB."
  type        = number
}

variable "desired_count" {
  description = "Tasks to run; the autoscaling minimum."
  type        = number
}

variable "max_capacity" {
  description = "Autoscaling maximum."
  type        = number
}

variable "grading_bucket_name" {
  description = "Grading bucket (GRADING_BUCKET)."
  type        = string
}

variable "grading_bucket_arn" {
  description = "ARN of the grading bucket."
  type        = string
}

variable "mq_endpoints" {
  description = "MQ_ENDPOINTS: comma-separated stomp+ssl://host:61614 failover list."
  type        = string
}

variable "mq_username_parameter_arn" {
  description = "ARN of the SSM parameter holding MQ_USERNAME: the workers' own broker account (<prefix>/mq/worker/username)."
  type        = string
}

variable "mq_password_parameter_arn" {
  description = "ARN of the SSM SecureString holding MQ_PASSWORD of the workers' account (<prefix>/mq/worker/password)."
  type        = string
}

variable "mq_metric_broker_names" {
  description = "Broker dimension values of the AWS/AmazonMQ metrics (<broker>-1 and, for active/standby, <broker>-2)."
  type        = list(string)
}

variable "requests_queue" {
  description = "Queue whose depth drives autoscaling."
  type        = string
  default     = "grading.requests"
}

variable "backlog_per_task" {
  description = "Target queued requests per running task."
  type        = number
  default     = 5
}

variable "worker_concurrency" {
  description = "WORKER_CONCURRENCY: submissions one task grades at a time."
  type        = number
  default     = 1
}

variable "log_retention_days" {
  description = "Retention of the worker log group."
  type        = number
  default     = 365
}

variable "ecr_force_delete" {
  description = "Let `terraform destroy` delete the ECR repository with its images."
  type        = bool
  default     = false
}

variable "ecr_keep_images" {
  description = "Tagged images the ECR lifecycle policy keeps (rollback targets)."
  type        = number
  default     = 30
}

variable "permissions_boundary_arn" {
  description = "ARN of the permissions boundary every IAM role of this module carries (docs/iam/README.md)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:policy/.+$", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn must be an IAM policy ARN."
  }
}

variable "stop_timeout_seconds" {
  description = "Seconds between SIGTERM and SIGKILL when ECS stops a task (Fargate: at most 120); WORKER_SHUTDOWN_GRACE_S is 10 s less."
  type        = number
  default     = 120

  validation {
    condition     = var.stop_timeout_seconds >= 15 && var.stop_timeout_seconds <= 120
    error_message = "stop_timeout_seconds must be from 15 to 120 (Fargate's maximum)."
  }
}
