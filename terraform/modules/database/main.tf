locals {
  identifier = "${var.name}-db"
  family     = "postgres${split(".", var.engine_version)[0]}"
}

resource "aws_db_subnet_group" "this" {
  name        = "${var.name}-db"
  description = "Database subnets of ${var.name}"
  subnet_ids  = var.subnet_ids
}

resource "aws_db_parameter_group" "this" {
  name        = "${var.name}-${local.family}"
  family      = local.family
  description = "PostgreSQL settings of ${var.name}: TLS only, slow-statement and DDL logging"

  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }
  parameter {
    name  = "log_statement"
    value = "ddl"
  }
  parameter {
    name  = "log_min_duration_statement"
    value = "1000" # ms: log statements slower than one second
  }
  parameter {
    name  = "log_connections"
    value = "1"
  }

  lifecycle {
    create_before_destroy = true
  }
}

# Log groups RDS exports to, created here so that they get retention and encryption.
resource "aws_cloudwatch_log_group" "exports" {
  for_each = toset(["postgresql", "upgrade"])

  name              = "/aws/rds/instance/${local.identifier}/${each.key}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

data "aws_iam_policy_document" "monitoring_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["monitoring.rds.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "monitoring" {
  name                 = "${var.name}-rds-monitoring"
  assume_role_policy   = data.aws_iam_policy_document.monitoring_assume.json
  permissions_boundary = var.permissions_boundary_arn
}

data "aws_partition" "current" {}

resource "aws_iam_role_policy_attachment" "monitoring" {
  role       = aws_iam_role.monitoring.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"
}

resource "aws_db_instance" "this" {
  identifier     = local.identifier
  engine         = "postgres"
  engine_version = var.engine_version
  instance_class = var.instance_class

  db_name  = var.database_name
  username = var.username
  # Write-only (Terraform >= 1.11): sent to RDS, never stored in the state or shown in a plan;
  # sent again only when password_version changes.
  password_wo         = var.password
  password_wo_version = var.password_version
  port                = 5432

  db_subnet_group_name   = aws_db_subnet_group.this.name
  parameter_group_name   = aws_db_parameter_group.this.name
  vpc_security_group_ids = [var.security_group_id]
  publicly_accessible    = false
  multi_az               = var.multi_az

  storage_type          = "gp3"
  allocated_storage     = var.allocated_storage
  max_allocated_storage = var.max_allocated_storage
  storage_encrypted     = true
  kms_key_id            = var.kms_key_arn

  iam_database_authentication_enabled = true
  auto_minor_version_upgrade          = true
  allow_major_version_upgrade         = false
  apply_immediately                   = false

  backup_retention_period = var.backup_retention_days
  backup_window           = "17:00-18:00" # 02:00-03:00 KST
  maintenance_window      = "sun:18:30-sun:19:30"
  copy_tags_to_snapshot   = true
  deletion_protection     = var.deletion_protection
  skip_final_snapshot     = !var.deletion_protection
  # A fixed name: a timestamp here would show as a change on every plan.
  final_snapshot_identifier = "${local.identifier}-final"

  enabled_cloudwatch_logs_exports       = ["postgresql", "upgrade"]
  monitoring_interval                   = 60
  monitoring_role_arn                   = aws_iam_role.monitoring.arn
  performance_insights_enabled          = true
  performance_insights_kms_key_id       = var.kms_key_arn
  performance_insights_retention_period = 7 # the free tier of Performance Insights

  depends_on = [aws_cloudwatch_log_group.exports, aws_iam_role_policy_attachment.monitoring]
}

# Connection settings for the web hosts, which read them at boot (docs/ARCHITECTURE.md, "Web hosts: rollout and boot").
resource "aws_ssm_parameter" "host" {
  name        = "${var.parameter_prefix}/db/host"
  description = "PostgreSQL host name of ${var.name}"
  type        = "SecureString" # not secret, but one read path (with decryption) for every setting
  key_id      = var.kms_key_arn
  value       = aws_db_instance.this.address
}

resource "aws_ssm_parameter" "port" {
  name        = "${var.parameter_prefix}/db/port"
  description = "PostgreSQL port of ${var.name}"
  type        = "SecureString" # not secret, but one read path (with decryption) for every setting
  key_id      = var.kms_key_arn
  value       = tostring(aws_db_instance.this.port)
}

resource "aws_ssm_parameter" "name" {
  name        = "${var.parameter_prefix}/db/name"
  description = "PostgreSQL database name of ${var.name}"
  type        = "SecureString" # not secret, but one read path (with decryption) for every setting
  key_id      = var.kms_key_arn
  value       = aws_db_instance.this.db_name
}

resource "aws_ssm_parameter" "username" {
  name        = "${var.parameter_prefix}/db/username"
  description = "PostgreSQL user of ${var.name}"
  type        = "SecureString" # not secret, but one read path (with decryption) for every setting
  key_id      = var.kms_key_arn
  value       = aws_db_instance.this.username
}

resource "aws_ssm_parameter" "password" {
  name        = "${var.parameter_prefix}/db/password"
  description = "PostgreSQL password of ${var.name}"
  type        = "SecureString"
  key_id      = var.kms_key_arn
  # Write-only, like the instance's password: never in the state.
  value_wo         = var.password
  value_wo_version = var.password_version
}
