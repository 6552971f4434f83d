#!/usr/bin/env bash
# Static checks of the Terraform code: formatting, generated module READMEs, checkov.
# (validate/plan/apply run in tests/terraform, which need the provider.)
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
. scripts/lib.sh
if [ ! -d terraform ] || [ -z "$(find terraform -name '*.tf' -print -quit)" ]; then
  step "terraform: no .tf files yet"
  exit 0
fi
command -v terraform >/dev/null || die "terraform is not installed (https://developer.hashicorp.com/terraform/install)"
step "terraform fmt -check"
terraform fmt -check -recursive -diff terraform
if [ -f scripts/terraform_docs.py ]; then
  step "module READMEs up to date"
  .venv/bin/python scripts/terraform_docs.py --check
fi
step "checkov"
.venv-checkov/bin/checkov --quiet --compact --framework terraform -d terraform
