# Six security groups, one per role. Rules are separate resources so that groups can
# refer to each other without cycles. Nothing listens on a port that is not listed here.

locals {
  ssh_cidrs = var.enable_ssh_access ? toset(var.ssh_cidr_blocks) : toset([])
  https     = 443
  anywhere  = "0.0.0.0/0"
  db_port   = 5432
  stomp_ssl = 61614
}

resource "aws_security_group" "alb" {
  #checkov:skip=CKV2_AWS_5:Attached in other modules (ALB, launch template, ECS service, RDS, Amazon MQ) through this module's outputs, which checkov's graph does not follow.
  name        = "${var.name}-alb"
  description = "Public application load balancer: HTTP(S) from the internet, out to the web hosts only"
  vpc_id      = var.vpc_id
  tags        = { Name = "${var.name}-alb" }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_security_group" "web" {
  #checkov:skip=CKV2_AWS_5:Attached in other modules (ALB, launch template, ECS service, RDS, Amazon MQ) through this module's outputs, which checkov's graph does not follow.
  name        = "${var.name}-web"
  description = "Web hosts: HTTP from the ALB only; out to the database, the broker and HTTPS/HTTP for AWS APIs and packages"
  vpc_id      = var.vpc_id
  tags        = { Name = "${var.name}-web" }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_security_group" "grading" {
  #checkov:skip=CKV2_AWS_5:Attached in other modules (ALB, launch template, ECS service, RDS, Amazon MQ) through this module's outputs, which checkov's graph does not follow.
  name        = "${var.name}-grading"
  description = "Grading tasks: no inbound traffic; out to the broker and HTTPS for ECR, S3 and CloudWatch"
  vpc_id      = var.vpc_id
  tags        = { Name = "${var.name}-grading" }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_security_group" "database" {
  #checkov:skip=CKV2_AWS_5:Attached in other modules (ALB, launch template, ECS service, RDS, Amazon MQ) through this module's outputs, which checkov's graph does not follow.
  name        = "${var.name}-database"
  description = "RDS PostgreSQL: 5432 from the web hosts only; no outbound traffic"
  vpc_id      = var.vpc_id
  tags        = { Name = "${var.name}-database" }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_security_group" "mq" {
  #checkov:skip=CKV2_AWS_5:Attached in other modules (ALB, launch template, ECS service, RDS, Amazon MQ) through this module's outputs, which checkov's graph does not follow.
  name        = "${var.name}-mq"
  description = "Amazon MQ: STOMP over TLS from the web hosts and grading tasks, console from admin networks; no outbound traffic"
  vpc_id      = var.vpc_id
  tags        = { Name = "${var.name}-mq" }

  lifecycle {
    create_before_destroy = true
  }
}

resource "aws_security_group" "verifier" {
  #checkov:skip=CKV2_AWS_5:Attached in other modules (ALB, launch template, ECS service, RDS, Amazon MQ) through this module's outputs, which checkov's graph does not follow.
  name        = "${var.name}-verifier"
  description = "Scheduled verifier task: no inbound traffic; out to the ALB, AWS APIs, the database and the broker"
  vpc_id      = var.vpc_id
  tags        = { Name = "${var.name}-verifier" }

  lifecycle {
    create_before_destroy = true
  }
}

# --- ALB -----------------------------------------------------------------------------

resource "aws_vpc_security_group_ingress_rule" "alb_http" {
  #checkov:skip=CKV_AWS_260:The ALB is the public entry point; port 80 serves the site (no certificate) or redirects to HTTPS (certificate_arn set).
  security_group_id = aws_security_group.alb.id
  description       = "HTTP from the internet"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = local.anywhere
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  count = var.enable_https ? 1 : 0

  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from the internet"
  ip_protocol       = "tcp"
  from_port         = local.https
  to_port           = local.https
  cidr_ipv4         = local.anywhere
}

resource "aws_vpc_security_group_egress_rule" "alb_to_web" {
  security_group_id            = aws_security_group.alb.id
  description                  = "To nginx on the web hosts"
  ip_protocol                  = "tcp"
  from_port                    = var.web_port
  to_port                      = var.web_port
  referenced_security_group_id = aws_security_group.web.id
}

# --- Web hosts -----------------------------------------------------------------------

resource "aws_vpc_security_group_ingress_rule" "web_from_alb" {
  #checkov:skip=CKV_AWS_260:False positive: the source is the ALB's security group (referenced_security_group_id), not 0.0.0.0/0.
  security_group_id            = aws_security_group.web.id
  description                  = "HTTP from the ALB"
  ip_protocol                  = "tcp"
  from_port                    = var.web_port
  to_port                      = var.web_port
  referenced_security_group_id = aws_security_group.alb.id
}

resource "aws_vpc_security_group_ingress_rule" "web_ssh" {
  for_each = local.ssh_cidrs

  security_group_id = aws_security_group.web.id
  description       = "SSH from ${each.value} (enable_ssh_access)"
  ip_protocol       = "tcp"
  from_port         = 22
  to_port           = 22
  cidr_ipv4         = each.value
}

resource "aws_vpc_security_group_egress_rule" "web_https" {
  security_group_id = aws_security_group.web.id
  description       = "HTTPS to AWS APIs (SSM, S3, CloudWatch) through the NAT gateway or endpoints"
  ip_protocol       = "tcp"
  from_port         = local.https
  to_port           = local.https
  cidr_ipv4         = local.anywhere
}

