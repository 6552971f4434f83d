# Root variables. The deployment guide's settings have no default on purpose: their one home is
# group_vars/ (all/*.yml and <environment>.yml), from which the orchestration renders
# terraform.tfvars. Only truly optional extras have defaults.

# --- Identity and region -------------------------------------------------------------

variable "project_name" {
  description = "Prefix of every resource name (<project_name>-<environment_name>-...)."
  type        = string
  default     = "gradestack"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,18}[a-z0-9]$", var.project_name))
    error_message = "project_name must be 3-20 characters of lower-case letters, digits and hyphens, starting with a letter (it becomes part of S3 bucket and RDS names)."
  }
}

variable "environment_name" {
  description = "Environment name (dev, staging, production, or another short name); part of every resource name and the Environment tag."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,14}[a-z0-9]$", var.environment_name))
    error_message = "environment_name must be 3-16 characters of lower-case letters, digits and hyphens, starting with a letter (e.g. dev, staging, production)."
  }
}

variable "aws_region" {
  description = "AWS region to deploy into (the deployment guide uses ap-northeast-2)."
  type        = string

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-[0-9]$", var.aws_region))
    error_message = "aws_region must be an AWS region code such as ap-northeast-2 or us-east-1."
  }
}

# --- Secrets -------------------------------------------------------------------------

variable "db_password" {
  description = "Master password of the RDS PostgreSQL instance. Stored as an SSM SecureString for the web hosts; never put it in git."
  type        = string
  sensitive   = true

  validation {
    condition     = length(var.db_password) >= 12 && length(var.db_password) <= 128 && can(regex("^[\\x21-\\x7e]+$", var.db_password)) && !can(regex("[/\"@]", var.db_password))
    error_message = "db_password must be 12-128 printable ASCII characters without spaces, '/', '\"' or '@' (RDS rules; 12 is this project's minimum)."
  }
}

variable "mq_passwords" {
  description = "The password of each broker account of mq_users, by the same key (group_vars mq_passwords: the operator's SSM SecureStrings <prefix>/mq_<client>_password). Published as SSM SecureStrings <prefix>/mq/<client>/password (write-only); in the state through the broker (no write-only argument for Amazon MQ users)."
  type        = map(string)
  sensitive   = true

  validation {
    condition     = alltrue([for password in values(var.mq_passwords) : length(password) >= 12 && length(password) <= 250 && length(distinct(split("", password))) >= 4 && !can(regex("[,:=\\s]", password))])
    error_message = "Each of mq_passwords must be 12-250 characters with at least 4 different characters and no commas, colons, equal signs or whitespace (Amazon MQ rules)."
  }
}

# --- Grading service -----------------------------------------------------------------

variable "grading_container_image" {
  description = "Grading worker image reference (registry/repository:tag or @digest), normally the ECR repository this stack creates, tagged with the git commit."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._/:-]*[a-z0-9](:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})$", var.grading_container_image))
    error_message = "grading_container_image must be an image reference with a tag or digest, e.g. 123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/gradestack-production-grading:3f2c1ab."
  }
}

variable "ecs_desired_count" {
  description = "Number of grading tasks to run; also the autoscaling minimum (0 scales the service down, the gradual rollback)."
  type        = number

  validation {
    condition     = var.ecs_desired_count >= 0 && var.ecs_desired_count <= 100 && floor(var.ecs_desired_count) == var.ecs_desired_count
    error_message = "ecs_desired_count must be a whole number from 0 to 100."
  }
}

variable "ecs_max_capacity" {
  description = "Maximum number of grading tasks the autoscaler may run (must be >= ecs_desired_count)."
  type        = number

  validation {
    condition     = var.ecs_max_capacity >= 1 && var.ecs_max_capacity <= 100 && floor(var.ecs_max_capacity) == var.ecs_max_capacity
    error_message = "ecs_max_capacity must be a whole number from 1 to 100."
  }
}

