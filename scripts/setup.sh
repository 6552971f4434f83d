#!/usr/bin/env bash
# One-command, idempotent setup of everything gradestack's tools and tests need
# on a Debian 12 machine: apt packages, podman settings, the Python venv, the
# checkov venv and the per-topic steps in scripts/setup.d/.
#
# A second run with nothing missing only checks and returns (target: < 10 s).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
# shellcheck source=scripts/lib.sh
. "$REPO/scripts/lib.sh"

# Debian packages the tools and tests use, and why.
APT_PACKAGES=(
  podman runc uidmap slirp4netns fuse-overlayfs  # containers (no Docker engine here)
  debootstrap                                    # base images without a registry
  activemq default-jre-headless                  # real broker for integration tests
  postgresql                                     # real database for integration tests
  chromium                                       # headless browser test
  libseccomp2                                    # the grading sandbox's syscall filter
  gcc g++ make git curl ca-certificates openssl python3-venv
)

install_apt_packages() {
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
  done
  if [ ${#missing[@]} -eq 0 ]; then
    step "apt packages: all ${#APT_PACKAGES[@]} present"
    return
  fi
  step "apt packages: installing ${missing[*]}"
  if [ "$(id -u)" -ne 0 ]; then
    die "installing Debian packages needs root. Run 'sudo make setup', or install them yourself: sudo apt-get install ${missing[*]}"
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq || die "apt-get update failed; check the network or your apt sources"
  # The activemq package starts its service on install; our tests start their own brokers.
  apt-get install -y -qq --no-install-recommends "${missing[@]}" \
    || die "apt-get install failed for: ${missing[*]} (see the apt output above)"
}

configure_podman() {
  # Podman's system containers.conf: no default ulimits (the container's hard
  # limits here are lower than podman's defaults) and runc (crun fails on this
  # machine's cgroup layout). A marked block so we never clobber other settings.
  local conf=/etc/containers/containers.conf
  if [ -f "$conf" ] && grep -q "# gradestack: begin" "$conf"; then
    step "podman: $conf already configured"
    return
  fi
  [ "$(id -u)" -eq 0 ] || die "configuring $conf needs root; run 'sudo make setup'"
  if [ -f "$conf" ] && grep -Eq '^\s*\[(containers|engine)\]' "$conf"; then
    die "$conf already has [containers] or [engine] sections; add 'default_ulimits = []' under [containers] and 'runtime = \"runc\"' under [engine] yourself, then add a line '# gradestack: begin' to mark it done"
  fi
  step "podman: writing default_ulimits = [] and runtime = runc to $conf"
  mkdir -p /etc/containers
  cat >> "$conf" <<'CONF'
# gradestack: begin (scripts/setup.sh)
[containers]
default_ulimits = []

[engine]
runtime = "runc"
# gradestack: end
CONF
}

create_venvs() {
  local stamp=".venv/.gradestack-requirements"
  local want
  want="$(cat requirements.txt services/*/pyproject.toml | sha256sum | cut -d' ' -f1)"
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    step "venv: .venv matches requirements.txt"
  else
    step "venv: installing requirements.txt into .venv (first run takes a few minutes)"
    [ -x .venv/bin/python ] || python3 -m venv .venv || die "python3 -m venv failed; install python3-venv"
    .venv/bin/pip install -q --disable-pip-version-check -r requirements.txt \
      || die "pip install -r requirements.txt failed (see above)"
    # Our own packages, editable, with their dependencies pinned by requirements.txt.
    local pkgs=()
    for project in services/*/pyproject.toml; do pkgs+=(-e "$(dirname "$project")"); done
    .venv/bin/pip install -q --disable-pip-version-check --no-deps "${pkgs[@]}" \
      || die "installing the services' packages failed (see above)"
    echo "$want" > "$stamp"
  fi

  # checkov pins many libraries that clash with ansible-lint's and moto's, so it
  # lives in its own venv.
  local ck_stamp=".venv-checkov/.gradestack-requirements"
  want="$(sha256sum requirements-checkov.txt | cut -d' ' -f1)"
  if [ -f "$ck_stamp" ] && [ "$(cat "$ck_stamp")" = "$want" ]; then
    step "venv: .venv-checkov matches requirements-checkov.txt"
  else
    step "venv: installing checkov into .venv-checkov"
    [ -x .venv-checkov/bin/python ] || python3 -m venv .venv-checkov || die "python3 -m venv failed"
    .venv-checkov/bin/pip install -q --disable-pip-version-check -r requirements-checkov.txt \
      || die "pip install -r requirements-checkov.txt failed (see above)"
    echo "$want" > "$ck_stamp"
  fi
}

main() {
  step "gradestack setup in $REPO"
  install_apt_packages
  configure_podman
  create_venvs
  # Topic-specific steps (Terraform CLI config, base images, ...), in name order.
  for part in scripts/setup.d/*.sh; do
    [ -e "$part" ] || continue
    bash "$part" || die "$part failed"
  done
  step "setup complete"
}

main "$@"
