#!/usr/bin/env bash
# Build gradestack's Debian base images without any image registry:
# debootstrap (bookworm, minbase) into a temporary directory, then `podman import`.
#
#   scripts/build-base-image.sh minimal [--rebuild]  -> localhost/gradestack-base:bookworm-minimal
#   scripts/build-base-image.sh systemd [--rebuild]  -> localhost/gradestack-base:bookworm-systemd
#
# minimal: python3, python3-venv, ca-certificates (base of the grading image).
# systemd: minimal + systemd, systemd-sysv, dbus, python3-apt, sudo, iproute2,
#          procps, curl, openssh-server (the local environment's "hosts" and
#          Molecule platforms). sshd never listens: Ansible reaches a local host
#          with SSH carried over `podman exec ... sshd -i` (inventories/local), for
#          SSH's pipelining and connection reuse. Each container generates its own
#          host keys when provisioned; the image holds none.
#
# Both carry this machine's CA bundle (/etc/ssl/certs/ca-certificates.crt), so that
# containers reach PyPI and Debian through an intercepting proxy, plus the optional
# EXTRA_CA_BUNDLE file. An existing image is kept unless --rebuild is given or it
# was built by another version of this script (label io.gradestack.base-recipe).
#
# Environment (all optional):
#   DEBIAN_MIRROR           Debian mirror (default: the bookworm source in this host's
#                           apt configuration, else http://deb.debian.org/debian)
#   DEBIAN_SECURITY_MIRROR  security mirror (default: from apt, else deb.debian.org)
#   EXTRA_CA_BUNDLE         PEM file with more CA certificates to trust in the image
#   HOST_CA_BUNDLE          the host bundle to carry (default /etc/ssl/certs/ca-certificates.crt)
#   BASE_IMAGE_REPO         image repository (default localhost/gradestack-base)
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib.sh
. "$REPO/scripts/lib.sh"

SUITE=bookworm
BASE_IMAGE_REPO="${BASE_IMAGE_REPO:-localhost/gradestack-base}"
HOST_CA_BUNDLE="${HOST_CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"
EXTRA_CA_BUNDLE="${EXTRA_CA_BUNDLE:-}"

MINIMAL_PACKAGES=(python3 python3-venv ca-certificates)
SYSTEMD_PACKAGES=(systemd systemd-sysv dbus python3-apt sudo iproute2 procps curl openssh-server)

usage() {
  cat >&2 <<'USAGE'
usage: scripts/build-base-image.sh {minimal|systemd} [--rebuild]
  minimal  localhost/gradestack-base:bookworm-minimal (python3, python3-venv, ca-certificates)
  systemd  localhost/gradestack-base:bookworm-systemd (minimal + systemd, dbus, python3-apt, ...)
  --rebuild  build again even when the image exists
USAGE
  exit 2
}

# Print the URI of the first apt source (deb822 or one-line format) serving $1.
apt_source_uri() {
  local suite="$1" f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    awk -v s="$suite" '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^[a-z]+:\/\//) { if ($(i + 1) == s) { print $i; exit } } }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    # deb822: blank-line separated stanzas; pick a stanza whose Suites list has $suite.
    awk -v s="$suite" '
      function flush() { if (found && uri != "") { print uri; exit } uri = ""; found = 0 }
      /^[[:space:]]*$/ { flush(); next }
      /^URIs:/ { uri = $2 }
      /^Suites:/ { for (i = 2; i <= NF; i++) if ($i == s) found = 1 }
      END { flush() }' "$f"
  done
}

# Split a PEM bundle ($1) into one file per certificate in directory $2, named
# $3-NNN.crt, skipping certificates whose base64 body also appears in bundle $4
# (when given): the image's own Mozilla set need not be copied twice.
split_bundle() {
  local bundle="$1" outdir="$2" prefix="$3" known="${4:-}"
  awk -v outdir="$outdir" -v prefix="$prefix" -v known="$known" '
    BEGIN {
      if (known != "") {
        body = ""
        while ((getline line < known) > 0) {
          if (line ~ /-----BEGIN CERTIFICATE-----/) { body = ""; inside = 1; continue }
          if (line ~ /-----END CERTIFICATE-----/) { seen[body] = 1; inside = 0; continue }
          if (inside) { gsub(/[[:space:]]/, "", line); body = body line }
        }
      }
      n = 0
    }
    /-----BEGIN CERTIFICATE-----/ { pem = $0 "\n"; body = ""; inside = 1; next }
    inside {
      pem = pem $0 "\n"
      if ($0 ~ /-----END CERTIFICATE-----/) {
        inside = 0
        if (!(body in seen)) {
          n++
          file = sprintf("%s/%s-%03d.crt", outdir, prefix, n)
          printf "%s", pem > file
          close(file)
        }
        next
      }
      line = $0; gsub(/[[:space:]]/, "", line); body = body line
    }
    END { print n }' "$bundle"
}

