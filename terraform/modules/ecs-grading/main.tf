locals {
  cluster_name   = var.name
  service_name   = "${var.name}-grading-service" # <cluster>-grading-service, the name the deployment guide's commands use
  container_name = "grading-worker"
  health_port    = 8080
  cache_dir      = "/var/cache/gradestack"
  log_group_name = "/ecs/${var.name}-grading"
  # The worker stops waiting for its running job this long after SIGTERM, leaving 10 s of
  # stopTimeout to hand queued requests back to the broker and exit before SIGKILL.
  shutdown_grace_seconds = max(var.stop_timeout_seconds - 10, 5)
}

data "aws_partition" "current" {}

# --- Image repository ----------------------------------------------------------------

resource "aws_ecr_repository" "grading" {
  name                 = "${var.name}-grading"
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

resource "aws_ecr_lifecycle_policy" "grading" {
  repository = aws_ecr_repository.grading.name
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
        description  = "Keep the newest ${var.ecr_keep_images} images (rollback targets)"
        selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = var.ecr_keep_images }
        action       = { type = "expire" }
      },
    ]
  })
}

# --- Cluster and logs ----------------------------------------------------------------

resource "aws_ecs_cluster" "this" {
  name = local.cluster_name

  # The sizing rules are checked on the cluster, which depends on nothing, so that a bad
  # size is reported in the same plan as errors elsewhere (the service waits for the broker).
  lifecycle {
    precondition {
      condition     = var.desired_count <= var.max_capacity
      error_message = "ecs_desired_count must not exceed ecs_max_capacity."
    }
    precondition {
      condition = (
        (var.task_cpu == 256 && contains([512, 1024, 2048], var.task_memory)) ||
        (var.task_cpu == 512 && var.task_memory >= 1024 && var.task_memory <= 4096 && var.task_memory % 1024 == 0) ||
        (var.task_cpu == 1024 && var.task_memory >= 2048 && var.task_memory <= 8192 && var.task_memory % 1024 == 0) ||
        (var.task_cpu == 2048 && var.task_memory >= 4096 && var.task_memory <= 16384 && var.task_memory % 1024 == 0) ||
        (var.task_cpu == 4096 && var.task_memory >= 8192 && var.task_memory <= 30720 && var.task_memory % 1024 == 0) ||
        (var.task_cpu == 8192 && var.task_memory >= 16384 && var.task_memory <= 61440 && var.task_memory % 4096 == 0) ||
        (var.task_cpu == 16384 && var.task_memory >= 32768 && var.task_memory <= 122880 && var.task_memory % 8192 == 0)
      )
      error_message = "ecs_task_cpu/ecs_task_memory is not a Fargate size: 256 CPU takes 512, 1024 or 2048 MiB; 512 takes 1-4 GiB; 1024 takes 2-8 GiB; 2048 takes 4-16 GiB; 4096 takes 8-30 GiB (1 GiB steps); 8192 takes 16-60 GiB (4 GiB steps); 16384 takes 32-120 GiB (8 GiB steps)."
    }
  }

  setting {
    name  = "containerInsights"
    value = "enabled" # RunningTaskCount for the autoscaler, CPU and memory for the dashboard
  }
}

