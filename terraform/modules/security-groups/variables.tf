variable "name" {
  description = "Name prefix of every resource (e.g. gradestack-production)."
  type        = string
}

variable "vpc_id" {
  description = "VPC the security groups belong to."
  type        = string
}

variable "web_port" {
  description = "Port nginx listens on on the web hosts (the ALB's target port)."
  type        = number
  default     = 80
}

variable "enable_https" {
  description = "Open 443 on the ALB (an HTTPS listener exists)."
  type        = bool
  default     = false
}

variable "enable_ssh_access" {
  description = "Allow SSH (22) to the web hosts from ssh_cidr_blocks."
  type        = bool
}

variable "ssh_cidr_blocks" {
  description = "Sources allowed to SSH to the web hosts when enable_ssh_access is true."
  type        = list(string)
  default     = []
}
