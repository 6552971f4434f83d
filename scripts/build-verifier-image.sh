#!/usr/bin/env bash
# Build the verifier image with podman from services/verifier/Containerfile.
#
#   scripts/build-verifier-image.sh [TAG]
#
# TAG defaults to the current git commit (image tags are immutable, never "latest").
# Settings (environment):
#   IMAGE_REPO       image name (default localhost/gradestack-verifier)
#   BASE_IMAGE       FROM image (default localhost/gradestack-base:bookworm-systemd,
#                    built by scripts/build-base-image.sh systemd when missing)
#   EXTRA_CA_BUNDLE  PEM file with extra CA certificates to trust inside the image
# Prints the full image reference on its last line.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib.sh
. "$REPO/scripts/lib.sh"
IMAGE_REPO="${IMAGE_REPO:-localhost/gradestack-verifier}"
DEFAULT_BASE="localhost/gradestack-base:bookworm-systemd"
BASE_IMAGE="${BASE_IMAGE:-$DEFAULT_BASE}"
EXTRA_CA_BUNDLE="${EXTRA_CA_BUNDLE:-}"

image_build_setup "$0" "$DEFAULT_BASE" systemd "$@"

# The collections come out of the pinned ansible release (requirements.txt), which
# bundles the versions requirements.yml pins.
ANSIBLE_VERSION="$(sed -n 's/^ansible==//p' "$REPO/requirements.txt")"
if [ -z "$ANSIBLE_VERSION" ]; then
  echo "error: requirements.txt pins no ansible==<version>" >&2
  exit 1
fi

# --network host: RUN steps (pip) resolve and connect exactly as this host does
# (see scripts/build-grading-image.sh).
podman build \
  --format docker \
  --network host \
  --file "$REPO/services/verifier/Containerfile" \
  --ignorefile "$REPO/services/verifier/Containerfile.dockerignore" \
  --build-arg "BASE_IMAGE=$BASE_IMAGE" \
  --build-arg "ANSIBLE_VERSION=$ANSIBLE_VERSION" \
  "${ca_args[@]}" \
  --label "org.opencontainers.image.revision=$(git -C "$REPO" rev-parse HEAD)" \
  --tag "$IMAGE_REPO:$TAG" \
  "$REPO" >&2

echo "$IMAGE_REPO:$TAG"
