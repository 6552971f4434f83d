# Two buckets: the grading bucket (problems/, results/, artifacts/) and a log bucket
# for the ALB's and the grading bucket's access logs. Names carry the account id
# because bucket names are global.

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_elb_service_account" "current" {}

locals {
  grading_bucket = "${var.name}-grading-${data.aws_caller_identity.current.account_id}"
  log_bucket     = "${var.name}-logs-${data.aws_caller_identity.current.account_id}"
  prefixes = {
    problems  = "problems/"
    results   = "results/"
    artifacts = "artifacts/"
  }
}

# --- Grading bucket ------------------------------------------------------------------

resource "aws_s3_bucket" "grading" {
  #checkov:skip=CKV_AWS_144:Cross-region replication doubles storage cost; problems and bundles are rebuilt from git and results are reproducible, versioning covers accidental deletes.
  #checkov:skip=CKV2_AWS_62:Nothing consumes bucket events: grading is driven by the broker, not by S3 notifications.
  bucket        = local.grading_bucket
  force_destroy = var.force_destroy
  tags          = { Name = local.grading_bucket }
}

resource "aws_s3_bucket_public_access_block" "grading" {
  bucket                  = aws_s3_bucket.grading.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "grading" {
  bucket = aws_s3_bucket.grading.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "grading" {
  bucket = aws_s3_bucket.grading.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = true # one KMS call per object batch, not per request
  }
}

resource "aws_s3_bucket_versioning" "grading" {
  bucket = aws_s3_bucket.grading.id
  versioning_configuration {
    # "Disabled" is only valid for a bucket that never had versioning; turning it off later means "Suspended".
    status = var.enable_versioning ? "Enabled" : "Suspended"
  }
}

resource "aws_s3_bucket_logging" "grading" {
  bucket        = aws_s3_bucket.grading.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "s3/${local.grading_bucket}/"

  # S3 checks that the log bucket's policy admits the logging service before it accepts this.
  depends_on = [aws_s3_bucket_policy.logs]
}

resource "aws_s3_bucket_lifecycle_configuration" "grading" {
  bucket = aws_s3_bucket.grading.id

  rule {
    id     = "abort-incomplete-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  rule {
    id     = "expire-results"
    status = var.enable_lifecycle ? "Enabled" : "Disabled"
    filter {
      prefix = local.prefixes.results
    }
    transition {
      days          = 30
      storage_class = "STANDARD_IA"
    }
    expiration {
      days = var.results_expiration_days
    }
  }

  rule {
    id     = "expire-noncurrent-versions"
    status = var.enable_lifecycle ? "Enabled" : "Disabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = 90
    }
  }

  depends_on = [aws_s3_bucket_versioning.grading]
}

data "aws_iam_policy_document" "grading" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.grading.arn,
      "${aws_s3_bucket.grading.arn}/*",
    ]
    principals {
      type        = "AWS" # {"AWS": "*"} is everyone, like "*", and every S3 policy reader parses it
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "grading" {
  bucket = aws_s3_bucket.grading.id
  policy = data.aws_iam_policy_document.grading.json

  depends_on = [aws_s3_bucket_public_access_block.grading]
}

# --- Log bucket ----------------------------------------------------------------------

resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_18:This is the access-log target itself; logging it into itself would loop.
  #checkov:skip=CKV_AWS_144:Access logs are kept for audit in one region; replicating them doubles cost for no recovery need.
  #checkov:skip=CKV_AWS_145:ALB access logs can only be delivered to buckets encrypted with SSE-S3 (AES256), not SSE-KMS.
  #checkov:skip=CKV2_AWS_62:Nothing consumes events of the log bucket.
  bucket        = local.log_bucket
  force_destroy = var.force_destroy
  tags          = { Name = local.log_bucket }
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_ownership_controls" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_versioning" "logs" {
  bucket = aws_s3_bucket.logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    id     = "expire-logs"
    status = "Enabled"
    filter {}
    expiration {
      days = var.log_expiration_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 30
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.logs]
}

data "aws_iam_policy_document" "logs" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.logs.arn,
      "${aws_s3_bucket.logs.arn}/*",
    ]
    principals {
      type        = "AWS" # {"AWS": "*"} is everyone, like "*", and every S3 policy reader parses it
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  # ALB access logs: the regional Elastic Load Balancing account writes them (older
  # regions such as ap-northeast-2), the log-delivery service principal in newer ones.
  statement {
    sid       = "AlbAccessLogs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs.arn}/alb/AWSLogs/${data.aws_caller_identity.current.account_id}/*"]
    principals {
      type        = "AWS"
      identifiers = [data.aws_elb_service_account.current.arn]
    }
  }

  statement {
    sid       = "AlbAccessLogsDelivery"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs.arn}/alb/AWSLogs/${data.aws_caller_identity.current.account_id}/*"]
    principals {
      type        = "Service"
      identifiers = ["logdelivery.elasticloadbalancing.amazonaws.com"]
    }
  }

  statement {
    sid       = "S3ServerAccessLogs"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs.arn}/s3/${local.grading_bucket}/*"]
    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [data.aws_caller_identity.current.account_id]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [aws_s3_bucket.grading.arn]
    }
  }
}

resource "aws_s3_bucket_policy" "logs" {
  bucket = aws_s3_bucket.logs.id
  policy = data.aws_iam_policy_document.logs.json

  depends_on = [aws_s3_bucket_public_access_block.logs]
}
