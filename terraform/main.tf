# gradestack on AWS: a 3-tier web service (ALB -> web hosts -> RDS) and an asynchronous
# grading system (Amazon MQ -> ECS Fargate workers -> S3). Apply order follows the
# references: network, security groups, storage, database, broker, grading, web tier,
# monitoring, the scheduled verifier.

data "aws_availability_zones" "available" {
  #checkov:skip=CKV_AWS_394:Only the first two names (sorted) are used; AWS appends new zones with later letters, so the chosen pair cannot silently change.
  state = "available"
  filter {
    name   = "opt-in-status"
    values = ["opt-in-not-required"]
  }
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

locals {
  name             = "${var.project_name}-${var.environment_name}"
  parameter_prefix = "/${var.project_name}/${var.environment_name}"
  azs              = slice(data.aws_availability_zones.available.names, 0, 2)
  # Environments that protect their resources also keep one NAT gateway per AZ.
  high_availability = var.enable_deletion_protection || var.db_multi_az
  # Every IAM role of the stack carries this boundary (docs/iam/README.md, "Permissions boundary").
  permissions_boundary_arn = startswith(var.iam_permissions_boundary, "arn:") ? var.iam_permissions_boundary : "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:policy/${var.iam_permissions_boundary}"
}

# --- Encryption key of the environment -------------------------------------------------

# A key policy: "*" as resource means this key, and the statements' principals are the
# constraint (the account, two AWS services, the Auto Scaling service-linked role).
data "aws_iam_policy_document" "kms" {
  #checkov:skip=CKV_AWS_111:Key policy: the resource "*" is the key itself; access is limited by the principals.
  #checkov:skip=CKV_AWS_356:Key policy: the resource "*" is the key itself, it cannot be narrowed further.
  #checkov:skip=CKV_AWS_109:Key policy: kms:* for the account root is AWS's required default that lets IAM policies grant use of the key.
  statement {
    sid       = "AccountAdministration"
    actions   = ["kms:*"]
    resources = ["*"] # in a key policy "*" means this key
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  statement {
    sid       = "CloudWatchLogs"
    actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["logs.${var.aws_region}.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "kms:EncryptionContext:aws:logs:arn"
      values   = ["arn:${data.aws_partition.current.partition}:logs:${var.aws_region}:${data.aws_caller_identity.current.account_id}:log-group:*"]
    }
  }

  statement {
    sid       = "CloudWatchAlarmsToEncryptedTopic"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey*"]
    resources = ["*"]
    principals {
      type        = "Service"
      identifiers = ["cloudwatch.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }

  # The Auto Scaling service-linked role launches the web hosts with CMK-encrypted volumes.
  statement {
    sid       = "AutoScalingVolumes"
    actions   = ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:DescribeKey"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"]
    }
  }

  statement {
    sid       = "AutoScalingVolumeGrants"
    actions   = ["kms:CreateGrant"]
    resources = ["*"]
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:role/aws-service-role/autoscaling.amazonaws.com/AWSServiceRoleForAutoScaling"]
    }
    condition {
      test     = "Bool"
      variable = "kms:GrantIsForAWSResource"
      values   = ["true"]
    }
  }
}

resource "aws_kms_key" "main" {
  description             = "${local.name}: logs, S3 objects, RDS, Amazon MQ, ECR, EBS, SNS and SSM secrets"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.kms.json
}

resource "aws_kms_alias" "main" {
  name          = "alias/${local.name}"
  target_key_id = aws_kms_key.main.key_id
}

# --- Modules -------------------------------------------------------------------------

module "vpc" {
  source = "./modules/vpc"

  name                    = local.name
  vpc_cidr                = var.vpc_cidr
  availability_zones      = local.azs
  public_subnet_cidrs     = var.public_subnet_cidrs
  private_subnet_cidrs    = var.private_subnet_cidrs
  database_subnet_cidrs   = var.database_subnet_cidrs
  high_availability       = local.high_availability
  flow_log_retention_days = var.flow_log_retention_days
  kms_key_arn             = aws_kms_key.main.arn

  permissions_boundary_arn   = local.permissions_boundary_arn
  enable_interface_endpoints = var.enable_vpc_interface_endpoints
}

module "security_groups" {
  source = "./modules/security-groups"

  name              = local.name
  vpc_id            = module.vpc.vpc_id
  enable_https      = var.certificate_arn != null
  enable_ssh_access = var.enable_ssh_access
  ssh_cidr_blocks   = var.ssh_cidr_blocks
}

module "storage" {
  source = "./modules/storage"

  name              = local.name
  kms_key_arn       = aws_kms_key.main.arn
  enable_versioning = var.enable_s3_versioning
  enable_lifecycle  = var.enable_s3_lifecycle
  force_destroy     = !var.enable_deletion_protection
}

module "database" {
  source = "./modules/database"

  name                  = local.name
  parameter_prefix      = local.parameter_prefix
  subnet_ids            = module.vpc.database_subnet_ids
  security_group_id     = module.security_groups.database_security_group_id
  kms_key_arn           = aws_kms_key.main.arn
  instance_class        = var.db_instance_class
  database_name         = var.db_name
  username              = var.db_username
  password              = var.db_password
  password_version      = var.db_password_version
  multi_az              = var.db_multi_az
  deletion_protection   = var.db_deletion_protection
  backup_retention_days = var.db_backup_retention_days
  log_retention_days    = var.log_retention_days

  permissions_boundary_arn = local.permissions_boundary_arn
}

module "messaging" {
  source = "./modules/messaging"

  name                           = local.name
  parameter_prefix               = local.parameter_prefix
  subnet_ids                     = module.vpc.private_subnet_ids
  security_group_id              = module.security_groups.mq_security_group_id
  kms_key_arn                    = aws_kms_key.main.arn
  instance_type                  = var.mq_instance_type
  deployment_mode                = var.mq_deployment_mode
  users                          = var.mq_users
  passwords                      = var.mq_passwords
  authorization                  = var.mq_authorization
  temp_destination_authorization = var.mq_temp_destination_authorization
  maximum_redeliveries           = var.mq_maximum_redeliveries
  redelivery_delay_ms            = var.mq_redelivery_delay_ms
  enable_audit_logs              = var.mq_enable_audit_logs
}

module "ecs_grading" {
  source = "./modules/ecs-grading"

  name                      = local.name
  aws_region                = var.aws_region
  private_subnet_ids        = module.vpc.private_subnet_ids
  security_group_id         = module.security_groups.grading_security_group_id
  kms_key_arn               = aws_kms_key.main.arn
  container_image           = var.grading_container_image
  task_cpu                  = var.ecs_task_cpu
  task_memory               = var.ecs_task_memory
  desired_count             = var.ecs_desired_count
  max_capacity              = var.ecs_max_capacity
  grading_bucket_name       = module.storage.grading_bucket_name
  grading_bucket_arn        = module.storage.grading_bucket_arn
  mq_endpoints              = module.messaging.mq_endpoints
  mq_username_parameter_arn = module.messaging.parameter_arns.worker_username
  mq_password_parameter_arn = module.messaging.parameter_arns.worker_password
  mq_metric_broker_names    = module.messaging.metric_broker_names
  requests_queue            = module.messaging.requests_queue
  backlog_per_task          = var.grading_backlog_per_task
  log_retention_days        = var.log_retention_days
  ecr_force_delete          = !var.enable_deletion_protection

  permissions_boundary_arn = local.permissions_boundary_arn
  stop_timeout_seconds     = var.ecs_stop_timeout_seconds
}

module "compute" {
  source = "./modules/compute"

  name                       = local.name
  environment_name           = var.environment_name
  parameter_prefix           = local.parameter_prefix
  vpc_id                     = module.vpc.vpc_id
  public_subnet_ids          = module.vpc.public_subnet_ids
  private_subnet_ids         = module.vpc.private_subnet_ids
  alb_security_group_id      = module.security_groups.alb_security_group_id
  web_security_group_id      = module.security_groups.web_security_group_id
  kms_key_arn                = aws_kms_key.main.arn
  grading_bucket_name        = module.storage.grading_bucket_name
  grading_bucket_arn         = module.storage.grading_bucket_arn
  log_bucket_name            = module.storage.log_bucket_name
  alb_log_prefix             = module.storage.alb_log_prefix
  instance_type              = var.web_instance_type
  ami_id                     = var.web_ami_id == "" ? null : var.web_ami_id
  min_size                   = var.min_size
  max_size                   = var.max_size
  desired_capacity           = var.desired_capacity
  certificate_arn            = var.certificate_arn
  enable_deletion_protection = var.enable_deletion_protection

  permissions_boundary_arn = local.permissions_boundary_arn
  cpu_target_percent       = var.web_cpu_target_percent
  idle_timeout_seconds     = var.alb_idle_timeout_seconds
}

module "monitoring" {
  source = "./modules/monitoring"

  name                     = local.name
  aws_region               = var.aws_region
  kms_key_arn              = aws_kms_key.main.arn
  alarm_email_addresses    = var.alarm_email_addresses
  alarm_https_endpoints    = var.alarm_https_endpoints
  ecs_cluster_name         = module.ecs_grading.cluster_name
  ecs_service_name         = module.ecs_grading.service_name
  ecs_log_group_name       = module.ecs_grading.log_group_name
  mq_metric_broker_names   = module.messaging.metric_broker_names
  requests_queue           = module.messaging.requests_queue
  load_balancer_arn_suffix = module.compute.load_balancer_arn_suffix
  target_group_arn_suffix  = module.compute.target_group_arn_suffix
  db_instance_identifier   = module.database.instance_identifier

  dlq_queue                       = module.messaging.requests_dead_letter_queue
  backlog_per_task                = var.grading_backlog_per_task
  dlq_messages_threshold          = var.alarm_dlq_messages
  mq_cpu_threshold                = var.alarm_mq_cpu_percent
  mq_heap_threshold               = var.alarm_mq_heap_percent
  mq_store_threshold              = var.alarm_mq_store_percent
  alb_unhealthy_hosts_threshold   = var.alarm_alb_unhealthy_hosts
  alb_5xx_percent_threshold       = var.alarm_alb_5xx_percent
  ecs_tasks_missing_minutes       = var.alarm_ecs_tasks_missing_minutes
  db_cpu_threshold                = var.alarm_db_cpu_percent
  db_free_storage_threshold_bytes = var.alarm_db_free_storage_gib * 1073741824
  db_connections_threshold        = var.alarm_db_connections

  environment_name         = var.environment_name
  verify_metrics_namespace = var.verify_metrics_namespace
  verify_interval_minutes  = var.verify_interval_minutes
  verify_heartbeat_alarm   = var.verify_schedule_enabled
}

module "verifier" {
  source = "./modules/verifier"

  name                     = local.name
  environment_name         = var.environment_name
  aws_region               = var.aws_region
  cluster_arn              = module.ecs_grading.cluster_arn
  private_subnet_ids       = module.vpc.private_subnet_ids
  security_group_id        = module.security_groups.verifier_security_group_id
  kms_key_arn              = aws_kms_key.main.arn
  container_image          = var.verifier_container_image
  task_cpu                 = var.verifier_task_cpu
  task_memory              = var.verifier_task_memory
  grading_bucket_name      = module.storage.grading_bucket_name
  grading_bucket_arn       = module.storage.grading_bucket_arn
  parameter_prefix         = local.parameter_prefix
  metrics_namespace        = var.verify_metrics_namespace
  interval_minutes         = var.verify_interval_minutes
  schedule_enabled         = var.verify_schedule_enabled
  log_retention_days       = var.log_retention_days
  ecr_force_delete         = !var.enable_deletion_protection
  permissions_boundary_arn = local.permissions_boundary_arn
}

# The outputs the verify plays read, for the scheduled verifier in the VPC: it runs no
# Terraform and may not read the state, but its task role may read this parameter
# (playbooks/aws/verify.yml reads it with verify_vantage=network).
resource "aws_ssm_parameter" "verify_stack" {
  name        = "${local.parameter_prefix}/verify/stack"
  description = "${local.name}: the stack outputs the scheduled verifier checks against (JSON)"
  type        = "SecureString"
  key_id      = aws_kms_key.main.arn
  value = jsonencode({
    site_url             = module.compute.url
    alb_target_group_arn = module.compute.target_group_arn
    web_asg_name         = module.compute.autoscaling_group_name
    ecs_cluster_name     = module.ecs_grading.cluster_name
    ecs_service_name     = module.ecs_grading.service_name
    mq_broker_id         = module.messaging.broker_id
    mq_endpoints         = module.messaging.mq_endpoints
    grading_bucket_name  = module.storage.grading_bucket_name
    kms_key_arn          = aws_kms_key.main.arn
    database_endpoint    = module.database.endpoint
    database_port        = module.database.port
    dashboard_name       = module.monitoring.dashboard_name
  })
}