resource "aws_vpc_security_group_egress_rule" "web_http" {
  security_group_id = aws_security_group.web.id
  description       = "HTTP to Debian package mirrors (apt verifies signatures)"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = local.anywhere
}

resource "aws_vpc_security_group_egress_rule" "web_to_database" {
  security_group_id            = aws_security_group.web.id
  description                  = "PostgreSQL"
  ip_protocol                  = "tcp"
  from_port                    = local.db_port
  to_port                      = local.db_port
  referenced_security_group_id = aws_security_group.database.id
}

resource "aws_vpc_security_group_egress_rule" "web_to_mq" {
  security_group_id            = aws_security_group.web.id
  description                  = "STOMP over TLS to Amazon MQ"
  ip_protocol                  = "tcp"
  from_port                    = local.stomp_ssl
  to_port                      = local.stomp_ssl
  referenced_security_group_id = aws_security_group.mq.id
}

# --- Grading tasks (no ingress at all) -------------------------------------------------

resource "aws_vpc_security_group_egress_rule" "grading_https" {
  security_group_id = aws_security_group.grading.id
  description       = "HTTPS to ECR, S3, CloudWatch Logs and SSM"
  ip_protocol       = "tcp"
  from_port         = local.https
  to_port           = local.https
  cidr_ipv4         = local.anywhere
}

resource "aws_vpc_security_group_egress_rule" "grading_to_mq" {
  security_group_id            = aws_security_group.grading.id
  description                  = "STOMP over TLS to Amazon MQ"
  ip_protocol                  = "tcp"
  from_port                    = local.stomp_ssl
  to_port                      = local.stomp_ssl
  referenced_security_group_id = aws_security_group.mq.id
}

# --- Database ------------------------------------------------------------------------

resource "aws_vpc_security_group_ingress_rule" "database_from_web" {
  security_group_id            = aws_security_group.database.id
  description                  = "PostgreSQL from the web hosts"
  ip_protocol                  = "tcp"
  from_port                    = local.db_port
  to_port                      = local.db_port
  referenced_security_group_id = aws_security_group.web.id
}

# --- Broker --------------------------------------------------------------------------

resource "aws_vpc_security_group_ingress_rule" "mq_from_web" {
  security_group_id            = aws_security_group.mq.id
  description                  = "STOMP over TLS from the web hosts"
  ip_protocol                  = "tcp"
  from_port                    = local.stomp_ssl
  to_port                      = local.stomp_ssl
  referenced_security_group_id = aws_security_group.web.id
}

resource "aws_vpc_security_group_ingress_rule" "mq_from_grading" {
  security_group_id            = aws_security_group.mq.id
  description                  = "STOMP over TLS from the grading tasks"
  ip_protocol                  = "tcp"
  from_port                    = local.stomp_ssl
  to_port                      = local.stomp_ssl
  referenced_security_group_id = aws_security_group.grading.id
}

# --- Verifier task (no ingress; the database and the broker admit it) ----------------------
# The existing groups' descriptions are left as they are: a changed description replaces a group.

resource "aws_vpc_security_group_egress_rule" "verifier_https" {
  security_group_id = aws_security_group.verifier.id
  description       = "HTTPS to AWS APIs (ECR, S3, CloudWatch, SSM, ELB, ECS, MQ, RDS) and the ALB"
  ip_protocol       = "tcp"
  from_port         = local.https
  to_port           = local.https
  cidr_ipv4         = local.anywhere
}

resource "aws_vpc_security_group_egress_rule" "verifier_http" {
  security_group_id = aws_security_group.verifier.id
  description       = "HTTP to the ALB's public address (the site and /health; through the NAT gateway)"
  ip_protocol       = "tcp"
  from_port         = 80
  to_port           = 80
  cidr_ipv4         = local.anywhere
}

resource "aws_vpc_security_group_egress_rule" "verifier_to_database" {
  security_group_id            = aws_security_group.verifier.id
  description                  = "PostgreSQL (rds.roundtrip)"
  ip_protocol                  = "tcp"
  from_port                    = local.db_port
  to_port                      = local.db_port
  referenced_security_group_id = aws_security_group.database.id
}

resource "aws_vpc_security_group_egress_rule" "verifier_to_mq" {
  security_group_id            = aws_security_group.verifier.id
  description                  = "STOMP over TLS to Amazon MQ (mq.roundtrip)"
  ip_protocol                  = "tcp"
  from_port                    = local.stomp_ssl
  to_port                      = local.stomp_ssl
  referenced_security_group_id = aws_security_group.mq.id
}

resource "aws_vpc_security_group_ingress_rule" "database_from_verifier" {
  security_group_id            = aws_security_group.database.id
  description                  = "PostgreSQL from the scheduled verifier task"
  ip_protocol                  = "tcp"
  from_port                    = local.db_port
  to_port                      = local.db_port
  referenced_security_group_id = aws_security_group.verifier.id
}

resource "aws_vpc_security_group_ingress_rule" "mq_from_verifier" {
  security_group_id            = aws_security_group.mq.id
  description                  = "STOMP over TLS from the scheduled verifier task"
  ip_protocol                  = "tcp"
  from_port                    = local.stomp_ssl
  to_port                      = local.stomp_ssl
  referenced_security_group_id = aws_security_group.verifier.id
}
