output "ecr_repository_url" {
  description = "URL of the verifier image repository (push <url>:<git commit>)."
  value       = aws_ecr_repository.verifier.repository_url
}

output "ecr_repository_name" {
  description = "Name of the verifier image repository."
  value       = aws_ecr_repository.verifier.name
}

output "task_definition_family" {
  description = "Family of the verifier task definition (run it once with `aws ecs run-task`)."
  value       = aws_ecs_task_definition.verifier.family
}

output "task_definition_arn" {
  description = "ARN (with revision) of the verifier task definition the schedule starts."
  value       = aws_ecs_task_definition.verifier.arn
}

output "log_group_name" {
  description = "CloudWatch log group of the verifier runs."
  value       = aws_cloudwatch_log_group.verifier.name
}

output "schedule_name" {
  description = "EventBridge Scheduler schedule starting the verifier (group default)."
  value       = aws_scheduler_schedule.verify.name
}

output "schedule_expression" {
  description = "Rate of the schedule (rate(<verify_interval_minutes> minutes))."
  value       = aws_scheduler_schedule.verify.schedule_expression
}

output "report_s3_uri" {
  description = "Where the runs' JUnit reports land (<UTC timestamp>-verify-<environment>.xml)."
  value       = local.report_uri
}

output "task_role_arn" {
  description = "IAM role the verifier runs with."
  value       = aws_iam_role.task.arn
}

output "execution_role_arn" {
  description = "IAM role ECS uses to pull the verifier image and write its logs."
  value       = aws_iam_role.execution.arn
}

output "scheduler_role_arn" {
  description = "IAM role EventBridge Scheduler starts the task with."
  value       = aws_iam_role.scheduler.arn
}
