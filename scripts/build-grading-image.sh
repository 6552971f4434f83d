#!/usr/bin/env bash
# Build the grading worker image with podman from services/grading/Dockerfile.
#
#   scripts/build-grading-image.sh [TAG]
#
# TAG defaults to the current git commit (image tags are immutable, never "latest").
# Settings (environment):
#   IMAGE_REPO       image name (default localhost/gradestack-grading)
#   BASE_IMAGE       FROM image (default localhost/gradestack-base:bookworm-minimal,
#                    built by scripts/build-base-image.sh minimal when missing; set it
#                    to docker.io/library/python:3.11-slim-bookworm where a registry is reachable)
#   EXTRA_CA_BUNDLE  PEM file with extra CA certificates to trust inside the image
# Prints the full image reference on its last line.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
IMAGE_REPO="${IMAGE_REPO:-localhost/gradestack-grading}"
DEFAULT_BASE="localhost/gradestack-base:bookworm-minimal"
BASE_IMAGE="${BASE_IMAGE:-$DEFAULT_BASE}"
EXTRA_CA_BUNDLE="${EXTRA_CA_BUNDLE:-}"

if [ "$#" -gt 1 ] || [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
  sed -n '2,15p' "$0" >&2
  exit 2
fi
TAG="${1:-$(git -C "$REPO" rev-parse --short=12 HEAD)}"

if ! command -v podman >/dev/null 2>&1; then
  echo "error: podman is not installed (apt-get install podman)" >&2
  exit 1
fi

if [ "$BASE_IMAGE" = "$DEFAULT_BASE" ] && ! podman image exists "$BASE_IMAGE"; then
  if [ ! -x "$REPO/scripts/build-base-image.sh" ]; then
    echo "error: $BASE_IMAGE is missing and scripts/build-base-image.sh is not available" >&2
    exit 1
  fi
  "$REPO/scripts/build-base-image.sh" minimal
fi

ca_args=()
if [ -n "$EXTRA_CA_BUNDLE" ]; then
  if [ ! -f "$EXTRA_CA_BUNDLE" ]; then
    echo "error: EXTRA_CA_BUNDLE=$EXTRA_CA_BUNDLE is not a file" >&2
    exit 1
  fi
  ca_args=(--build-arg "EXTRA_CA_PEM=$(cat "$EXTRA_CA_BUNDLE")")
fi

# --format docker: the OCI format drops HEALTHCHECK, which the image relies on.
# --network host: RUN steps (apt-get, pip) resolve and connect exactly as this host
# does. podman build cannot join a named network, and podman's default network
# reaches the host's resolver on some machines and not on others.
podman build \
  --format docker \
  --network host \
  --file "$REPO/services/grading/Dockerfile" \
  --ignorefile "$REPO/services/grading/Dockerfile.dockerignore" \
  --build-arg "BASE_IMAGE=$BASE_IMAGE" \
  "${ca_args[@]}" \
  --label "org.opencontainers.image.revision=$(git -C "$REPO" rev-parse HEAD)" \
  --tag "$IMAGE_REPO:$TAG" \
  "$REPO/services" >&2

echo "$IMAGE_REPO:$TAG"
