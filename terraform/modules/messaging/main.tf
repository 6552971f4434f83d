locals {
  broker_name = "${var.name}-broker"
  multi_az    = var.deployment_mode == "ACTIVE_STANDBY_MULTI_AZ"
  # Amazon MQ publishes per-instance metrics with Broker = <name>-1 (and <name>-2 for the standby).
  metric_broker_names = local.multi_az ? ["${local.broker_name}-1", "${local.broker_name}-2"] : ["${local.broker_name}-1"]
  # The authorization map as the configuration's XML attributes ('>' escaped; the
  # variables' validations in the root module keep names to safe characters).
  authorization_entries = [
    for entry in var.authorization : {
      kind        = entry.queue != null ? "queue" : "topic"
      destination = replace(entry.queue != null ? entry.queue : entry.topic, ">", "&gt;")
      rights      = { for right, groups in { read = entry.read, write = entry.write, admin = entry.admin } : right => join(",", groups) if length(groups) > 0 }
    }
  ]
  account_groups = toset(flatten([for user in values(var.users) : user.groups]))
  granted_groups = toset(flatten(concat(
    [for entry in var.authorization : concat(entry.read, entry.write, entry.admin)],
    values(var.temp_destination_authorization),
  )))
  temp_destination_rights = {
    for right, groups in var.temp_destination_authorization : right => join(",", groups) if length(groups) > 0
  }
  stomp_ssl_endpoints = flatten([
    for instance in aws_mq_broker.this.instances : [
      for endpoint in instance.endpoints : endpoint if startswith(endpoint, "stomp+ssl://")
    ]
  ])
}

resource "aws_mq_configuration" "this" {
  name                    = "${var.name}-activemq"
  description             = "ActiveMQ settings of ${var.name}: authorization per account, redelivery with back-off and per-queue dead-letter queues"
  engine_type             = "ActiveMQ"
  engine_version          = var.engine_version
  authentication_strategy = "simple"
  data = templatefile("${path.module}/templates/activemq.xml.tftpl", {
    requests_queue       = var.requests_queue
    maximum_redeliveries = var.maximum_redeliveries
    redelivery_delay_ms  = var.redelivery_delay_ms
    authorization        = local.authorization_entries
    temp_destination     = local.temp_destination_rights
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

  # One account per client, none with console access (least privilege: what each may do
  # is the configuration's authorization map, by group).
  dynamic "user" {
    for_each = var.users
    content {
      username       = user.value.username
      password       = var.passwords[user.key]
      groups         = user.value.groups
      console_access = false
    }
  }

  lifecycle {
    # Cross-setting rules of the access map (a variable's validation that reads another
    # variable is skipped when that one is invalid, so these are checked here).
    precondition {
      condition     = sort(keys(var.passwords)) == sort(keys(var.users))
      error_message = "mq_passwords needs one password for each account of mq_users, by the same key, and no other."
    }
    precondition {
      condition     = length(setsubtract(local.granted_groups, local.account_groups)) == 0
      error_message = "mq_authorization or mq_temp_destination_authorization grants a group that no account of mq_users is in (a typo?): ${join(", ", setsubtract(local.granted_groups, local.account_groups))}."
    }
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

# Each client's account, <prefix>/mq/<client>/{username,password}: the web hosts read
# the web app's, the grading tasks the workers', the verifier its own.
resource "aws_ssm_parameter" "username" {
  for_each    = var.users
  name        = "${var.parameter_prefix}/mq/${each.key}/username"
  description = "MQ_USERNAME of ${var.name}'s ${each.key} account"
  type        = "SecureString" # not secret, but one read path (with decryption) for every setting
  key_id      = var.kms_key_arn
  value       = each.value.username
}

resource "aws_ssm_parameter" "password" {
  for_each    = var.users
  name        = "${var.parameter_prefix}/mq/${each.key}/password"
  description = "MQ_PASSWORD of ${var.name}'s ${each.key} account"
  type        = "SecureString"
  key_id      = var.kms_key_arn
  # Write-only: not in the state through this parameter. The broker's user blocks hold the
  # passwords in the state anyway (Amazon MQ users have no write-only argument; terraform/README.md,
  # "Secrets and the state"), so a digest of each as its version costs nothing and follows every change.
  value_wo         = var.passwords[each.key]
  value_wo_version = parseint(substr(sha256(var.passwords[each.key]), 0, 12), 16)
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
