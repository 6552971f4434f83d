output "alarm_topic_arn" {
  description = "SNS topic every alarm notifies."
  value       = aws_sns_topic.alarms.arn
}

output "dashboard_name" {
  description = "Name of the CloudWatch dashboard."
  value       = aws_cloudwatch_dashboard.this.dashboard_name
}

output "alarm_names" {
  description = "Names of the CloudWatch alarms."
  value = concat(
    [
      aws_cloudwatch_metric_alarm.ecs_cpu_high.alarm_name,
      aws_cloudwatch_metric_alarm.ecs_memory_high.alarm_name,
      aws_cloudwatch_metric_alarm.alb_5xx.alarm_name,
      aws_cloudwatch_metric_alarm.response_time.alarm_name,
      aws_cloudwatch_metric_alarm.db_cpu.alarm_name,
      aws_cloudwatch_metric_alarm.db_free_storage.alarm_name,
      aws_cloudwatch_metric_alarm.db_connections.alarm_name,
      aws_cloudwatch_metric_alarm.dlq_messages.alarm_name,
      aws_cloudwatch_metric_alarm.alb_unhealthy_hosts.alarm_name,
      aws_cloudwatch_metric_alarm.alb_5xx_rate.alarm_name,
      aws_cloudwatch_metric_alarm.ecs_tasks_missing.alarm_name,
    ],
    [for a in aws_cloudwatch_metric_alarm.queue_size_high : a.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.broker : a.alarm_name],
    [aws_cloudwatch_metric_alarm.verify_failed_checks.alarm_name],
    [for a in aws_cloudwatch_metric_alarm.verify_heartbeat_missing : a.alarm_name],
  )
}

output "error_query_name" {
  description = "Saved Logs Insights query listing worker ERROR lines."
  value       = aws_cloudwatch_query_definition.errors.name
}
