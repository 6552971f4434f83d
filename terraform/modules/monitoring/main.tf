locals {
  # The deployment guide's alarms: 2 periods of 300 s.
  period      = 300
  evaluation  = 2
  ecs_dims    = { ClusterName = var.ecs_cluster_name, ServiceName = var.ecs_service_name }
  alarm_topic = [aws_sns_topic.alarms.arn]
}

resource "aws_sns_topic" "alarms" {
  name              = "${var.name}-alarms"
  kms_master_key_id = var.kms_key_arn
}

# The recipients from group_vars (alarm_email_addresses, alarm_https_endpoints). An e-mail
# subscription stays pending until its owner confirms it; Terraform does not wait for that.
resource "aws_sns_topic_subscription" "email" {
  for_each = toset(var.alarm_email_addresses)

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "email"
  endpoint  = each.value
}

resource "aws_sns_topic_subscription" "https" {
  for_each = toset(var.alarm_https_endpoints)

  topic_arn = aws_sns_topic.alarms.arn
  protocol  = "https"
  endpoint  = each.value
}

# --- Alarms --------------------------------------------------------------------------

resource "aws_cloudwatch_metric_alarm" "ecs_cpu_high" {
  alarm_name          = "${var.name}-ecs-cpu-high"
  alarm_description   = "Grading service CPU utilisation above ${var.ecs_cpu_threshold} % for ${local.evaluation} x ${local.period} s"
  namespace           = "AWS/ECS"
  metric_name         = "CPUUtilization"
  dimensions          = local.ecs_dims
  statistic           = "Average"
  period              = local.period
  evaluation_periods  = local.evaluation
  threshold           = var.ecs_cpu_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_topic
  ok_actions          = local.alarm_topic
}

resource "aws_cloudwatch_metric_alarm" "ecs_memory_high" {
  alarm_name          = "${var.name}-ecs-memory-high"
  alarm_description   = "Grading service memory utilisation above ${var.ecs_memory_threshold} % for ${local.evaluation} x ${local.period} s"
  namespace           = "AWS/ECS"
  metric_name         = "MemoryUtilization"
  dimensions          = local.ecs_dims
  statistic           = "Average"
  period              = local.period
  evaluation_periods  = local.evaluation
  threshold           = var.ecs_memory_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_topic
  ok_actions          = local.alarm_topic
}

resource "aws_cloudwatch_metric_alarm" "queue_size_high" {
  for_each = toset(var.mq_metric_broker_names)

  alarm_name          = "${var.name}-mq-queue-size-high-${each.key}"
  alarm_description   = "${var.requests_queue} holds more than ${var.queue_size_threshold} messages on ${each.key} for ${local.evaluation} x ${local.period} s"
  namespace           = "AWS/AmazonMQ"
  metric_name         = "QueueSize"
  dimensions          = { Broker = each.key, Queue = var.requests_queue }
  statistic           = "Average"
  period              = local.period
  evaluation_periods  = local.evaluation
  threshold           = var.queue_size_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching" # the standby publishes nothing
  alarm_actions       = local.alarm_topic
  ok_actions          = local.alarm_topic
}

