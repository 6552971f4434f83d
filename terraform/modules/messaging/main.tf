locals {
  broker_name = "${var.name}-broker"
  multi_az    = var.deployment_mode == "ACTIVE_STANDBY_MULTI_AZ"
  # Amazon MQ publishes per-instance metrics with Broker = <name>-1 (and <name>-2 for the standby).
  metric_broker_names = local.multi_az ? ["${local.broker_name}-1", "${local.broker_name}-2"] : ["${local.broker_name}-1"]
  stomp_ssl_endpoints = flatten([
    for instance in aws_mq_broker.this.instances : [
      for endpoint in instance.endpoints : endpoint if startswith(endpoint, "stomp+ssl://")
    ]
  ])
}

resource "aws_mq_configuration" "this" {
  name                    = "${var.name}-activemq"
  description             = "ActiveMQ settings of ${var.name}: redelivery with back-off and per-queue dead-letter queues"
  engine_type             = "ActiveMQ"
  engine_version          = var.engine_version
  authentication_strategy = "simple"
  data = templatefile("${path.module}/templates/activemq.xml.tftpl", {
    requests_queue       = var.requests_queue
    maximum_redeliveries = var.maximum_redeliveries
    redelivery_delay_ms  = var.redelivery_delay_ms
  })
}

resource "aws_mq_broker" "this" {
  broker_name                = local.broker_name
  engine_type                = "ActiveMQ"
  engine_version             = var.engine_version
  auto_minor_version_upgrade = true # required by AWS from ActiveMQ 5.18 on
  host_instance_type         = var.instance_type
  deployment_mode            = var.deployment_mode
  storage_type               = "efs" # the only storage an active/standby pair can share; same for single instances for parity
  publicly_accessible        = false
  subnet_ids                 = local.multi_az ? slice(var.subnet_ids, 0, 2) : [var.subnet_ids[0]]
  security_groups            = [var.security_group_id]
  authentication_strategy    = "simple"

  configuration {
    id       = aws_mq_configuration.this.id
    revision = aws_mq_configuration.this.latest_revision
  }

  encryption_options {
    use_aws_owned_key = false
    kms_key_id        = var.kms_key_arn
  }

  logs {
    general = true
    audit   = var.enable_audit_logs
  }

  maintenance_window_start_time {
    day_of_week = "SUNDAY"
    time_of_day = "19:00"
    time_zone   = "UTC"
  }

  depends_on = [aws_cloudwatch_log_resource_policy.mq]

  user {
    username       = var.username
    password       = var.password
    console_access = var.console_access
  }

  lifecycle {
    precondition {
      condition     = !(local.multi_az && var.instance_type == "mq.t3.micro")
      error_message = "ACTIVE_STANDBY_MULTI_AZ needs an mq.m5.* instance type; mq.t3.micro runs single-instance brokers only."
    }
    precondition {
      condition     = length(var.subnet_ids) >= (local.multi_az ? 2 : 1)
      error_message = "An active/standby broker needs two subnets in different availability zones."
    }
  }
}

# Connection settings for the web hosts and grading tasks (the MQ_* contract).
resource "aws_ssm_parameter" "endpoints" {
  name        = "${var.parameter_prefix}/mq/endpoints"
  description = "MQ_ENDPOINTS of ${var.name}: STOMP+SSL failover list"
  type        = "SecureString" # not secret, but one read path (with decryption) for every setting
  key_id      = var.kms_key_arn
  value       = join(",", local.stomp_ssl_endpoints)
}

resource "aws_ssm_parameter" "username" {
  name        = "${var.parameter_prefix}/mq/username"
  description = "MQ_USERNAME of ${var.name}"
  type        = "SecureString" # not secret, but one read path (with decryption) for every setting
  key_id      = var.kms_key_arn
  value       = var.username
}

resource "aws_ssm_parameter" "password" {
  name        = "${var.parameter_prefix}/mq/password"
  description = "MQ_PASSWORD of ${var.name}"
  type        = "SecureString"
  key_id      = var.kms_key_arn
  # Write-only: not in the state through this parameter. The broker's user block holds the
  # password in the state anyway (Amazon MQ users have no write-only argument; terraform/README.md,
  # "Secrets and the state"), so a digest of it as the version costs nothing and follows every change.
  value_wo         = var.password
  value_wo_version = parseint(substr(sha256(var.password), 0, 12), 16)
}

# Amazon MQ writes its general and audit logs to /aws/amazonmq/broker/<id>/... and
# needs this resource policy to create those log groups.
data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

data "aws_iam_policy_document" "mq_logs" {
  statement {
    actions = ["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents"]
    resources = [
      "arn:${data.aws_partition.current.partition}:logs:${data.aws_region.current.name}:${data.aws_caller_identity.current.account_id}:log-group:/aws/amazonmq/*",
    ]
    principals {
      type        = "Service"
      identifiers = ["mq.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
  }
}

resource "aws_cloudwatch_log_resource_policy" "mq" {
  policy_name     = "${var.name}-amazonmq-logs"
  policy_document = data.aws_iam_policy_document.mq_logs.json
}