variable "ecs_task_cpu" {
  description = "Fargate task CPU units (256, 512, 1024, 2048, 4096, 8192 or 16384); memory must be a valid Fargate combination."
  type        = number

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.ecs_task_cpu)
    error_message = "ecs_task_cpu must be one of the Fargate CPU sizes: 256, 512, 1024, 2048, 4096, 8192, 16384."
  }
}

variable "ecs_task_memory" {
  description = "Fargate task memory in MiB (512-122880; valid values depend on ecs_task_cpu)."
  type        = number

  validation {
    condition     = var.ecs_task_memory >= 512 && var.ecs_task_memory <= 122880 && floor(var.ecs_task_memory) == var.ecs_task_memory
    error_message = "ecs_task_memory must be a whole number of MiB from 512 to 122880."
  }
}

# --- Network -------------------------------------------------------------------------

variable "vpc_cidr" {
  description = "CIDR block of the VPC (e.g. 10.0.0.0/16)."
  type        = string

  validation {
    condition     = can(cidrnetmask(var.vpc_cidr)) && tonumber(split("/", var.vpc_cidr)[1]) >= 16 && tonumber(split("/", var.vpc_cidr)[1]) <= 24
    error_message = "vpc_cidr must be an IPv4 CIDR block with a prefix length from /16 to /24 (AWS limits), e.g. 10.0.0.0/16."
  }
}

variable "public_subnet_cidrs" {
  description = "Two CIDR blocks (one per availability zone) for the public subnets (ALB, NAT gateways)."
  type        = list(string)

  validation {
    condition     = length(var.public_subnet_cidrs) == 2 && alltrue([for c in var.public_subnet_cidrs : can(cidrnetmask(c))])
    error_message = "public_subnet_cidrs must be a list of exactly two IPv4 CIDR blocks, e.g. [\"10.0.1.0/24\", \"10.0.2.0/24\"]."
  }
}

variable "private_subnet_cidrs" {
  description = "Two CIDR blocks for the private subnets (web hosts, grading tasks, Amazon MQ)."
  type        = list(string)

  validation {
    condition     = length(var.private_subnet_cidrs) == 2 && alltrue([for c in var.private_subnet_cidrs : can(cidrnetmask(c))])
    error_message = "private_subnet_cidrs must be a list of exactly two IPv4 CIDR blocks, e.g. [\"10.0.3.0/24\", \"10.0.4.0/24\"]."
  }
}

variable "database_subnet_cidrs" {
  description = "Two CIDR blocks for the database subnets (RDS only, no route to the internet)."
  type        = list(string)

  validation {
    condition     = length(var.database_subnet_cidrs) == 2 && alltrue([for c in var.database_subnet_cidrs : can(cidrnetmask(c))])
    error_message = "database_subnet_cidrs must be a list of exactly two IPv4 CIDR blocks, e.g. [\"10.0.5.0/24\", \"10.0.6.0/24\"]."
  }
}

variable "enable_ssh_access" {
  description = "Open port 22 on the web hosts to ssh_cidr_blocks (dev only; staging and production use SSM Session Manager)."
  type        = bool
}

variable "ssh_cidr_blocks" {
  description = "CIDR blocks allowed to reach the web hosts on port 22 when enable_ssh_access is true."
  type        = list(string)

  validation {
    condition     = alltrue([for c in var.ssh_cidr_blocks : can(cidrnetmask(c))])
    error_message = "ssh_cidr_blocks must be a list of IPv4 CIDR blocks, e.g. [\"203.0.113.0/24\"]."
  }
}

# --- Web tier (ALB + Auto Scaling Group) ----------------------------------------------

variable "min_size" {
  description = "Minimum number of web hosts in the Auto Scaling Group."
  type        = number

  validation {
    condition     = var.min_size >= 0 && var.min_size <= 50 && floor(var.min_size) == var.min_size
    error_message = "min_size must be a whole number from 0 to 50."
  }
}

