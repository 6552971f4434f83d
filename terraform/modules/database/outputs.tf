output "endpoint" {
  description = "Host name of the database."
  value       = aws_db_instance.this.address
}

output "port" {
  description = "Port of the database."
  value       = aws_db_instance.this.port
}

output "database_name" {
  description = "Name of the application database."
  value       = aws_db_instance.this.db_name
}

output "username" {
  description = "Master user name."
  value       = aws_db_instance.this.username
}

output "instance_identifier" {
  description = "RDS instance identifier (CloudWatch dimension DBInstanceIdentifier)."
  value       = aws_db_instance.this.identifier
}

output "instance_arn" {
  description = "ARN of the RDS instance."
  value       = aws_db_instance.this.arn
}

output "parameter_names" {
  description = "SSM parameter names of the connection settings (host, port, name, username, password)."
  value = {
    host     = aws_ssm_parameter.host.name
    port     = aws_ssm_parameter.port.name
    name     = aws_ssm_parameter.name.name
    username = aws_ssm_parameter.username.name
    password = aws_ssm_parameter.password.name
  }
}