resource "aws_cloudwatch_metric_alarm" "alb_5xx" {
  alarm_name          = "${var.name}-alb-5xx"
  alarm_description   = "More than ${var.alb_5xx_threshold} 5xx responses (ALB and targets) per ${local.period} s, ${local.evaluation} periods in a row"
  evaluation_periods  = local.evaluation
  threshold           = var.alb_5xx_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_topic
  ok_actions          = local.alarm_topic

  metric_query {
    id          = "errors"
    expression  = "FILL(elb, 0) + FILL(target, 0)"
    label       = "5xx responses"
    return_data = true
  }

  metric_query {
    id = "elb"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_ELB_5XX_Count"
      dimensions  = { LoadBalancer = var.load_balancer_arn_suffix }
      stat        = "Sum"
      period      = local.period
    }
  }

  metric_query {
    id = "target"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_Target_5XX_Count"
      dimensions  = { LoadBalancer = var.load_balancer_arn_suffix, TargetGroup = var.target_group_arn_suffix }
      stat        = "Sum"
      period      = local.period
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "response_time" {
  alarm_name          = "${var.name}-alb-response-time"
  alarm_description   = "Average target response time above ${var.response_time_threshold_seconds} s for ${local.evaluation} x ${local.period} s"
  namespace           = "AWS/ApplicationELB"
  metric_name         = "TargetResponseTime"
  dimensions          = { LoadBalancer = var.load_balancer_arn_suffix, TargetGroup = var.target_group_arn_suffix }
  statistic           = "Average"
  period              = local.period
  evaluation_periods  = local.evaluation
  threshold           = var.response_time_threshold_seconds
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_topic
  ok_actions          = local.alarm_topic
}

resource "aws_cloudwatch_metric_alarm" "db_cpu" {
  alarm_name          = "${var.name}-db-cpu-high"
  alarm_description   = "Database CPU utilisation above ${var.db_cpu_threshold} % for ${local.evaluation} x ${local.period} s"
  namespace           = "AWS/RDS"
  metric_name         = "CPUUtilization"
  dimensions          = { DBInstanceIdentifier = var.db_instance_identifier }
  statistic           = "Average"
  period              = local.period
  evaluation_periods  = local.evaluation
  threshold           = var.db_cpu_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "missing"
  alarm_actions       = local.alarm_topic
  ok_actions          = local.alarm_topic
}

resource "aws_cloudwatch_metric_alarm" "db_free_storage" {
  alarm_name          = "${var.name}-db-free-storage-low"
  alarm_description   = "Database free storage below ${var.db_free_storage_threshold_bytes} bytes"
  namespace           = "AWS/RDS"
  metric_name         = "FreeStorageSpace"
  dimensions          = { DBInstanceIdentifier = var.db_instance_identifier }
  statistic           = "Minimum"
  period              = local.period
  evaluation_periods  = 1
  threshold           = var.db_free_storage_threshold_bytes
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "missing"
  alarm_actions       = local.alarm_topic
  ok_actions          = local.alarm_topic
}

# --- Broker, dead-letter queue, load balancer health, running tasks, connections (issue #17) ---

locals {
  brokers = { for i, b in var.mq_metric_broker_names : "b${i}" => b }
  # One alarm per broker metric over every broker instance (the standby publishes nothing).
  broker_alarms = {
    cpu   = { metric = "CpuUtilization", threshold = var.mq_cpu_threshold, what = "CPU utilisation" }
    heap  = { metric = "HeapUsage", threshold = var.mq_heap_threshold, what = "JVM heap usage" }
    store = { metric = "StorePercentUsage", threshold = var.mq_store_threshold, what = "message store usage" }
  }
}

resource "aws_cloudwatch_metric_alarm" "dlq_messages" {
  alarm_name          = "${var.name}-mq-dead-letters"
  alarm_description   = "${var.dlq_queue} holds more than ${var.dlq_messages_threshold} messages: grading requests that failed every redelivery; inspect and replay them"
  evaluation_periods  = 1
  threshold           = var.dlq_messages_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching" # the queue exists only after its first message
  alarm_actions       = local.alarm_topic
  ok_actions          = local.alarm_topic

  metric_query {
    id          = "dlq"
    expression  = join(" + ", [for k, _ in local.brokers : "FILL(${k}, 0)"])
    label       = "Dead-lettered grading requests"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = local.brokers
    content {
      id = metric_query.key
      metric {
        namespace   = "AWS/AmazonMQ"
        metric_name = "QueueSize"
        dimensions  = { Broker = metric_query.value, Queue = var.dlq_queue }
        stat        = "Maximum"
        period      = 60
      }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "broker" {
  for_each = local.broker_alarms

  alarm_name          = "${var.name}-mq-${each.key}-high"
  alarm_description   = "Broker ${each.value.what} above ${each.value.threshold} % on the busiest instance for ${local.evaluation} x ${local.period} s"
  evaluation_periods  = local.evaluation
  threshold           = each.value.threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_topic
  ok_actions          = local.alarm_topic

  metric_query {
    id          = "busiest"
    expression  = "MAX([${join(", ", keys(local.brokers))}])"
    label       = "Broker ${each.value.what} (busiest instance)"
    return_data = true
  }

  dynamic "metric_query" {
    for_each = local.brokers
    content {
      id = metric_query.key
      metric {
        namespace   = "AWS/AmazonMQ"
        metric_name = each.value.metric
        dimensions  = { Broker = metric_query.value }
        stat        = "Average"
        period      = local.period
      }
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "alb_unhealthy_hosts" {
  alarm_name          = "${var.name}-alb-unhealthy-hosts"
  alarm_description   = "More than ${var.alb_unhealthy_hosts_threshold} web hosts fail the ALB health check for 3 x 60 s"
  namespace           = "AWS/ApplicationELB"
  metric_name         = "UnHealthyHostCount"
  dimensions          = { LoadBalancer = var.load_balancer_arn_suffix, TargetGroup = var.target_group_arn_suffix }
  statistic           = "Maximum"
  period              = 60
  evaluation_periods  = 3
  threshold           = var.alb_unhealthy_hosts_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_topic
  ok_actions          = local.alarm_topic
}

resource "aws_cloudwatch_metric_alarm" "alb_5xx_rate" {
  alarm_name          = "${var.name}-alb-5xx-rate"
  alarm_description   = "5xx responses (ALB and web hosts) above ${var.alb_5xx_percent_threshold} % of requests for ${local.evaluation} x ${local.period} s"
  evaluation_periods  = local.evaluation
  threshold           = var.alb_5xx_percent_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_topic
  ok_actions          = local.alarm_topic

  metric_query {
    id          = "rate"
    expression  = "100 * (FILL(elb, 0) + FILL(target, 0)) / IF(FILL(requests, 0) > 0, requests, 1)"
    label       = "5xx responses in percent of requests"
    return_data = true
  }

  metric_query {
    id = "elb"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_ELB_5XX_Count"
      dimensions  = { LoadBalancer = var.load_balancer_arn_suffix }
      stat        = "Sum"
      period      = local.period
    }
  }

  metric_query {
    id = "target"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "HTTPCode_Target_5XX_Count"
      dimensions  = { LoadBalancer = var.load_balancer_arn_suffix, TargetGroup = var.target_group_arn_suffix }
      stat        = "Sum"
      period      = local.period
    }
  }

  metric_query {
    id = "requests"
    metric {
      namespace   = "AWS/ApplicationELB"
      metric_name = "RequestCount"
      dimensions  = { LoadBalancer = var.load_balancer_arn_suffix }
      stat        = "Sum"
      period      = local.period
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "ecs_tasks_missing" {
  alarm_name          = "${var.name}-ecs-tasks-below-desired"
  alarm_description   = "The grading service runs fewer tasks than desired for ${var.ecs_tasks_missing_minutes} minutes (tasks failing to start or crashing)"
  evaluation_periods  = var.ecs_tasks_missing_minutes
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "notBreaching"
  alarm_actions       = local.alarm_topic
  ok_actions          = local.alarm_topic

  metric_query {
    id          = "missing"
    expression  = "desired - running"
    label       = "Desired minus running grading tasks"
    return_data = true
  }

  metric_query {
    id = "desired"
    metric {
      namespace   = "ECS/ContainerInsights"
      metric_name = "DesiredTaskCount"
      dimensions  = local.ecs_dims
      stat        = "Minimum"
      period      = 60
    }
  }

  metric_query {
    id = "running"
    metric {
      namespace   = "ECS/ContainerInsights"
      metric_name = "RunningTaskCount"
      dimensions  = local.ecs_dims
      stat        = "Maximum"
      period      = 60
    }
  }
}

resource "aws_cloudwatch_metric_alarm" "db_connections" {
  alarm_name          = "${var.name}-db-connections-high"
  alarm_description   = "More than ${var.db_connections_threshold} database connections for ${local.evaluation} x ${local.period} s"
  namespace           = "AWS/RDS"
  metric_name         = "DatabaseConnections"
  dimensions          = { DBInstanceIdentifier = var.db_instance_identifier }
  statistic           = "Maximum"
  period              = local.period
  evaluation_periods  = local.evaluation
  threshold           = var.db_connections_threshold
  comparison_operator = "GreaterThanThreshold"
  treat_missing_data  = "missing"
  alarm_actions       = local.alarm_topic
  ok_actions          = local.alarm_topic
}

# --- Dashboard -----------------------------------------------------------------------

resource "aws_cloudwatch_dashboard" "this" {
  dashboard_name = var.name
  dashboard_body = jsonencode({
    widgets = [
      {
        type = "metric", x = 0, y = 0, width = 12, height = 6
        properties = {
          title  = "ECS Grading Service Metrics"
          region = var.aws_region
          period = local.period
          stat   = "Average"
          metrics = [
            ["AWS/ECS", "CPUUtilization", "ClusterName", var.ecs_cluster_name, "ServiceName", var.ecs_service_name],
            ["AWS/ECS", "MemoryUtilization", "ClusterName", var.ecs_cluster_name, "ServiceName", var.ecs_service_name],
          ]
        }
      },
      {
        type = "metric", x = 12, y = 0, width = 12, height = 6
        properties = {
          title  = "Grading queue and running tasks"
          region = var.aws_region
          period = 60
          stat   = "Average"
          metrics = concat(
            [for b in var.mq_metric_broker_names : ["AWS/AmazonMQ", "QueueSize", "Broker", b, "Queue", var.requests_queue]],
            [["ECS/ContainerInsights", "RunningTaskCount", "ClusterName", var.ecs_cluster_name, "ServiceName", var.ecs_service_name, { yAxis = "right" }]],
          )
        }
      },
      {
        type = "metric", x = 0, y = 6, width = 12, height = 6
        properties = {
          title  = "Load balancer"
          region = var.aws_region
          period = local.period
          metrics = [
            ["AWS/ApplicationELB", "HTTPCode_Target_5XX_Count", "LoadBalancer", var.load_balancer_arn_suffix, "TargetGroup", var.target_group_arn_suffix, { stat = "Sum" }],
            ["AWS/ApplicationELB", "HTTPCode_ELB_5XX_Count", "LoadBalancer", var.load_balancer_arn_suffix, { stat = "Sum" }],
            ["AWS/ApplicationELB", "TargetResponseTime", "LoadBalancer", var.load_balancer_arn_suffix, "TargetGroup", var.target_group_arn_suffix, { stat = "Average", yAxis = "right" }],
            ["AWS/ApplicationELB", "UnHealthyHostCount", "LoadBalancer", var.load_balancer_arn_suffix, "TargetGroup", var.target_group_arn_suffix, { stat = "Maximum" }],
          ]
        }
      },
      {
        type = "metric", x = 12, y = 6, width = 12, height = 6
        properties = {
          title  = "Database"
          region = var.aws_region
          period = local.period
          metrics = [
            ["AWS/RDS", "CPUUtilization", "DBInstanceIdentifier", var.db_instance_identifier, { stat = "Average" }],
            ["AWS/RDS", "FreeStorageSpace", "DBInstanceIdentifier", var.db_instance_identifier, { stat = "Minimum", yAxis = "right" }],
            ["AWS/RDS", "DatabaseConnections", "DBInstanceIdentifier", var.db_instance_identifier, { stat = "Maximum" }],
          ]
        }
      },
      {
        type = "metric", x = 0, y = 12, width = 8, height = 6
        properties = {
          title  = "Grading backlog per task (the autoscaler's figure)"
          region = var.aws_region
          period = 60
          stat   = "Average"
          metrics = concat(
            [[{ id = "backlog", expression = "(${join(" + ", [for k, _ in local.brokers : "FILL(${k}, 0)"])}) / IF(tasks > 0, tasks, 1)", label = "Queued requests per running task" }]],
            [for k, b in local.brokers : ["AWS/AmazonMQ", "QueueSize", "Broker", b, "Queue", var.requests_queue, { id = k, visible = false }]],
            [["ECS/ContainerInsights", "RunningTaskCount", "ClusterName", var.ecs_cluster_name, "ServiceName", var.ecs_service_name, { id = "tasks", visible = false }]],
          )
          annotations = { horizontal = [{ label = "autoscaling target", value = var.backlog_per_task }] }
        }
      },
      {
        type = "metric", x = 8, y = 12, width = 8, height = 6
        properties = {
          title   = "Dead-letter queue (${var.dlq_queue})"
          region  = var.aws_region
          period  = 60
          stat    = "Maximum"
          metrics = [for b in var.mq_metric_broker_names : ["AWS/AmazonMQ", "QueueSize", "Broker", b, "Queue", var.dlq_queue]]
        }
      },
      {
        type = "metric", x = 16, y = 12, width = 8, height = 6
        properties = {
          title  = "Broker health (percent)"
          region = var.aws_region
          period = local.period
          stat   = "Average"
          metrics = flatten([
            for b in var.mq_metric_broker_names : [
              ["AWS/AmazonMQ", "CpuUtilization", "Broker", b],
              ["AWS/AmazonMQ", "HeapUsage", "Broker", b],
              ["AWS/AmazonMQ", "StorePercentUsage", "Broker", b],
            ]
          ])
          yAxis = { left = { min = 0, max = 100 } }
        }
      },
      {
        type = "log", x = 0, y = 18, width = 24, height = 6
        properties = {
          title  = "Grading worker errors"
          region = var.aws_region
          query  = "SOURCE '${var.ecs_log_group_name}' | ${local.error_query}"
          view   = "table"
        }
      },
      {
        type = "metric", x = 0, y = 24, width = 12, height = 6
        properties = {
          title  = "Verification: failed checks and heartbeat (${var.verify_interval_minutes} min runs)"
          region = var.aws_region
          period = local.verify_period
          stat   = "Maximum"
          metrics = [
            [var.verify_metrics_namespace, "FailedChecks", "Environment", var.environment_name, { label = "Failed checks" }],
            [var.verify_metrics_namespace, "Heartbeat", "Environment", var.environment_name, { label = "Heartbeat", stat = "Sum" }],
          ]
          yAxis = { left = { min = 0 } }
        }
      },
      {
        type = "metric", x = 12, y = 24, width = 12, height = 6
        properties = {
          title  = "Verification: failed checks by check (1 = failed)"
          region = var.aws_region
          period = local.verify_period
          stat   = "Maximum"
          metrics = [
            [{
              id         = "checks"
              expression = "SEARCH('{${var.verify_metrics_namespace},Check,Environment} MetricName=\"CheckFailed\" Environment=\"${var.environment_name}\"', 'Maximum', ${local.verify_period})"
            }],
          ]
          yAxis = { left = { min = 0, max = 1 } }
        }
      },
    ]
  })
}

# --- Logs Insights -------------------------------------------------------------------

locals {
  error_query = "fields @timestamp, @message | filter @message like /ERROR/ | sort @timestamp desc | limit 100"
}

resource "aws_cloudwatch_query_definition" "errors" {
  name            = "${var.name}/grading-worker-errors"
  log_group_names = [var.ecs_log_group_name]
  query_string    = local.error_query
}

# --- Scheduled verification (issue 16): the verify runs' metrics ------------------------
# Each run publishes FailedChecks and Heartbeat (dimension Environment) every
# verify_interval_minutes; the alarms evaluate one period per interval.

locals {
  verify_period     = var.verify_interval_minutes * 60
  verify_dimensions = { Environment = var.environment_name }
}

resource "aws_cloudwatch_metric_alarm" "verify_failed_checks" {
  alarm_name          = "${var.name}-verify-failed-checks"
  alarm_description   = "The last verify run of ${var.environment_name} failed at least one check: its JUnit report names them (README, Operations: verification)."
  namespace           = var.verify_metrics_namespace
  metric_name         = "FailedChecks"
  dimensions          = local.verify_dimensions
  statistic           = "Maximum"
  period              = local.verify_period
  evaluation_periods  = 1
  threshold           = 0
  comparison_operator = "GreaterThanThreshold"
  # No run, no verdict: the heartbeat alarm reports missing runs.
  treat_missing_data = "notBreaching"
  alarm_actions      = local.alarm_topic
  ok_actions         = local.alarm_topic
}

resource "aws_cloudwatch_metric_alarm" "verify_heartbeat_missing" {
  count = var.verify_heartbeat_alarm ? 1 : 0

  alarm_name          = "${var.name}-verify-heartbeat-missing"
  alarm_description   = "No verify run of ${var.environment_name} reported for 2 x ${var.verify_interval_minutes} min: the scheduled verifier task does not start or does not finish (README, Operations: verification)."
  namespace           = var.verify_metrics_namespace
  metric_name         = "Heartbeat"
  dimensions          = local.verify_dimensions
  statistic           = "Sum"
  period              = local.verify_period
  evaluation_periods  = 2
  datapoints_to_alarm = 2
  threshold           = 1
  comparison_operator = "LessThanThreshold"
  treat_missing_data  = "breaching"
  alarm_actions       = local.alarm_topic
  ok_actions          = local.alarm_topic
}
