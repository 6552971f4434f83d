# Scheduled verification inside the VPC (issue 16): EventBridge Scheduler starts a Fargate
# task from the verifier image every interval; the task runs verify.yml with
# verify_vantage=network, publishes the verify metrics and copies its JUnit report to S3.

locals {
  container_name = "verifier"
  log_group_name = "/ecs/${var.name}-verifier"
  family         = "${var.name}-verifier"
  # The image's working directories (the entrypoint's report directory, Ansible's own state);
  # the root filesystem is read-only, these are task-local volumes.
  report_dir   = "/var/lib/gradestack-verifier/reports"
  ansible_home = "/tmp/ansible"
  report_uri   = "s3://${var.grading_bucket_name}/${var.report_prefix}"
  rate         = "rate(${var.interval_minutes} ${var.interval_minutes == 1 ? "minute" : "minutes"})"
  account_id   = data.aws_caller_identity.current.account_id
  partition    = data.aws_partition.current.partition
  # Task definitions of the verifier family, any revision: what the scheduler may start.
  task_definition_arns = "arn:${local.partition}:ecs:${var.aws_region}:${local.account_id}:task-definition/${local.family}:*"
  # The parameters below parameter_prefix the task reads (playbooks/aws/verify.yml, group_vars/all/main.yml).
  ssm_reads = ["verify/stack", "mq_verify_password", "db_password", "verify_api_token"]
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

# --- Image repository ------------------------------------------------------------------

resource "aws_ecr_repository" "verifier" {
  name                 = "${var.name}-verifier"
  image_tag_mutability = "IMMUTABLE" # a tag is a git commit: it never moves
  force_delete         = var.ecr_force_delete

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = var.kms_key_arn
  }
}

resource "aws_ecr_lifecycle_policy" "verifier" {
  repository = aws_ecr_repository.verifier.name
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Drop untagged layers after a week"
        selection    = { tagStatus = "untagged", countType = "sinceImagePushed", countUnit = "days", countNumber = 7 }
        action       = { type = "expire" }
      },
      {
        rulePriority = 2
        description  = "Keep the newest ${var.ecr_keep_images} images"
        selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = var.ecr_keep_images }
        action       = { type = "expire" }
      },
    ]
  })
}

# --- Logs ------------------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "verifier" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

# --- Task roles ------------------------------------------------------------------------

data "aws_iam_policy_document" "tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

