# --- The deployment guide's outputs --------------------------------------------------------------

output "vpc_id" {
  description = "ID of the VPC."
  value       = module.vpc.vpc_id
}

output "load_balancer_dns_name" {
  description = "DNS name of the application load balancer (the site's address)."
  value       = module.compute.load_balancer_dns_name
}

output "ecs_cluster_name" {
  description = "Name of the ECS cluster."
  value       = module.ecs_grading.cluster_name
}

output "database_endpoint" {
  description = "Host name of the PostgreSQL database (reachable from inside the VPC only)."
  value       = module.database.endpoint
}

output "database_port" {
  description = "Port of the PostgreSQL database."
  value       = module.database.port
}

output "grading_bucket_name" {
  description = "Name of the grading bucket (GRADING_BUCKET)."
  value       = module.storage.grading_bucket_name
}

output "mq_broker_id" {
  description = "ID of the Amazon MQ broker."
  value       = module.messaging.broker_id
}

output "mq_console_url" {
  description = "ActiveMQ web console URL."
  value       = module.messaging.console_url
  sensitive   = true
}

output "ecs_log_group_name" {
  description = "CloudWatch log group of the grading workers."
  value       = module.ecs_grading.log_group_name
}

# --- What the orchestration needs ------------------------------------------------------

output "environment_name" {
  description = "Environment these outputs belong to."
  value       = var.environment_name
}

output "aws_region" {
  description = "Region of the stack."
  value       = var.aws_region
}

output "site_url" {
  description = "Base URL of the site (https when a certificate is configured)."
  value       = module.compute.url
}

output "alb_target_group_arn" {
  description = "Target group of the web hosts (rolling deployments check target health here)."
  value       = module.compute.target_group_arn
}

output "web_asg_name" {
  description = "Auto Scaling Group of the web hosts (rolling deployments put hosts into Standby)."
  value       = module.compute.autoscaling_group_name
}

output "web_release_parameter_name" {
  description = "SSM parameter deploy.yml sets to the current web release; booting hosts install it."
  value       = module.compute.release_parameter_name
}

output "web_bundle_prefix" {
  description = "Key prefix of the web release bundles in the artifacts bucket (<prefix><release>.tar.gz)."
  value       = module.compute.bundle_prefix
}

output "artifacts_bucket_name" {
  description = "Bucket holding the release artifacts (the grading bucket, prefix artifacts/)."
  value       = module.storage.grading_bucket_name
}

output "log_bucket_name" {
  description = "Bucket holding the ALB and S3 access logs."
  value       = module.storage.log_bucket_name
}

output "ecs_service_name" {
  description = "Name of the grading service (<cluster>-grading-service)."
  value       = module.ecs_grading.service_name
}

output "ecs_task_definition_family" {
  description = "Family of the grading task definition (new revisions roll the workers)."
  value       = module.ecs_grading.task_definition_family
}

output "ecs_container_name" {
  description = "Name of the worker container in the task definition."
  value       = module.ecs_grading.container_name
}

output "ecr_repository_url" {
  description = "Grading image repository; push <url>:<git commit> and set grading_container_image to it."
  value       = module.ecs_grading.ecr_repository_url
}

output "mq_stomp_ssl_endpoints" {
  description = "Amazon MQ STOMP over TLS endpoints (stomp+ssl://host:61614)."
  value       = module.messaging.stomp_ssl_endpoints
}

output "mq_endpoints" {
  description = "The MQ_ENDPOINTS setting: STOMP+SSL endpoints as a comma-separated failover list."
  value       = module.messaging.mq_endpoints
}

output "ssm_parameter_names" {
  description = "SSM parameters the stack publishes for the web hosts: db/{host,port,name,username,password}, mq/endpoints and mq/<client>/{username,password} for each broker account (keys mq_endpoints, mq_<client>_username, mq_<client>_password)."
  value = merge(
    { for k, v in module.database.parameter_names : "db_${k}" => v },
    { for k, v in module.messaging.parameter_names : "mq_${k}" => v },
  )
}

output "private_subnet_ids" {
  description = "Private subnets (for one-off grading tasks)."
  value       = module.vpc.private_subnet_ids
}

output "grading_security_group_id" {
  description = "Security group of the grading tasks (for one-off tasks)."
  value       = module.security_groups.grading_security_group_id
}

output "kms_key_arn" {
  description = "KMS key of the environment."
  value       = aws_kms_key.main.arn
}

output "alarm_topic_arn" {
  description = "SNS topic of the alarms."
  value       = module.monitoring.alarm_topic_arn
}

output "dashboard_name" {
  description = "CloudWatch dashboard of the environment."
  value       = module.monitoring.dashboard_name
}

output "verifier_ecr_repository_url" {
  description = "Verifier image repository; push <url>:<git commit> and set verifier_container_image to it."
  value       = module.verifier.ecr_repository_url
}

output "verifier_container_image" {
  description = "Verifier image the scheduled task runs (a rollback keeps it: the verify plays check the stack, they are not the release)."
  value       = var.verifier_container_image
}

output "verifier_task_definition_family" {
  description = "Family of the verifier task definition (a one-off run: aws ecs run-task with the schedule's network settings)."
  value       = module.verifier.task_definition_family
}

output "verifier_log_group_name" {
  description = "CloudWatch log group of the verifier runs."
  value       = module.verifier.log_group_name
}

output "verifier_security_group_id" {
  description = "Security group of the verifier task (for one-off runs)."
  value       = module.security_groups.verifier_security_group_id
}

output "verify_schedule_name" {
  description = "EventBridge Scheduler schedule (group default) starting the verifier every verify_interval_minutes."
  value       = module.verifier.schedule_name
}

output "verify_report_s3_uri" {
  description = "Where the scheduled runs' JUnit reports land (<UTC timestamp>-verify-<environment>.xml)."
  value       = module.verifier.report_s3_uri
}