variable "max_size" {
  description = "Maximum number of web hosts in the Auto Scaling Group (>= min_size)."
  type        = number

  validation {
    condition     = var.max_size >= 1 && var.max_size <= 50 && floor(var.max_size) == var.max_size
    error_message = "max_size must be a whole number from 1 to 50."
  }
}

variable "desired_capacity" {
  description = "Number of web hosts to run (between min_size and max_size)."
  type        = number

  validation {
    condition     = var.desired_capacity >= 0 && var.desired_capacity <= 50 && floor(var.desired_capacity) == var.desired_capacity
    error_message = "desired_capacity must be a whole number from 0 to 50."
  }
}

variable "web_instance_type" {
  description = "EC2 instance type of the web hosts."
  type        = string
  default     = "t3.small"

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]*\\.[a-z0-9]+$", var.web_instance_type))
    error_message = "web_instance_type must be an EC2 instance type such as t3.small."
  }
}

variable "web_ami_id" {
  description = "AMI of the web hosts, pinned per environment (a new AMI replaces every web host). Empty: the newest official Debian 12 (bookworm) amd64 AMI of the region, looked up at every plan (opt-in)."
  type        = string

  validation {
    condition     = var.web_ami_id == "" || can(regex("^ami-[0-9a-f]{8,17}$", var.web_ami_id))
    error_message = "web_ami_id must be empty (look up the newest Debian 12 image) or an AMI id such as ami-0123456789abcdef0."
  }
}

variable "certificate_arn" {
  description = "ACM certificate ARN for the ALB's HTTPS listener. null: HTTP only (port 80 forwards to the web hosts); set: port 80 redirects to HTTPS."
  type        = string
  default     = null

  validation {
    condition     = var.certificate_arn == null || can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:[0-9]{12}:certificate/.+$", var.certificate_arn))
    error_message = "certificate_arn must be null or an ACM certificate ARN (arn:aws:acm:<region>:<account>:certificate/<id>)."
  }
}

variable "enable_deletion_protection" {
  description = "Deletion protection of the ALB; also keeps the S3 buckets and the ECR repository from being destroyed while they hold objects."
  type        = bool
}

# --- Database ------------------------------------------------------------------------

variable "db_instance_class" {
  description = "RDS instance class of the PostgreSQL database (e.g. db.t3.micro for dev, db.t3.medium for production)."
  type        = string

  validation {
    condition     = can(regex("^db\\.(t3|t4g|m5|m5d|m6g|m6gd|m6i|m6id|m7g|m7i|r5|r5d|r6g|r6gd|r6i|r6id|r7g|r7i)\\.(micro|small|medium|large|xlarge|[0-9]+xlarge)$", var.db_instance_class))
    error_message = "db_instance_class must be an RDS PostgreSQL instance class such as db.t3.micro, db.t3.medium or db.m6g.large."
  }
}

variable "db_multi_az" {
  description = "Run the database as a Multi-AZ deployment (a synchronous standby in the second AZ)."
  type        = bool
}

variable "db_deletion_protection" {
  description = "Protect the database from deletion; also keeps a final snapshot when it is deleted."
  type        = bool
}

variable "db_name" {
  description = "Name of the application database on RDS PostgreSQL (the web app's DATABASE_NAME, published in SSM as <prefix>/db/name)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_]{0,62}$", var.db_name))
    error_message = "db_name must be 1-63 letters, digits or underscores, starting with a letter (RDS PostgreSQL rules), e.g. gradestack."
  }
  validation {
    condition     = !contains(["postgres", "template0", "template1", "rdsadmin"], lower(var.db_name))
    error_message = "db_name must not be a database PostgreSQL or RDS reserves (postgres, template0, template1, rdsadmin); use e.g. gradestack."
  }
}

