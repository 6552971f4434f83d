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
# shellcheck source=scripts/lib.sh
. "$REPO/scripts/lib.sh"
IMAGE_REPO="${IMAGE_REPO:-localhost/gradestack-grading}"
DEFAULT_BASE="localhost/gradestack-base:bookworm-minimal"
BASE_IMAGE="${BASE_IMAGE:-$DEFAULT_BASE}"
EXTRA_CA_BUNDLE="${EXTRA_CA_BUNDLE:-}"

image_build_setup "$0" "$DEFAULT_BASE" minimal "$@"

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
