output "load_balancer_dns_name" {
  description = "DNS name of the application load balancer."
  value       = aws_lb.this.dns_name
}

output "load_balancer_arn" {
  description = "ARN of the application load balancer."
  value       = aws_lb.this.arn
}

output "load_balancer_arn_suffix" {
  description = "ARN suffix of the load balancer (CloudWatch dimension LoadBalancer)."
  value       = aws_lb.this.arn_suffix
}

output "load_balancer_zone_id" {
  description = "Route 53 zone of the load balancer (for alias records)."
  value       = aws_lb.this.zone_id
}

output "target_group_arn" {
  description = "ARN of the web hosts' target group."
  value       = aws_lb_target_group.web.arn
}

output "target_group_arn_suffix" {
  description = "ARN suffix of the target group (CloudWatch dimension TargetGroup)."
  value       = aws_lb_target_group.web.arn_suffix
}

output "autoscaling_group_name" {
  description = "Name of the web hosts' Auto Scaling Group."
  value       = aws_autoscaling_group.web.name
}

output "launch_template_id" {
  description = "ID of the web hosts' launch template."
  value       = aws_launch_template.web.id
}

output "ami_id" {
  description = "AMI the web hosts run."
  value       = aws_launch_template.web.image_id
}

output "instance_role_name" {
  description = "IAM role of the web hosts."
  value       = aws_iam_role.web.name
}

output "release_parameter_name" {
  description = "SSM parameter holding the web release a booting host installs (set by deploy.yml)."
  value       = local.release_param
}

output "bundle_prefix" {
  description = "Key prefix of the web release bundles in the grading bucket (<prefix><release>.tar.gz)."
  value       = local.bundle_prefix
}

output "url" {
  description = "Base URL of the site."
  value       = "${local.https ? "https" : "http"}://${aws_lb.this.dns_name}"
}
