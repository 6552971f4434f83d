output "grading_bucket_name" {
  description = "Name of the grading bucket (GRADING_BUCKET)."
  value       = aws_s3_bucket.grading.bucket # known at plan time, unlike .id
}

output "grading_bucket_arn" {
  description = "ARN of the grading bucket."
  value       = aws_s3_bucket.grading.arn
}

output "prefixes" {
  description = "Key prefixes of the grading bucket: problems/ (test data), results/ (grading artifacts), artifacts/ (release bundles)."
  value       = local.prefixes
}

output "log_bucket_name" {
  description = "Name of the access-log bucket (ALB logs under alb/, S3 access logs under s3/)."
  value       = aws_s3_bucket.logs.bucket
}

output "log_bucket_arn" {
  description = "ARN of the access-log bucket."
  value       = aws_s3_bucket.logs.arn
}

output "alb_log_prefix" {
  description = "Prefix under which the ALB writes its access logs in the log bucket."
  value       = "alb"
}
