output "alb_security_group_id" {
  description = "Security group of the application load balancer."
  value       = aws_security_group.alb.id
}

output "web_security_group_id" {
  description = "Security group of the web hosts."
  value       = aws_security_group.web.id
}

output "grading_security_group_id" {
  description = "Security group of the grading tasks."
  value       = aws_security_group.grading.id
}

output "database_security_group_id" {
  description = "Security group of the RDS instance."
  value       = aws_security_group.database.id
}

output "mq_security_group_id" {
  description = "Security group of the Amazon MQ broker."
  value       = aws_security_group.mq.id
}

output "verifier_security_group_id" {
  description = "Security group of the scheduled verifier task."
  value       = aws_security_group.verifier.id
}
