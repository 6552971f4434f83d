variable "name" {
  description = "Name prefix of every resource (e.g. gradestack-production)."
  type        = string
}

variable "environment_name" {
  description = "Environment name; the web hosts' Environment tag and the SSM path segment."
  type        = string
}

variable "parameter_prefix" {
  description = "SSM Parameter Store path of the environment (e.g. /gradestack/production); the web hosts may read below it."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the load balancer's target group."
  type        = string
}

variable "public_subnet_ids" {
  description = "Subnets of the application load balancer."
  type        = list(string)
}

variable "private_subnet_ids" {
  description = "Subnets of the web hosts."
  type        = list(string)
}

variable "alb_security_group_id" {
  description = "Security group of the load balancer."
  type        = string
}

variable "web_security_group_id" {
  description = "Security group of the web hosts."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key of the stack (EBS volumes, SSM SecureStrings, the grading bucket)."
  type        = string
}

variable "grading_bucket_name" {
  description = "Grading bucket (release bundles under artifacts/web-bundle/, problems/ and results/ for the app)."
  type        = string
}

variable "grading_bucket_arn" {
  description = "ARN of the grading bucket."
  type        = string
}

variable "log_bucket_name" {
  description = "Bucket receiving the ALB access logs."
  type        = string
}

variable "alb_log_prefix" {
  description = "Prefix of the ALB access logs in the log bucket."
  type        = string
  default     = "alb"
}

variable "instance_type" {
  description = "EC2 instance type of the web hosts."
  type        = string
}

variable "ami_id" {
  description = "AMI of the web hosts; null: the newest official Debian 12 amd64 AMI."
  type        = string
  default     = null
}

variable "root_volume_size" {
  description = "Root volume size of the web hosts in GiB."
  type        = number
  default     = 16
}

variable "min_size" {
  description = "Minimum number of web hosts."
  type        = number
}

variable "max_size" {
  description = "Maximum number of web hosts."
  type        = number
}

variable "desired_capacity" {
  description = "Number of web hosts to run."
  type        = number
}

variable "web_port" {
  description = "Port nginx listens on."
  type        = number
  default     = 80
}

variable "health_check_path" {
  description = "Path the target group probes."
  type        = string
  default     = "/health"
}

variable "certificate_arn" {
  description = "ACM certificate for HTTPS; null: HTTP only."
  type        = string
  default     = null
}

variable "enable_deletion_protection" {
  description = "Deletion protection of the load balancer."
  type        = bool
}

variable "release_wait_seconds" {
  description = "How long a booting web host waits for the release parameter before it gives up (the first deployment sets it after the instances exist)."
  type        = number
  default     = 1800
}

variable "permissions_boundary_arn" {
  description = "ARN of the permissions boundary every IAM role of this module carries (docs/iam/README.md)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:policy/.+$", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn must be an IAM policy ARN."
  }
}

variable "cpu_target_percent" {
  description = "Average CPU utilisation (percent) the web Auto Scaling Group keeps by target tracking between min_size and max_size."
  type        = number
  default     = 60

  validation {
    condition     = var.cpu_target_percent >= 10 && var.cpu_target_percent <= 90
    error_message = "cpu_target_percent must be from 10 to 90."
  }
}

variable "idle_timeout_seconds" {
  description = "Seconds the ALB keeps an idle client connection open."
  type        = number
  default     = 60

  validation {
    condition     = var.idle_timeout_seconds >= 1 && var.idle_timeout_seconds <= 4000
    error_message = "idle_timeout_seconds must be from 1 to 4000 (the ALB's range)."
  }
}