# Execution role: what ECS does before the container starts (image pull, log stream).
resource "aws_iam_role" "execution" {
  name                 = "${var.name}-verifier-execution"
  assume_role_policy   = data.aws_iam_policy_document.tasks_assume.json
  permissions_boundary = var.permissions_boundary_arn
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:${local.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "DecryptImages"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["ecr.${var.aws_region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "verifier-image"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# Task role: the verify plays' read-only calls, their canary objects, the report and the
# metrics; nothing that changes the stack.
resource "aws_iam_role" "task" {
  name                 = "${var.name}-verifier-task"
  assume_role_policy   = data.aws_iam_policy_document.tasks_assume.json
  permissions_boundary = var.permissions_boundary_arn
}

data "aws_iam_policy_document" "task" {
  #checkov:skip=CKV_AWS_356:Describe/List calls of ELB, Auto Scaling, ECS, Amazon MQ, RDS and CloudWatch (and s3:ListAllMyBuckets) take no resource-level restriction or are read-only listings; nothing here writes.
  statement {
    sid = "DescribeTheStack"
    actions = [
      "autoscaling:DescribeAutoScalingGroups",
      "autoscaling:DescribeAutoScalingInstances",
      # amazon.aws.autoscaling_group_info reads each group's lifecycle hooks too.
      "autoscaling:DescribeLifecycleHooks",
      "cloudwatch:DescribeAlarms",
      "cloudwatch:GetDashboard",
      "cloudwatch:GetMetricStatistics",
      "cloudwatch:ListDashboards",
      # The aws_ec2 inventory of the verify run lists the web hosts (no call to them).
      "ec2:DescribeInstances",
      "ecs:DescribeClusters",
      "ecs:DescribeServices",
      "ecs:DescribeTaskDefinition",
      "ecs:DescribeTasks",
      "ecs:ListServices",
      "ecs:ListTasks",
      "elasticloadbalancing:DescribeListeners",
      "elasticloadbalancing:DescribeLoadBalancerAttributes",
      "elasticloadbalancing:DescribeLoadBalancers",
      "elasticloadbalancing:DescribeTags",
      "elasticloadbalancing:DescribeTargetGroupAttributes",
      "elasticloadbalancing:DescribeTargetGroups",
      "elasticloadbalancing:DescribeTargetHealth",
      "mq:DescribeBroker",
      "mq:ListBrokers",
      "rds:DescribeDBInstances",
      # amazon.aws.s3_bucket_info lists the buckets before it reads one (names only).
      "s3:ListAllMyBuckets",
    ]
    resources = ["*"]
  }

  statement {
    sid = "ReadBucketConfiguration"
    actions = [
      "s3:GetBucketLocation",
      "s3:GetBucketOwnershipControls",
      "s3:GetBucketPolicy",
      "s3:GetBucketPolicyStatus",
      "s3:GetBucketPublicAccessBlock",
      "s3:GetBucketTagging",
      "s3:GetBucketVersioning",
      "s3:GetEncryptionConfiguration",
      "s3:GetLifecycleConfiguration",
      # HeadBucket, which amazon.aws.s3_object sends before it writes the canary, is
      # authorised as s3:ListBucket.
      "s3:ListBucket",
    ]
    resources = [var.grading_bucket_arn]
  }

  statement {
    sid = "CanaryObjects"
    # amazon.aws.s3_object reads an object's tags after every upload (GetObjectTagging).
    actions   = ["s3:PutObject", "s3:GetObject", "s3:GetObjectTagging", "s3:DeleteObject"]
    resources = ["${var.grading_bucket_arn}/${var.canary_prefix}/*"]
  }

  statement {
    sid       = "Reports"
    actions   = ["s3:PutObject"]
    resources = ["${var.grading_bucket_arn}/${var.report_prefix}/*"]
  }

  statement {
    sid       = "VerifyMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"] # PutMetricData has no resource type; the namespace condition scopes it
    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = [var.metrics_namespace]
    }
  }

  statement {
    # What verify.yml reads with verify_vantage=network, nothing else under the prefix: the
    # stack's outputs, its own broker password, the database password its RDS check logs in
    # with and the API token of its end-to-end submission (not the web app's or the workers').
    sid       = "StackSettings"
    actions   = ["ssm:GetParameter", "ssm:GetParameters"]
    resources = [for name in local.ssm_reads : "arn:${local.partition}:ssm:${var.aws_region}:${local.account_id}:parameter${var.parameter_prefix}/${name}"]
  }

  statement {
    sid       = "DecryptSettingsAndObjects"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["ssm.${var.aws_region}.amazonaws.com", "s3.${var.aws_region}.amazonaws.com"]
    }
  }

  statement {
    sid       = "EncryptObjects"
    actions   = ["kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.aws_region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "task" {
  name   = "verifier-checks"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}

# --- Task definition -------------------------------------------------------------------

resource "aws_ecs_task_definition" "verifier" {
  family                   = local.family
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = tostring(var.task_cpu)
  memory                   = tostring(var.task_memory)
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  runtime_platform {
    operating_system_family = "LINUX"
    cpu_architecture        = "X86_64"
  }

  volume {
    name = "tmp"
  }
  volume {
    name = "reports"
  }

  container_definitions = jsonencode([
    {
      name                   = local.container_name
      image                  = var.container_image
      essential              = true
      readonlyRootFilesystem = true
      mountPoints = [
        { sourceVolume = "tmp", containerPath = "/tmp", readOnly = false },
        { sourceVolume = "reports", containerPath = local.report_dir, readOnly = false },
      ]
      # The entrypoint's settings (gradestack-verify); Ansible keeps its state and fact
      # cache on the writable volume.
      environment = [
        { name = "AWS_REGION", value = var.aws_region },
        { name = "GRADESTACK_ENVIRONMENT", value = var.environment_name },
        { name = "GRADESTACK_VERIFY_VANTAGE", value = "network" },
        { name = "GRADESTACK_VERIFY_REPORT_DIR", value = local.report_dir },
        { name = "GRADESTACK_VERIFY_REPORT_S3_URI", value = local.report_uri },
        { name = "ANSIBLE_HOME", value = local.ansible_home },
        { name = "ANSIBLE_LOCAL_TEMP", value = "${local.ansible_home}/tmp" },
        { name = "ANSIBLE_CACHE_PLUGIN_CONNECTION", value = "${local.ansible_home}/facts" },
      ]
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.verifier.name
          awslogs-region        = var.aws_region
          awslogs-stream-prefix = local.container_name
        }
      }
    }
  ])
}

# --- Schedule --------------------------------------------------------------------------

data "aws_iam_policy_document" "scheduler_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["scheduler.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_iam_role" "scheduler" {
  name                 = "${var.name}-verifier-scheduler"
  assume_role_policy   = data.aws_iam_policy_document.scheduler_assume.json
  permissions_boundary = var.permissions_boundary_arn
}

# The scheduler starts the verifier family in the stack's cluster and hands ECS the two
# task roles; nothing else.
data "aws_iam_policy_document" "scheduler" {
  statement {
    sid       = "RunVerifierTasks"
    actions   = ["ecs:RunTask"]
    resources = [local.task_definition_arns]
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [var.cluster_arn]
    }
  }

  statement {
    sid       = "PassVerifierRoles"
    actions   = ["iam:PassRole"]
    resources = [aws_iam_role.execution.arn, aws_iam_role.task.arn]
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "scheduler" {
  name   = "verifier-run-task"
  role   = aws_iam_role.scheduler.id
  policy = data.aws_iam_policy_document.scheduler.json
}

resource "aws_scheduler_schedule" "verify" {
  #checkov:skip=CKV_AWS_297:The schedule's target holds no secret (the task definition ARN and the network configuration); the AWS owned key encrypts it.
  name                = "${var.name}-verify"
  group_name          = "default"
  description         = "verify.yml for ${var.environment_name} inside the VPC, ${local.rate}"
  schedule_expression = local.rate
  state               = var.schedule_enabled ? "ENABLED" : "DISABLED"

  flexible_time_window {
    mode = "OFF"
  }

  target {
    arn      = var.cluster_arn
    role_arn = aws_iam_role.scheduler.arn

    ecs_parameters {
      task_definition_arn = aws_ecs_task_definition.verifier.arn
      launch_type         = "FARGATE"
      platform_version    = "LATEST"
      task_count          = 1

      network_configuration {
        subnets          = var.private_subnet_ids
        security_groups  = [var.security_group_id]
        assign_public_ip = false
      }
    }

    # A run that cannot start within one interval is dropped: the next one is due.
    retry_policy {
      maximum_event_age_in_seconds = max(60, min(var.interval_minutes * 60, 86400))
      maximum_retry_attempts       = 3
    }
  }

  # The role's permissions must exist before the first invocation.
  depends_on = [aws_iam_role_policy.scheduler]
}
