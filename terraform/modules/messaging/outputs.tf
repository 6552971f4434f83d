output "broker_id" {
  description = "ID of the Amazon MQ broker."
  value       = aws_mq_broker.this.id
}

output "broker_name" {
  description = "Name of the Amazon MQ broker."
  value       = aws_mq_broker.this.broker_name
}

output "broker_arn" {
  description = "ARN of the Amazon MQ broker."
  value       = aws_mq_broker.this.arn
}

output "metric_broker_names" {
  description = "Values of the AWS/AmazonMQ Broker metric dimension: <name>-1, plus <name>-2 for an active/standby pair."
  value       = local.metric_broker_names
}

output "console_url" {
  description = "ActiveMQ web console URL of the first (active) instance."
  value       = aws_mq_broker.this.instances[0].console_url
  sensitive   = true
}

output "stomp_ssl_endpoints" {
  description = "STOMP over TLS endpoints (stomp+ssl://host:61614), active instance first."
  value       = local.stomp_ssl_endpoints
}

output "mq_endpoints" {
  description = "The MQ_ENDPOINTS setting: the STOMP+SSL endpoints as a comma-separated failover list."
  value       = join(",", local.stomp_ssl_endpoints)
}

output "usernames" {
  description = "Broker user name (MQ_USERNAME) of each client's account."
  value       = { for client, user in var.users : client => user.username }
}

output "parameter_names" {
  description = "SSM parameter names of the MQ_* settings: endpoints, and <client>_username, <client>_password for each account."
  value = merge(
    { endpoints = aws_ssm_parameter.endpoints.name },
    { for client, parameter in aws_ssm_parameter.username : "${client}_username" => parameter.name },
    { for client, parameter in aws_ssm_parameter.password : "${client}_password" => parameter.name },
  )
}

output "requests_queue" {
  description = "Name of the grading request queue (its depth drives the grading autoscaler)."
  value       = var.requests_queue
}

output "parameter_arns" {
  description = "SSM parameter ARNs of the MQ_* settings (for ECS task secrets): endpoints, and <client>_username, <client>_password for each account."
  value = merge(
    { endpoints = aws_ssm_parameter.endpoints.arn },
    { for client, parameter in aws_ssm_parameter.username : "${client}_username" => parameter.arn },
    { for client, parameter in aws_ssm_parameter.password : "${client}_password" => parameter.arn },
  )
}

output "requests_dead_letter_queue" {
  description = "Dead-letter queue of the grading requests (ActiveMQ.DLQ.<queue>, from the broker configuration's individualDeadLetterStrategy)."
  value       = "ActiveMQ.DLQ.${var.requests_queue}"
}