variable "db_username" {
  description = "Master user of the RDS PostgreSQL database, which the web app connects as (DATABASE_USER, published in SSM as <prefix>/db/username)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z][A-Za-z0-9_]{0,62}$", var.db_username))
    error_message = "db_username must be 1-63 letters, digits or underscores, starting with a letter (RDS PostgreSQL rules), e.g. gradestack."
  }
  validation {
    condition     = !contains(["postgres", "admin", "administrator", "root", "rdsadmin", "rdsrepladmin", "rds_superuser", "public", "user", "current_user", "session_user"], lower(var.db_username)) && !startswith(lower(var.db_username), "pg_") && !startswith(lower(var.db_username), "rds")
    error_message = "db_username must not be a reserved or well-known user name (postgres, admin, root, public, user, rdsadmin, ...) nor start with pg_ or rds; use e.g. gradestack."
  }
}

variable "db_backup_retention_days" {
  description = "Days of automated RDS backups (point-in-time recovery window)."
  type        = number
  default     = 7

  validation {
    condition     = var.db_backup_retention_days >= 1 && var.db_backup_retention_days <= 35
    error_message = "db_backup_retention_days must be from 1 to 35."
  }
}

# --- Messaging -----------------------------------------------------------------------

variable "mq_instance_type" {
  description = "Amazon MQ for ActiveMQ broker instance type: mq.t3.micro (single instance only) or mq.m5.large, mq.m5.xlarge, mq.m5.2xlarge, mq.m5.4xlarge (mq.m7g is RabbitMQ only)."
  type        = string

  validation {
    condition     = can(regex("^mq\\.(t3\\.micro|m5\\.(large|xlarge|2xlarge|4xlarge))$", var.mq_instance_type))
    error_message = "mq_instance_type must be an Amazon MQ for ActiveMQ instance type: mq.t3.micro, mq.m5.large, mq.m5.xlarge, mq.m5.2xlarge or mq.m5.4xlarge. There is no mq.t3.small; use mq.m5.large for active/standby."
  }
}

variable "mq_deployment_mode" {
  description = "Amazon MQ deployment mode: SINGLE_INSTANCE or ACTIVE_STANDBY_MULTI_AZ."
  type        = string

  validation {
    condition     = contains(["SINGLE_INSTANCE", "ACTIVE_STANDBY_MULTI_AZ"], var.mq_deployment_mode)
    error_message = "mq_deployment_mode must be SINGLE_INSTANCE or ACTIVE_STANDBY_MULTI_AZ."
  }
}

variable "mq_users" {
  description = "The broker's accounts by client, {<client> = {username, groups}} (group_vars mq_users): the web app's, the workers', the verifier's. None has console access; each connects as its own (MQ_USERNAME published in SSM as <prefix>/mq/<client>/username)."
  type = map(object({
    username = string
    groups   = list(string)
  }))

  validation {
    condition     = alltrue([for user in values(var.mq_users) : can(regex("^[A-Za-z0-9._~-]{2,100}$", user.username)) && length(user.groups) > 0 && alltrue([for group in user.groups : can(regex("^[A-Za-z0-9._~-]{2,100}$", group))])])
    error_message = "Each of mq_users needs a username and at least one group of 2-100 letters, digits, dashes, periods, underscores or tildes (Amazon MQ for ActiveMQ rules), e.g. gradestack-web."
  }
  validation {
    condition     = length(distinct([for user in values(var.mq_users) : user.username])) == length(var.mq_users)
    error_message = "The accounts of mq_users need usernames of their own."
  }
}

variable "mq_authorization" {
  description = "The broker's authorization map (group_vars mq_authorization), rendered into the Amazon MQ configuration's authorizationPlugin: each entry one queue or topic (a name or a wildcard) with the groups that may read, write and admin it. Destinations no entry names are refused to every account."
  type = list(object({
    queue = optional(string)
    topic = optional(string)
    read  = optional(list(string), [])
    write = optional(list(string), [])
    admin = optional(list(string), [])
  }))

  validation {
    condition     = alltrue([for entry in var.mq_authorization : (entry.queue == null) != (entry.topic == null) && can(regex("^[A-Za-z0-9._*>-]+$", coalesce(entry.queue, entry.topic)))])
    error_message = "Each entry of mq_authorization names exactly one queue or topic, of letters, digits, . _ - and the wildcards * and >."
  }
}