cleanup() {
  if [ -n "${WORKDIR:-}" ] && [ -d "$WORKDIR" ]; then
    # Never follow a mount out of the build tree.
    rm -rf --one-file-system "$WORKDIR"
  fi
}

main() {
  local flavor="" rebuild=0 arg
  for arg in "$@"; do
    case "$arg" in
      minimal | systemd) [ -z "$flavor" ] || usage; flavor="$arg" ;;
      --rebuild) rebuild=1 ;;
      -h | --help) usage ;;
      *) warn "unknown argument: $arg"; usage ;;
    esac
  done
  [ -n "$flavor" ] || usage

  local image="$BASE_IMAGE_REPO:$SUITE-$flavor"
  command -v podman >/dev/null || die "podman is not installed; run 'make setup' (or apt-get install podman runc)"
  # The image records the script that built it: a changed recipe (a package added,
  # a unit masked) rebuilds it without anyone having to know about --rebuild.
  local recipe built_recipe=""
  recipe="$(sha256sum "${BASH_SOURCE[0]}" | cut -c1-16)"
  if podman image exists "$image"; then
    built_recipe="$(podman image inspect --format '{{ index .Labels "io.gradestack.base-recipe" }}' "$image")"
    if [ "$rebuild" -eq 0 ] && [ "$built_recipe" = "$recipe" ]; then
      step "base image $image exists (use --rebuild to build it again)"
      return 0
    fi
    [ "$rebuild" -eq 1 ] || step "base image $image was built by another version of this script; rebuilding"
  fi

  [ "$(id -u)" -eq 0 ] || die "debootstrap needs root; run as root (sudo $0 $*)"
  command -v debootstrap >/dev/null || die "debootstrap is not installed; run 'make setup' (or apt-get install debootstrap)"
  [ -r "$HOST_CA_BUNDLE" ] || die "host CA bundle $HOST_CA_BUNDLE is missing; install ca-certificates or set HOST_CA_BUNDLE"
  if [ -n "$EXTRA_CA_BUNDLE" ]; then
    [ -r "$EXTRA_CA_BUNDLE" ] || die "EXTRA_CA_BUNDLE=$EXTRA_CA_BUNDLE is not a readable file"
    grep -q -- '-----BEGIN CERTIFICATE-----' "$EXTRA_CA_BUNDLE" \
      || die "EXTRA_CA_BUNDLE=$EXTRA_CA_BUNDLE holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
  fi

  local mirror security
  mirror="${DEBIAN_MIRROR:-$(apt_source_uri "$SUITE" | head -n1)}"
  mirror="${mirror:-http://deb.debian.org/debian}"
  security="${DEBIAN_SECURITY_MIRROR:-$(apt_source_uri "$SUITE-security" | head -n1)}"
  security="${security:-http://deb.debian.org/debian-security}"

  local packages=("${MINIMAL_PACKAGES[@]}")
  [ "$flavor" = systemd ] && packages+=("${SYSTEMD_PACKAGES[@]}")
  local include
  include="$(IFS=,; echo "${packages[*]}")"

  WORKDIR="$(mktemp -d /var/tmp/gradestack-base.XXXXXX)"
  trap cleanup EXIT
  local root="$WORKDIR/rootfs"
  local started=$SECONDS

  step "debootstrap $SUITE (minbase + $include) from $mirror"
  debootstrap --variant=minbase --include="$include" "$SUITE" "$root" "$mirror" >"$WORKDIR/debootstrap.log" 2>&1 || {
    tail -n 30 "$WORKDIR/debootstrap.log" >&2
    [ -f "$root/debootstrap/debootstrap.log" ] && tail -n 30 "$root/debootstrap/debootstrap.log" >&2
    die "debootstrap failed (log above); check the mirror $mirror (set DEBIAN_MIRROR to override)"
  }

  step "configuring apt sources, CA certificates and container settings"
  cat >"$root/etc/apt/sources.list" <<EOF
