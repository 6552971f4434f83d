variable "name" {
  description = "Name prefix of every resource (e.g. gradestack-production)."
  type        = string
}

variable "vpc_cidr" {
  description = "CIDR block of the VPC."
  type        = string

  validation {
    condition     = can(cidrnetmask(var.vpc_cidr))
    error_message = "vpc_cidr must be an IPv4 CIDR block such as 10.0.0.0/16."
  }
}

variable "availability_zones" {
  description = "Availability zones, one per subnet of each tier (two)."
  type        = list(string)

  validation {
    condition     = length(var.availability_zones) == 2
    error_message = "availability_zones must name exactly two availability zones."
  }
}

variable "public_subnet_cidrs" {
  description = "CIDR blocks of the public subnets, one per availability zone."
  type        = list(string)
}

variable "private_subnet_cidrs" {
  description = "CIDR blocks of the private subnets, one per availability zone."
  type        = list(string)
}

variable "database_subnet_cidrs" {
  description = "CIDR blocks of the database subnets, one per availability zone."
  type        = list(string)
}

variable "high_availability" {
  description = "One NAT gateway per availability zone (true) or a single shared NAT gateway (false, cheaper)."
  type        = bool
}

variable "flow_log_retention_days" {
  description = "Retention of the VPC flow log group in days."
  type        = number
  default     = 365
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the flow log group."
  type        = string
}

variable "permissions_boundary_arn" {
  description = "ARN of the permissions boundary every IAM role of this module carries (docs/iam/README.md)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:policy/.+$", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn must be an IAM policy ARN."
  }
}

variable "enable_interface_endpoints" {
  description = "Create interface endpoints for ECR (api, dkr), CloudWatch Logs and SSM (ssm, ssmmessages, ec2messages) in the private subnets."
  type        = bool
  default     = false
}
