data "aws_region" "current" {}
data "aws_partition" "current" {}

locals {
  https          = var.certificate_arn != null
  bundle_prefix  = "artifacts/web-bundle/"
  release_param  = "${var.parameter_prefix}/web/release"
  instance_tags  = { Name = "${var.name}-web", Role = "web", Environment = var.environment_name }
  parameter_path = trimprefix(var.parameter_prefix, "/")
  parameter_arn  = "arn:${data.aws_partition.current.partition}:ssm:${data.aws_region.current.name}:*:parameter/${local.parameter_path}"
  # The parameters a web host reads at boot, below the prefix: the release, the stack's
  # database and broker settings for the web app, the operator's web_secret_key and the
  # optional web_* overrides under web/settings/.
  web_parameter_paths = ["db", "mq/web", "web/settings"]
  web_parameters      = concat(["web/release", "mq/endpoints", "web_secret_key"], [for path in local.web_parameter_paths : "${path}/*"])
}

# Debian's own account publishes the official images (https://wiki.debian.org/Cloud/AmazonEC2Image).
data "aws_ami" "debian" {
  count = var.ami_id == null ? 1 : 0

  most_recent = true
  owners      = ["136693071363"]

  filter {
    name   = "name"
    values = ["debian-12-amd64-*"]
  }
  filter {
    name   = "architecture"
    values = ["x86_64"]
  }
  filter {
    name   = "virtualization-type"
    values = ["hvm"]
  }
}

# --- Instance role: SSM Session Manager, CloudWatch agent, bundle and settings -------

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "web" {
  name                 = "${var.name}-web"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  permissions_boundary = var.permissions_boundary_arn
}

resource "aws_iam_role_policy_attachment" "ssm_core" {
  role       = aws_iam_role.web.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/AmazonSSMManagedInstanceCore"
}

resource "aws_iam_role_policy_attachment" "cloudwatch_agent" {
  role       = aws_iam_role.web.name
  policy_arn = "arn:${data.aws_partition.current.partition}:iam::aws:policy/CloudWatchAgentServerPolicy"
}

data "aws_iam_policy_document" "web" {
  statement {
    sid       = "ReadReleaseBundles"
    actions   = ["s3:GetObject"]
    resources = ["${var.grading_bucket_arn}/${local.bundle_prefix}*"]
  }
  statement {
    sid       = "ReadProblemsAndResults"
    actions   = ["s3:GetObject"]
    resources = ["${var.grading_bucket_arn}/problems/*", "${var.grading_bucket_arn}/results/*"]
  }
  statement {
    # results/_staff/<id>/ holds full reports (hidden tests' expected tokens, program output):
    # the web app never links it, and this role cannot even presign a working link to it.
    sid       = "NoStaffArtifacts"
    effect    = "Deny"
    actions   = ["s3:GetObject"]
    resources = ["${var.grading_bucket_arn}/results/_staff/*"]
  }
  statement {
    sid       = "ListProblemsAndResults"
    actions   = ["s3:ListBucket"]
    resources = [var.grading_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["problems/*", "results/*", "${local.bundle_prefix}*"]
    }
  }
  statement {
    # What the boot script reads (templates/user_data.sh.tftpl), nothing else under the
    # prefix: the workers' and the verifier's broker accounts and the operator's other
    # secrets stay out of a web host's reach.
    sid       = "ReadWebSettings"
    actions   = ["ssm:GetParameter", "ssm:GetParameters"]
    resources = [for name in local.web_parameters : "${local.parameter_arn}/${name}"]
  }
  statement {
    # GetParametersByPath authorises against the path itself (and covers what lies below it).
    sid       = "ReadWebSettingPaths"
    actions   = ["ssm:GetParametersByPath"]
    resources = [for path in local.web_parameter_paths : "${local.parameter_arn}/${path}"]
  }
  statement {
    sid       = "DecryptSettingsAndObjects"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
    condition {
      test     = "StringEquals"
      variable = "kms:ViaService"
      values   = ["ssm.${data.aws_region.current.name}.amazonaws.com", "s3.${data.aws_region.current.name}.amazonaws.com"]
    }
  }
}

resource "aws_iam_role_policy" "web" {
  name   = "gradestack-web"
  role   = aws_iam_role.web.id
  policy = data.aws_iam_policy_document.web.json
}

resource "aws_iam_instance_profile" "web" {
  name = "${var.name}-web"
  role = aws_iam_role.web.name
}

# --- Launch template -----------------------------------------------------------------

resource "aws_launch_template" "web" {
  name_prefix            = "${var.name}-web-"
  description            = "gradestack web host (${var.environment_name}): Debian 12, configures itself from the current release at boot"
  image_id               = var.ami_id != null ? var.ami_id : data.aws_ami.debian[0].id
  instance_type          = var.instance_type
  vpc_security_group_ids = [var.web_security_group_id]
  update_default_version = true

  iam_instance_profile {
    arn = aws_iam_instance_profile.web.arn
  }

  user_data = base64encode(templatefile("${path.module}/templates/user_data.sh.tftpl", {
    environment_name     = var.environment_name
    aws_region           = data.aws_region.current.name
    bucket               = var.grading_bucket_name
    bundle_prefix        = local.bundle_prefix
    release_parameter    = local.release_param
    parameter_prefix     = var.parameter_prefix
    release_wait_seconds = var.release_wait_seconds
    aws_endpoint_url     = "" # AWS's own endpoints; tests/local/test_web_boot.py renders an emulator's
  }))

  metadata_options {
    http_endpoint               = "enabled"
    http_tokens                 = "required" # IMDSv2 only
    http_put_response_hop_limit = 1
    instance_metadata_tags      = "enabled"
  }

  block_device_mappings {
    device_name = "/dev/xvda"
    ebs {
      volume_size           = var.root_volume_size
      volume_type           = "gp3"
      encrypted             = true
      kms_key_id            = var.kms_key_arn
      delete_on_termination = true
    }
  }

  monitoring {
    enabled = true
  }

  tag_specifications {
    resource_type = "instance"
    tags          = local.instance_tags
  }

  tag_specifications {
    resource_type = "volume"
    tags          = local.instance_tags
  }
}