resource "aws_cloudwatch_log_group" "grading" {
  name              = local.log_group_name
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

# --- Roles ---------------------------------------------------------------------------

data "aws_iam_policy_document" "tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

# Execution role: what ECS itself does before the container starts (pull, logs, secrets).
resource "aws_iam_role" "execution" {
  name                 = "${var.name}-grading-execution"
  assume_role_policy   = data.aws_iam_policy_document.tasks_assume.json
  permissions_boundary = var.permissions_boundary_arn
}

resource "aws_iam_role_policy_attachment" "execution" {
  role       = aws_iam_role.execution.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"
}

data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "ReadBrokerCredentials"
    actions   = ["ssm:GetParameters"]
    resources = [var.mq_username_parameter_arn, var.mq_password_parameter_arn]
  }
  statement {
    sid       = "DecryptSecretsAndImages"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["ssm.${var.aws_region}.amazonaws.com", "ecr.${var.aws_region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "execution" {
  name   = "grading-secrets"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# Task role: what the worker may do. Read test data, write results; nothing else.
resource "aws_iam_role" "task" {
  name                 = "${var.name}-grading-task"
  assume_role_policy   = data.aws_iam_policy_document.tasks_assume.json
  permissions_boundary = var.permissions_boundary_arn
}

data "aws_iam_policy_document" "task" {
  statement {
    sid       = "ReadProblems"
    actions   = ["s3:GetObject"]
    resources = ["${var.grading_bucket_arn}/problems/*"]
  }
  statement {
    sid       = "ListProblems"
    actions   = ["s3:ListBucket"]
    resources = [var.grading_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["problems/*"]
    }
  }
  statement {
    sid       = "WriteResults"
    actions   = ["s3:PutObject"]
    resources = ["${var.grading_bucket_arn}/results/*"]
  }
  statement {
    sid       = "UseBucketKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["s3.${var.aws_region}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "task" {
  name   = "grading-bucket"
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}

# --- Task definition and service -------------------------------------------------------

resource "aws_ecs_task_definition" "grading" {
  family                   = "${var.name}-grading-worker"
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

  # The root filesystem is read-only; compilers and the sandbox write to these task-local volumes.
  volume {
    name = "tmp"
  }
  volume {
    name = "cache"
  }

  container_definitions = jsonencode([
    {
      name                   = local.container_name
      image                  = var.container_image
      essential              = true
      readonlyRootFilesystem = true
      # SIGTERM, then SIGKILL after stopTimeout (scale-in, rollout): the worker finishes its
      # running job within WORKER_SHUTDOWN_GRACE_S, hands unstarted ones back, and exits first.
      stopTimeout  = var.stop_timeout_seconds
      portMappings = [{ containerPort = local.health_port, protocol = "tcp" }]
      mountPoints = [
        { sourceVolume = "tmp", containerPath = "/tmp", readOnly = false },
        { sourceVolume = "cache", containerPath = local.cache_dir, readOnly = false },
      ]
      environment = [
        { name = "AWS_REGION", value = var.aws_region },
        { name = "GRADING_BUCKET", value = var.grading_bucket_name },
        { name = "MQ_ENDPOINTS", value = var.mq_endpoints },
        { name = "MQ_HEARTBEAT_MS", value = "10000" },
        { name = "WORKER_CONCURRENCY", value = tostring(var.worker_concurrency) },
        { name = "HEALTH_PORT", value = tostring(local.health_port) },
        { name = "PROBLEM_CACHE_DIR", value = "${local.cache_dir}/problems" },
        { name = "WORKER_SHUTDOWN_GRACE_S", value = tostring(local.shutdown_grace_seconds) },
      ]
      secrets = [
        { name = "MQ_USERNAME", valueFrom = var.mq_username_parameter_arn },
        { name = "MQ_PASSWORD", valueFrom = var.mq_password_parameter_arn },
      ]
      healthCheck = {
        # python is in the image by contract; curl may not be.
        command     = ["CMD", "python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:${local.health_port}/health', timeout=4)"]
        interval    = 30
        timeout     = 5
        retries     = 3
        startPeriod = 60
      }
      logConfiguration = {
        logDriver = "awslogs"
        options = {
          awslogs-group         = aws_cloudwatch_log_group.grading.name
          awslogs-region        = var.aws_region
          awslogs-stream-prefix = local.container_name
        }
      }
    }
  ])
}

resource "aws_ecs_service" "grading" {
  name                               = local.service_name
  cluster                            = aws_ecs_cluster.this.id
  task_definition                    = aws_ecs_task_definition.grading.arn
  desired_count                      = var.desired_count
  launch_type                        = "FARGATE"
  platform_version                   = "LATEST"
  deployment_minimum_healthy_percent = 100
  deployment_maximum_percent         = 200
  enable_ecs_managed_tags            = true
  propagate_tags                     = "SERVICE"

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [var.security_group_id]
    assign_public_ip = false
  }

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  lifecycle {
    # The autoscaler owns the running count once the service exists.
    ignore_changes = [desired_count]
  }
}

# --- Autoscaling on backlog per task ------------------------------------------------------

resource "aws_appautoscaling_target" "grading" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.grading.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.desired_count
  # desired 0 is the gradual rollback's "scale the service down": pin the maximum to 0 as well.
  max_capacity = var.desired_count == 0 ? 0 : var.max_capacity
}

resource "aws_appautoscaling_policy" "backlog" {
  name               = "${var.name}-grading-backlog-per-task"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.grading.service_namespace
  resource_id        = aws_appautoscaling_target.grading.resource_id
  scalable_dimension = aws_appautoscaling_target.grading.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value       = var.backlog_per_task
    scale_out_cooldown = 60
    scale_in_cooldown  = 300

    customized_metric_specification {
      # The brokers' sum, then per task: an active/standby pair reports QueueSize per broker instance.
      metrics {
        id          = "backlog"
        label       = "Queued grading requests per running task"
        expression  = "(${join(" + ", [for i, _ in var.mq_metric_broker_names : "FILL(queue${i}, 0)"])}) / IF(tasks > 0, tasks, 1)"
        return_data = true
      }

      dynamic "metrics" {
        for_each = var.mq_metric_broker_names
        content {
          id          = "queue${metrics.key}"
          return_data = false
          metric_stat {
            stat = "Average"
            metric {
              namespace   = "AWS/AmazonMQ"
              metric_name = "QueueSize"
              dimensions {
                name  = "Broker"
                value = metrics.value
              }
              dimensions {
                name  = "Queue"
                value = var.requests_queue
              }
            }
          }
        }
      }

      metrics {
        id          = "tasks"
        return_data = false
        metric_stat {
          stat = "Average"
          metric {
            namespace   = "ECS/ContainerInsights"
            metric_name = "RunningTaskCount"
            dimensions {
              name  = "ClusterName"
              value = aws_ecs_cluster.this.name
            }
            dimensions {
              name  = "ServiceName"
              value = aws_ecs_service.grading.name
            }
          }
        }
      }
    }
  }
}
