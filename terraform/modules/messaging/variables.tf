variable "name" {
  description = "Name prefix of every resource (e.g. gradestack-production)."
  type        = string
}

variable "parameter_prefix" {
  description = "SSM Parameter Store path under which the connection settings are published (e.g. /gradestack/production)."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets; the first one hosts a single-instance broker, both an active/standby pair."
  type        = list(string)
}

variable "security_group_id" {
  description = "Security group of the broker."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for the broker's data and the SSM SecureString."
  type        = string
}

variable "instance_type" {
  description = "Broker instance type (mq.t3.micro or mq.m5.*)."
  type        = string
}

variable "deployment_mode" {
  description = "SINGLE_INSTANCE or ACTIVE_STANDBY_MULTI_AZ."
  type        = string

  validation {
    condition     = contains(["SINGLE_INSTANCE", "ACTIVE_STANDBY_MULTI_AZ"], var.deployment_mode)
    error_message = "deployment_mode must be SINGLE_INSTANCE or ACTIVE_STANDBY_MULTI_AZ."
  }
}

variable "engine_version" {
  description = "ActiveMQ version: 5.18 (AWS applies patch versions itself, which requires auto minor version upgrades)."
  type        = string
  default     = "5.18"
}

variable "users" {
  description = "The broker's accounts by client (group_vars mq_users): {<client> = {username, groups}}. None gets console access."
  type = map(object({
    username = string
    groups   = list(string)
  }))
}

variable "passwords" {
  description = "The password of each account of users, by the same key (group_vars mq_passwords)."
  type        = map(string)
  sensitive   = true
}

variable "authorization" {
  description = "authorizationPlugin entries (group_vars mq_authorization): exactly one of queue or topic, and the groups that may read, write and admin it. Destinations no entry names are refused to every account."
  type = list(object({
    queue = optional(string)
    topic = optional(string)
    read  = optional(list(string), [])
    write = optional(list(string), [])
    admin = optional(list(string), [])
  }))
}

variable "temp_destination_authorization" {
  description = "Groups allowed temporary queues and topics (group_vars mq_temp_destination_authorization); without the entry ActiveMQ would allow them to every account."
  type = object({
    read  = optional(list(string), [])
    write = optional(list(string), [])
    admin = optional(list(string), [])
  })
}

variable "enable_audit_logs" {
  description = "Publish audit logs to CloudWatch Logs."
  type        = bool
}

variable "maximum_redeliveries" {
  description = "Redeliveries of a grading request before it goes to ActiveMQ.DLQ.grading.requests."
  type        = number
  default     = 3
}

variable "redelivery_delay_ms" {
  description = "First redelivery delay in milliseconds (doubles on each further attempt)."
  type        = number
  default     = 5000
}

variable "requests_queue" {
  description = "Name of the grading request queue (gradestack_protocol.messages)."
  type        = string
  default     = "grading.requests"
}
