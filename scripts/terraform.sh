#!/usr/bin/env bash
# Run Terraform on this checkout's stack with the repo's CLI configuration.
#
#   scripts/terraform.sh <terraform arguments...>     e.g. scripts/terraform.sh validate
#
# Uses .cache/terraform/cli.tfrc (the provider mirror, written by `make setup`) when it
# exists, and the public registry otherwise; runs in terraform/ unless TF_DIR is set.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib.sh
. "$REPO/scripts/lib.sh"

command -v terraform >/dev/null 2>&1 \
  || die "terraform is not installed: install Terraform >= 1.5 (https://developer.hashicorp.com/terraform/install)"

bash "$REPO/scripts/setup.d/20-terraform.sh" >/dev/null
if [ -f "$REPO/.cache/terraform/cli.tfrc" ]; then
  export TF_CLI_CONFIG_FILE="$REPO/.cache/terraform/cli.tfrc"
else
  # No mirror: the public registry; ignore a TF_CLI_CONFIG_FILE pointing at a missing file.
  [ -n "${TF_CLI_CONFIG_FILE:-}" ] && [ ! -f "$TF_CLI_CONFIG_FILE" ] && unset TF_CLI_CONFIG_FILE
fi
cd "${TF_DIR:-$REPO/terraform}"
exec terraform "$@"