variable "mq_temp_destination_authorization" {
  description = "The groups allowed temporary queues and topics (group_vars mq_temp_destination_authorization): the broker's tempDestinationAuthorizationEntry. Without it ActiveMQ allows them to every account. (Cross-setting rules, e.g. a group no account is in: preconditions of modules/messaging.)"
  type = object({
    read  = optional(list(string), [])
    write = optional(list(string), [])
    admin = optional(list(string), [])
  })
}

variable "mq_maximum_redeliveries" {
  description = "Redeliveries of a message (a grading request whose worker failed) before it goes to its dead-letter queue ActiveMQ.DLQ.<queue>."
  type        = number

  validation {
    condition     = var.mq_maximum_redeliveries >= 0 && var.mq_maximum_redeliveries <= 20 && floor(var.mq_maximum_redeliveries) == var.mq_maximum_redeliveries
    error_message = "mq_maximum_redeliveries must be a whole number from 0 (dead-letter at once) to 20."
  }
}

variable "mq_redelivery_delay_ms" {
  description = "Delay before the first redelivery in milliseconds; it doubles on each further redelivery (exponential back-off, multiplier 2)."
  type        = number

  validation {
    condition     = var.mq_redelivery_delay_ms >= 100 && var.mq_redelivery_delay_ms <= 600000 && floor(var.mq_redelivery_delay_ms) == var.mq_redelivery_delay_ms
    error_message = "mq_redelivery_delay_ms must be a whole number of milliseconds from 100 to 600000 (10 minutes)."
  }
}

variable "mq_enable_audit_logs" {
  description = "Publish ActiveMQ audit logs (management actions) to CloudWatch Logs."
  type        = bool
}

# --- Storage -------------------------------------------------------------------------

variable "enable_s3_versioning" {
  description = "Keep object versions in the grading bucket (problems, results, release bundles)."
  type        = bool
}

variable "enable_s3_lifecycle" {
  description = "Expire old grading results and move old objects to cheaper storage classes."
  type        = bool
}

# --- Monitoring ----------------------------------------------------------------------

variable "alarm_email_addresses" {
  description = "E-mail addresses subscribed to the alarm topic (each confirms once). Preflight requires a recipient in production."
  type        = list(string)

  validation {
    condition     = alltrue([for address in var.alarm_email_addresses : can(regex("^[^@\\s]+@[^@\\s]+\\.[^@\\s]+$", address))])
    error_message = "alarm_email_addresses must hold e-mail addresses only."
  }
}

variable "alarm_https_endpoints" {
  description = "HTTPS endpoints (an on-call tool's webhook) subscribed to the alarm topic."
  type        = list(string)

  validation {
    condition     = alltrue([for url in var.alarm_https_endpoints : startswith(url, "https://")])
    error_message = "alarm_https_endpoints must hold https:// URLs only."
  }
}

