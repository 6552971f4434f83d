variable "name" {
  description = "Name prefix of every resource (e.g. gradestack-production)."
  type        = string
}

variable "aws_region" {
  description = "Region of the dashboard's widgets."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the alarm topic."
  type        = string
}

variable "alarm_email_addresses" {
  description = "E-mail addresses subscribed to the alarm topic."
  type        = list(string)
  default     = []
}

variable "alarm_https_endpoints" {
  description = "HTTPS endpoints subscribed to the alarm topic."
  type        = list(string)
  default     = []
}

variable "ecs_cluster_name" {
  description = "ECS cluster of the grading service."
  type        = string
}

variable "ecs_service_name" {
  description = "Grading service name."
  type        = string
}

variable "ecs_log_group_name" {
  description = "Log group of the grading workers (Logs Insights query)."
  type        = string
}

variable "mq_metric_broker_names" {
  description = "Broker dimension values of the AWS/AmazonMQ metrics (<broker>-1, <broker>-2)."
  type        = list(string)
}

variable "requests_queue" {
  description = "Grading request queue."
  type        = string
  default     = "grading.requests"
}

variable "load_balancer_arn_suffix" {
  description = "CloudWatch LoadBalancer dimension of the ALB."
  type        = string
}

variable "target_group_arn_suffix" {
  description = "CloudWatch TargetGroup dimension of the web hosts' target group."
  type        = string
}

variable "db_instance_identifier" {
  description = "RDS instance identifier."
  type        = string
}

variable "ecs_cpu_threshold" {
  description = "ECS CPU utilisation alarm threshold in percent (the deployment guide's: 80)."
  type        = number
  default     = 80
}

variable "ecs_memory_threshold" {
  description = "ECS memory utilisation alarm threshold in percent."
  type        = number
  default     = 80
}

variable "queue_size_threshold" {
  description = "Grading queue depth alarm threshold (the deployment guide's: 100)."
  type        = number
  default     = 100
}

variable "alb_5xx_threshold" {
  description = "ALB plus target 5xx responses per 5 minutes that raise an alarm."
  type        = number
  default     = 10
}

variable "response_time_threshold_seconds" {
  description = "Average target response time in seconds that raises an alarm."
  type        = number
  default     = 2
}

variable "db_cpu_threshold" {
  description = "RDS CPU utilisation alarm threshold in percent."
  type        = number
  default     = 80
}

variable "db_free_storage_threshold_bytes" {
  description = "RDS free storage below which an alarm is raised (bytes)."
  type        = number
  default     = 2147483648
}

variable "dlq_queue" {
  description = "Dead-letter queue of the grading requests (ActiveMQ.DLQ.grading.requests)."
  type        = string
  default     = "ActiveMQ.DLQ.grading.requests"
}

variable "backlog_per_task" {
  description = "The grading autoscaler's target backlog per task (drawn on the dashboard's backlog widget)."
  type        = number
  default     = 5
}

variable "dlq_messages_threshold" {
  description = "Alarm when the dead-letter queue holds more messages than this (0: any)."
  type        = number
  default     = 0
}

variable "mq_cpu_threshold" {
  description = "Broker CPU utilisation alarm threshold in percent (the busiest broker instance)."
  type        = number
  default     = 80
}

variable "mq_heap_threshold" {
  description = "Broker JVM heap usage alarm threshold in percent."
  type        = number
  default     = 80
}

variable "mq_store_threshold" {
  description = "Broker message store usage alarm threshold in percent of its limit."
  type        = number
  default     = 80
}

variable "alb_unhealthy_hosts_threshold" {
  description = "Alarm when more web hosts than this are unhealthy (0: any)."
  type        = number
  default     = 0
}

variable "alb_5xx_percent_threshold" {
  description = "Alarm when 5xx responses (ALB and targets) exceed this percentage of requests."
  type        = number
  default     = 5
}

variable "ecs_tasks_missing_minutes" {
  description = "Alarm when the grading service runs fewer tasks than desired for this many minutes."
  type        = number
  default     = 10
}

variable "db_connections_threshold" {
  description = "Alarm when the database has more connections than this."
  type        = number
  default     = 60
}

# --- Scheduled verification (issue 16) -------------------------------------------------

variable "environment_name" {
  description = "Environment name: the Environment dimension of the verify metrics."
  type        = string
}

variable "verify_metrics_namespace" {
  description = "CloudWatch namespace the verify runs publish CheckFailed, FailedChecks and Heartbeat into."
  type        = string
}

variable "verify_interval_minutes" {
  description = "Minutes between two scheduled verify runs: the period of the verify alarms."
  type        = number

  validation {
    condition     = var.verify_interval_minutes >= 1 && var.verify_interval_minutes <= 720 && floor(var.verify_interval_minutes) == var.verify_interval_minutes
    error_message = "verify_interval_minutes must be a whole number from 1 to 720 (two intervals must fit in a day)."
  }
}

variable "verify_heartbeat_alarm" {
  description = "Create the missing-heartbeat alarm (on when the verify schedule is enabled; without a schedule nothing beats)."
  type        = bool
}
