output "cluster_name" {
  description = "Name of the ECS cluster."
  value       = aws_ecs_cluster.this.name
}

output "cluster_arn" {
  description = "ARN of the ECS cluster."
  value       = aws_ecs_cluster.this.arn
}

output "service_name" {
  description = "Name of the grading service (<cluster>-grading-service)."
  value       = aws_ecs_service.grading.name
}

output "task_definition_arn" {
  description = "ARN (with revision) of the grading task definition."
  value       = aws_ecs_task_definition.grading.arn
}

output "task_definition_family" {
  description = "Family of the grading task definition."
  value       = aws_ecs_task_definition.grading.family
}

output "container_name" {
  description = "Name of the worker container in the task definition."
  value       = local.container_name
}

output "log_group_name" {
  description = "CloudWatch log group of the workers (streams grading-worker/grading-worker/<task id>)."
  value       = aws_cloudwatch_log_group.grading.name
}

output "ecr_repository_url" {
  description = "URL of the grading image repository (push <url>:<git commit>)."
  value       = aws_ecr_repository.grading.repository_url
}

output "ecr_repository_name" {
  description = "Name of the grading image repository."
  value       = aws_ecr_repository.grading.name
}

output "task_role_arn" {
  description = "IAM role the worker runs with."
  value       = aws_iam_role.task.arn
}

output "execution_role_arn" {
  description = "IAM role ECS uses to pull the image, write logs and read secrets."
  value       = aws_iam_role.execution.arn
}

output "autoscaling_resource_id" {
  description = "Application Auto Scaling resource id of the service."
  value       = aws_appautoscaling_target.grading.resource_id
}