deb $mirror $SUITE main
deb $mirror $SUITE-updates main
deb $security $SUITE-security main
EOF
  # The host's own additions (an intercepting proxy's CA, a corporate CA) are the
  # certificates of its bundle that Debian's bundle in the image lacks.
  local cadir="$root/usr/local/share/ca-certificates/gradestack"
  mkdir -p "$cadir"
  local added extra=0
  added="$(split_bundle "$HOST_CA_BUNDLE" "$cadir" host "$root/etc/ssl/certs/ca-certificates.crt")"
  if [ -n "$EXTRA_CA_BUNDLE" ]; then
    extra="$(split_bundle "$EXTRA_CA_BUNDLE" "$cadir" extra)"
  fi
  chroot "$root" update-ca-certificates >/dev/null 2>&1 || die "update-ca-certificates failed inside the image"
  step "CA certificates: $added from the host bundle, $extra from EXTRA_CA_BUNDLE"
  # pip uses its own certifi bundle unless told otherwise.
  printf '[global]\ncert = /etc/ssl/certs/ca-certificates.crt\n' >"$root/etc/pip.conf"
  rm -rf "$root"/var/cache/apt/*.bin "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/*
  if [ "$flavor" = systemd ]; then
    # Hosts configured by Ansible keep fresh package lists of all three suites:
    # roles install with cache_valid_time, and an image without lists would look
    # "recently updated" to apt the moment anything opens its cache.
    step "apt-get update inside the image"
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    chroot "$root" apt-get update -qq >"$WORKDIR/apt-update.log" 2>&1 || {
      cat "$WORKDIR/apt-update.log" >&2
      die "apt-get update inside the image failed (output above); check $mirror and $security"
    }
    rm -f "$root/etc/resolv.conf" "$root"/var/cache/apt/*.bin
  fi
  : >"$root/etc/machine-id"
  echo "gradestack-$flavor" >"$root/etc/hostname"

  local changes=(
    --change "ENV LANG=C.UTF-8"
    --change "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt"
    --change "ENV REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt"
    --change "ENV AWS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt"
    --change "LABEL io.gradestack.component=base-image"
    --change "LABEL io.gradestack.base-flavor=$flavor"
    --change "LABEL io.gradestack.base-recipe=$recipe"
  )
  if [ "$flavor" = systemd ]; then
    # Units that make no sense in a container and slow or break its boot.
    local unit
    for unit in systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket \
      systemd-remount-fs.service getty.target console-getty.service \
      systemd-timesyncd.service apt-daily.timer apt-daily-upgrade.timer; do
      ln -sf /dev/null "$root/etc/systemd/system/$unit"
    done
    # sshd runs only on demand, as `sshd -i` under `podman exec` (no port, no
    # daemon); it needs its privilege-separation directory after every boot.
    ln -sf /dev/null "$root/etc/systemd/system/ssh.service"
    ln -sf /dev/null "$root/etc/systemd/system/ssh.socket"
    echo 'd /run/sshd 0755 root root -' >"$root/etc/tmpfiles.d/sshd.conf"
    # Host keys made now would be shared by every container built from the image.
    rm -f "$root"/etc/ssh/ssh_host_*
    changes+=(--change "CMD [\"/sbin/init\"]" --change "STOPSIGNAL SIGRTMIN+3")
  else
    changes+=(--change "CMD [\"/bin/bash\"]")
  fi

  step "podman import -> $image"
  local previous=""
  previous="$(podman image inspect --format '{{.Id}}' "$image" 2>/dev/null)" || previous=""
  tar --numeric-owner --xattrs -C "$root" -c . \
    | podman import "${changes[@]}" --message "gradestack $flavor base (debootstrap $SUITE minbase)" - "$image" >/dev/null 2>"$WORKDIR/import.log" \
    || { cat "$WORKDIR/import.log" >&2; die "podman import of $image failed (output above)"; }
  if [ -n "$previous" ]; then
    # The replaced image, unless containers still use it (they keep it alive).
    podman rmi "$previous" >/dev/null 2>&1 || warn "the previous $image ($previous) is still used by containers; kept"
  fi
  step "built $image in $((SECONDS - started)) s"
}

main "$@"
