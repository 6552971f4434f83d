# Shared helpers for gradestack's shell scripts. Source it; do not run it.

step() { printf '\033[1m==> %s\033[0m\n' "$*"; }
warn() { printf '\033[33mWARNING: %s\033[0m\n' "$*" >&2; }
die() {
  printf '\033[31mERROR: %s\033[0m\n' "$*" >&2
  exit 1
}

# The common start of the image build scripts (build-grading-image.sh,
# build-verifier-image.sh), after their settings:
#
#   image_build_setup SCRIPT DEFAULT_BASE BASE_FLAVOUR "$@"
#
# SCRIPT's header comment is its --help (printed, exit 2, also for more than one
# argument); needs podman; builds DEFAULT_BASE with `build-base-image.sh BASE_FLAVOUR`
# when BASE_IMAGE is that default and missing. Reads REPO, BASE_IMAGE and
# EXTRA_CA_BUNDLE; sets TAG (the argument, default the current commit) and ca_args
# (the --build-arg carrying EXTRA_CA_BUNDLE's certificates, or nothing).
image_build_setup() {
  local script="$1" default_base="$2" flavour="$3"
  shift 3
  if [ "$#" -gt 1 ] || [ "${1:-}" = "-h" ] || [ "${1:-}" = "--help" ]; then
    # The comment block after the shebang.
    sed -n '2,/^[^#]/{/^#/p}' "$script" >&2
    exit 2
  fi
  TAG="${1:-$(git -C "$REPO" rev-parse --short=12 HEAD)}"

  if ! command -v podman >/dev/null 2>&1; then
    echo "error: podman is not installed (apt-get install podman)" >&2
    exit 1
  fi

  if [ "$BASE_IMAGE" = "$default_base" ] && ! podman image exists "$BASE_IMAGE"; then
    if [ ! -x "$REPO/scripts/build-base-image.sh" ]; then
      echo "error: $BASE_IMAGE is missing and scripts/build-base-image.sh is not available" >&2
      exit 1
    fi
    "$REPO/scripts/build-base-image.sh" "$flavour"
  fi

  ca_args=()
  if [ -n "$EXTRA_CA_BUNDLE" ]; then
    if [ ! -f "$EXTRA_CA_BUNDLE" ]; then
      echo "error: EXTRA_CA_BUNDLE=$EXTRA_CA_BUNDLE is not a file" >&2
      exit 1
    fi
    ca_args=(--build-arg "EXTRA_CA_PEM=$(cat "$EXTRA_CA_BUNDLE")")
  fi
}