variable "log_retention_days" {
  description = "Retention of every CloudWatch log group the stack creates (flow logs, grading workers, broker)."
  type        = number
  default     = 365

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

# --- Hardening (issue #17): IAM boundary, secrets, scaling, endpoints, alarms -------------
# No defaults: group_vars/all/aws_stack.yml is their one home.

variable "grading_backlog_per_task" {
  description = "Target number of queued grading requests per running task; the autoscaler adds tasks above it and removes them below."
  type        = number

  validation {
    condition     = var.grading_backlog_per_task >= 1
    error_message = "grading_backlog_per_task must be at least 1."
  }
}

variable "iam_permissions_boundary" {
  description = "Permissions boundary of every IAM role the stack creates: a customer managed policy name in this account or its ARN (docs/iam/permissions-boundary.json)."
  type        = string

  validation {
    condition     = can(regex("^(arn:aws[a-z-]*:iam::[0-9]{12}:policy/[A-Za-z0-9+=,.@_/-]+|[A-Za-z0-9+=,.@_-]{1,128})$", var.iam_permissions_boundary))
    error_message = "iam_permissions_boundary must be an IAM policy name (e.g. gradestack-permissions-boundary) or a policy ARN (arn:aws:iam::<account>:policy/<name>)."
  }
}

variable "db_password_version" {
  description = "Version of db_password, which reaches RDS and SSM only through write-only arguments (never in the state): increase it to send a changed password."
  type        = number

  validation {
    condition     = var.db_password_version >= 1 && floor(var.db_password_version) == var.db_password_version
    error_message = "db_password_version must be a whole number from 1; add one whenever db_password changes."
  }
}

variable "web_cpu_target_percent" {
  description = "Target-tracking scaling of the web Auto Scaling Group: the average CPU utilisation (percent) it keeps between min_size and max_size."
  type        = number

  validation {
    condition     = var.web_cpu_target_percent >= 10 && var.web_cpu_target_percent <= 90
    error_message = "web_cpu_target_percent must be from 10 to 90."
  }
}

variable "alb_idle_timeout_seconds" {
  description = "Seconds the ALB keeps an idle client connection open (the local HAProxy's timeout http-request matches it)."
  type        = number

  validation {
    condition     = var.alb_idle_timeout_seconds >= 1 && var.alb_idle_timeout_seconds <= 4000
    error_message = "alb_idle_timeout_seconds must be from 1 to 4000 (the ALB's range)."
  }
}

variable "ecs_stop_timeout_seconds" {
  description = "Seconds ECS waits between SIGTERM and SIGKILL when it stops a grading task; the worker's WORKER_SHUTDOWN_GRACE_S is 10 s less."
  type        = number

  validation {
    condition     = var.ecs_stop_timeout_seconds >= 15 && var.ecs_stop_timeout_seconds <= 120 && floor(var.ecs_stop_timeout_seconds) == var.ecs_stop_timeout_seconds
    error_message = "ecs_stop_timeout_seconds must be a whole number from 15 to 120 (Fargate's maximum)."
  }
}

variable "enable_vpc_interface_endpoints" {
  description = "Create VPC interface endpoints for ECR (api, dkr), CloudWatch Logs and SSM (ssm, ssmmessages, ec2messages), so that image pulls, logs and sessions do not go through NAT."
  type        = bool
}

variable "flow_log_retention_days" {
  description = "Retention of the VPC flow log group in days."
  type        = number

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.flow_log_retention_days)
    error_message = "flow_log_retention_days must be a retention CloudWatch Logs accepts (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)."
  }
}

variable "alarm_dlq_messages" {
  description = "Alarm when the grading requests' dead-letter queue holds more messages than this (0: any)."
  type        = number

  validation {
    condition     = var.alarm_dlq_messages >= 0
    error_message = "alarm_dlq_messages must be 0 or more."
  }
}

variable "alarm_mq_cpu_percent" {
  description = "Alarm when a broker instance's CPU utilisation exceeds this percentage."
  type        = number

  validation {
    condition     = var.alarm_mq_cpu_percent > 0 && var.alarm_mq_cpu_percent <= 100
    error_message = "alarm_mq_cpu_percent must be a percentage from 1 to 100."
  }
}

variable "alarm_mq_heap_percent" {
  description = "Alarm when a broker instance's JVM heap usage exceeds this percentage."
  type        = number

  validation {
    condition     = var.alarm_mq_heap_percent > 0 && var.alarm_mq_heap_percent <= 100
    error_message = "alarm_mq_heap_percent must be a percentage from 1 to 100."
  }
}

variable "alarm_mq_store_percent" {
  description = "Alarm when a broker instance's message store usage exceeds this percentage of its limit."
  type        = number

  validation {
    condition     = var.alarm_mq_store_percent > 0 && var.alarm_mq_store_percent <= 100
    error_message = "alarm_mq_store_percent must be a percentage from 1 to 100."
  }
}

variable "alarm_alb_unhealthy_hosts" {
  description = "Alarm when more web hosts than this are unhealthy in the target group (0: any)."
  type        = number

  validation {
    condition     = var.alarm_alb_unhealthy_hosts >= 0
    error_message = "alarm_alb_unhealthy_hosts must be 0 or more."
  }
}

