#!/usr/bin/env bash
# Base images for the local environment, the grading image and Molecule: built
# with debootstrap when missing (about a minute each), skipped when present.
set -euo pipefail
REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
for flavor in minimal systemd; do
  "$REPO/scripts/build-base-image.sh" "$flavor"
done
