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
IMAGE_REPO="${IMAGE_REPO:-localhost/gradestack-verifier}"
DEFAULT_BASE="localhost/gradestack-base:bookworm-systemd"
BASE_IMAGE="${BASE_IMAGE:-$DEFAULT_BASE}"
EXTRA_CA_BUNDLE="${EXTRA_CA_BUNDLE:-}"

if [ "$#" -gt 1 ] || [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
  sed -n '2,13p' "$0" >&2
  exit 2
fi
TAG="${1:-$(git -C "$REPO" rev-parse --short=12 HEAD)}"

if ! command -v podman >/dev/null 2>&1; then
  echo "error: podman is not installed (apt-get install podman)" >&2
  exit 1
fi

if [ "$BASE_IMAGE" = "$DEFAULT_BASE" ] && ! podman image exists "$BASE_IMAGE"; then
  "$REPO/scripts/build-base-image.sh" systemd
fi

# The collections come out of the pinned ansible release (requirements.txt), which
# bundles the versions requirements.yml pins.
ANSIBLE_VERSION="$(sed -n 's/^ansible==//p' "$REPO/requirements.txt")"
if [ -z "$ANSIBLE_VERSION" ]; then
  echo "error: requirements.txt pins no ansible==<version>" >&2
  exit 1
fi

ca_args=()
if [ -n "$EXTRA_CA_BUNDLE" ]; then
  if [ ! -f "$EXTRA_CA_BUNDLE" ]; then
    echo "error: EXTRA_CA_BUNDLE=$EXTRA_CA_BUNDLE is not a file" >&2
    exit 1
  fi
  ca_args=(--build-arg "EXTRA_CA_PEM=$(cat "$EXTRA_CA_BUNDLE")")
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