# --- Load balancer -------------------------------------------------------------------

resource "aws_lb" "this" {
  #checkov:skip=CKV2_AWS_20:Port 80 redirects to HTTPS whenever certificate_arn is set (see aws_lb_listener.http); without a certificate HTTP is the only way in.
  #checkov:skip=CKV2_AWS_28:AWS WAF managed rule sets block the site's core traffic: submissions are source code (SQL-, XSS- and shell-looking bodies) larger than the 8 KB body inspection limit.
  name                       = "${var.name}-alb"
  load_balancer_type         = "application"
  internal                   = false
  subnets                    = var.public_subnet_ids
  security_groups            = [var.alb_security_group_id]
  drop_invalid_header_fields = true
  enable_deletion_protection = var.enable_deletion_protection
  idle_timeout               = var.idle_timeout_seconds

  access_logs {
    bucket  = var.log_bucket_name
    prefix  = var.alb_log_prefix
    enabled = true
  }
}

resource "aws_lb_target_group" "web" {
  #checkov:skip=CKV_AWS_378:TLS ends at the ALB; ALB-to-host traffic stays in the private subnets and the web hosts accept port 80 from the ALB's security group only.
  name                 = "${var.name}-web"
  port                 = var.web_port
  protocol             = "HTTP"
  vpc_id               = var.vpc_id
  target_type          = "instance"
  deregistration_delay = 30

  health_check {
    enabled             = true
    path                = var.health_check_path
    protocol            = "HTTP"
    matcher             = "200"
    interval            = 15
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_lb_listener" "http" {
  #checkov:skip=CKV_AWS_2:Port 80 redirects to HTTPS whenever certificate_arn is set; without a certificate (dev, the emulator) plain HTTP is the only way in.
  #checkov:skip=CKV2_AWS_20:Same as CKV_AWS_2: the redirect is conditional on a certificate being configured.
  #checkov:skip=CKV_AWS_103:This listener speaks HTTP (no TLS policy applies); the HTTPS listener uses ELBSecurityPolicy-TLS13-1-2-2021-06.
  load_balancer_arn = aws_lb.this.arn
  port              = 80
  protocol          = "HTTP"

  dynamic "default_action" {
    for_each = local.https ? [1] : []
    content {
      type = "redirect"
      redirect {
        port        = "443"
        protocol    = "HTTPS"
        status_code = "HTTP_301"
      }
    }
  }

  dynamic "default_action" {
    for_each = local.https ? [] : [1]
    content {
      type             = "forward"
      target_group_arn = aws_lb_target_group.web.arn
    }
  }
}

resource "aws_lb_listener" "https" {
  count = local.https ? 1 : 0

  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.web.arn
  }
}

# --- Auto Scaling Group --------------------------------------------------------------

resource "aws_autoscaling_group" "web" {
  name                      = "${var.name}-web"
  vpc_zone_identifier       = var.private_subnet_ids
  min_size                  = var.min_size
  max_size                  = var.max_size
  desired_capacity          = var.desired_capacity
  target_group_arns         = [aws_lb_target_group.web.arn]
  health_check_type         = "ELB"
  health_check_grace_period = 900 # package installation and the site playbook run at first boot
  default_instance_warmup   = 300
  # Hosts only become healthy once a release is published (deploy.yml does that after
  # Terraform), so apply must not wait for them.
  wait_for_capacity_timeout = "0"
  termination_policies      = ["OldestLaunchTemplate", "OldestInstance"]
  enabled_metrics           = ["GroupDesiredCapacity", "GroupInServiceInstances", "GroupPendingInstances", "GroupTerminatingInstances", "GroupTotalInstances"]

  launch_template {
    id      = aws_launch_template.web.id
    version = aws_launch_template.web.latest_version
  }

  instance_refresh {
    strategy = "Rolling"
    preferences {
      min_healthy_percentage = 50
      instance_warmup        = 300
    }
  }

  dynamic "tag" {
    for_each = local.instance_tags
    content {
      key                 = tag.key
      value               = tag.value
      propagate_at_launch = true
    }
  }

  lifecycle {
    # The scaling policy below owns the number of hosts once the group exists (as the ECS
    # autoscaler does for the grading service); min_size and max_size still apply.
    ignore_changes = [desired_capacity]
    precondition {
      condition     = var.min_size <= var.desired_capacity && var.desired_capacity <= var.max_size
      error_message = "The web Auto Scaling Group needs min_size <= desired_capacity <= max_size."
    }
  }
}

# The web tier scales between min_size and max_size on the hosts' average CPU.
resource "aws_autoscaling_policy" "cpu" {
  name                      = "${var.name}-web-cpu-target"
  autoscaling_group_name    = aws_autoscaling_group.web.name
  policy_type               = "TargetTrackingScaling"
  estimated_instance_warmup = 300

  target_tracking_configuration {
    target_value = var.cpu_target_percent
    predefined_metric_specification {
      predefined_metric_type = "ASGAverageCPUUtilization"
    }
  }
}
