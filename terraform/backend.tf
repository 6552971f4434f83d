# Remote state in S3 with partial configuration: the orchestration (playbooks/provision)
# passes bucket, key, region and the lock setting per environment at init, e.g.
#   terraform init -backend-config=bucket=... -backend-config=key=gradestack/production.tfstate \
#     -backend-config=region=ap-northeast-2 -backend-config=use_lockfile=true -backend-config=encrypt=true
# Tests and local checks run `terraform init -backend=false`.
terraform {
  backend "s3" {}
}