variable "alarm_alb_5xx_percent" {
  description = "Alarm when 5xx responses (ALB and web hosts) exceed this percentage of all requests."
  type        = number

  validation {
    condition     = var.alarm_alb_5xx_percent > 0 && var.alarm_alb_5xx_percent <= 100
    error_message = "alarm_alb_5xx_percent must be a percentage above 0 and at most 100."
  }
}

variable "alarm_ecs_tasks_missing_minutes" {
  description = "Alarm when the grading service runs fewer tasks than desired for this many minutes."
  type        = number

  validation {
    condition     = var.alarm_ecs_tasks_missing_minutes >= 1 && var.alarm_ecs_tasks_missing_minutes <= 1440 && floor(var.alarm_ecs_tasks_missing_minutes) == var.alarm_ecs_tasks_missing_minutes
    error_message = "alarm_ecs_tasks_missing_minutes must be a whole number of minutes from 1 to 1440."
  }
}

variable "alarm_db_cpu_percent" {
  description = "Alarm when the database's CPU utilisation exceeds this percentage."
  type        = number

  validation {
    condition     = var.alarm_db_cpu_percent > 0 && var.alarm_db_cpu_percent <= 100
    error_message = "alarm_db_cpu_percent must be a percentage from 1 to 100."
  }
}

variable "alarm_db_free_storage_gib" {
  description = "Alarm when the database's free storage falls below this many GiB."
  type        = number

  validation {
    condition     = var.alarm_db_free_storage_gib > 0
    error_message = "alarm_db_free_storage_gib must be above 0."
  }
}

variable "alarm_db_connections" {
  description = "Alarm when the database has more connections than this (size it to the instance class's max_connections)."
  type        = number

  validation {
    condition     = var.alarm_db_connections >= 1 && floor(var.alarm_db_connections) == var.alarm_db_connections
    error_message = "alarm_db_connections must be a whole number from 1."
  }
}

# --- Scheduled verification (issue 16) -------------------------------------------------

variable "verifier_container_image" {
  description = "Verifier image reference (registry/repository:tag or @digest), normally the verifier ECR repository this stack creates, tagged with the git commit."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9._/:-]*[a-z0-9](:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}|@sha256:[a-f0-9]{64})$", var.verifier_container_image))
    error_message = "verifier_container_image must be an image reference with a tag or digest, e.g. 123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/gradestack-production-verifier:3f2c1ab."
  }
}

variable "verify_interval_minutes" {
  description = "Minutes between two scheduled verify runs (the schedule's rate; the verify alarms evaluate per interval)."
  type        = number

  validation {
    condition     = var.verify_interval_minutes >= 1 && var.verify_interval_minutes <= 720 && floor(var.verify_interval_minutes) == var.verify_interval_minutes
    error_message = "verify_interval_minutes must be a whole number from 1 to 720 (the heartbeat alarm evaluates two intervals, at most a day)."
  }
}

variable "verify_metrics_namespace" {
  description = "CloudWatch namespace of the verify metrics (CheckFailed, FailedChecks, Heartbeat)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._/#:-]+$", var.verify_metrics_namespace)) && !startswith(var.verify_metrics_namespace, "AWS/")
    error_message = "verify_metrics_namespace must be a custom CloudWatch namespace (letters, digits and . _ / # : -, not AWS/...)."
  }
}

variable "verify_schedule_enabled" {
  description = "Run the verifier task on its schedule (ENABLED) and alarm on a missing heartbeat; false leaves the schedule DISABLED and creates no heartbeat alarm."
  type        = bool
}

variable "verifier_task_cpu" {
  description = "Fargate CPU units of the verifier task (256, 512, 1024, 2048 or 4096)."
  type        = number
}

variable "verifier_task_memory" {
  description = "Fargate memory of the verifier task in MiB (a valid combination with verifier_task_cpu)."
  type        = number
}
