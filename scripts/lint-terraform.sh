#!/usr/bin/env bash
# Quick static check of the Terraform code: formatting. validate, checkov and the
# generated module READMEs are checked by tests/terraform (they need the provider
# and take minutes), so they are not run twice.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
. scripts/lib.sh
command -v terraform >/dev/null || die "terraform is not installed (https://developer.hashicorp.com/terraform/install)"
step "terraform fmt -check"
# fmt needs no provider: an explicit empty CLI configuration, never the caller's ~/.terraformrc.
TF_CLI_CONFIG_FILE=/dev/null terraform fmt -check -recursive -diff terraform
