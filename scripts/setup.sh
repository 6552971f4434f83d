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
  netavark aardvark-dns iptables                 # podman networks with DNS for container names
  debootstrap                                    # base images without a registry
  activemq default-jre-headless                  # real broker for integration tests
  postgresql                                     # real database for integration tests
  chromium                                       # headless browser test
  libseccomp2                                    # the grading sandbox's syscall filter
  gcc g++ make git curl ca-certificates openssl python3-venv  # compilers, make, git, TLS, venvs
  libc6-dev                                      # gcc -static (sandbox supervisor), C submissions; gcc only Recommends it
  python3                                        # /usr/bin/python3 runs Python submissions in the grading tests
  openssh-client                                 # ssh, ssh-keygen: Ansible's SSH to local containers and Molecule
                                                 # platforms (podman exec ... sshd -i); known_hosts, openssh_keypair
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

# Podman's system containers.conf, in a block between markers that setup owns and
# rewrites when it changes (never other lines):
#   default_ulimits = []   the container's hard limits here are lower than podman's defaults
#   runtime = "runc"       crun fails on this machine's cgroup layout
#   network_backend        netavark + aardvark-dns resolve container names on a network;
#                          podman's CNI backend (what a podman installed without its
#                          recommended packages falls back to) resolves none of them
# GRADESTACK_PODMAN_CONF: another file, for tests of this logic only.
PODMAN_CONF="${GRADESTACK_PODMAN_CONF:-/etc/containers/containers.conf}"
PODMAN_CONF_BLOCK='# gradestack: begin (scripts/setup.sh)
[containers]
default_ulimits = []

[engine]
runtime = "runc"

[network]
network_backend = "netavark"
# gradestack: end'

# Before podman changes network backend, tell the user what already exists under the
# old one. Nothing is removed: running containers stop the switch (their interfaces
# and firewall rules would leak), stopped ones and CNI networks are listed with what to do.
check_cni_state() {
  local backend
  # No answer (podman broken): configure_podman's read-back reports it after the write.
  backend="$(podman info --format '{{.Host.NetworkBackend}}' 2>/dev/null)" || return 0
  [ "$backend" = "cni" ] || return 0
  local running stopped networks
  running="$(podman ps --format '{{.Names}}' | xargs)"
  stopped="$(podman ps -a --filter status=created --filter status=exited --filter status=stopped \
    --format '{{.Names}}' | xargs)"
  networks="$(podman network ls --format '{{.Name}}' | awk '$0 != "podman"' | xargs)"
  step "podman: the network backend is CNI; switching it to netavark"
  if [ -n "$running" ]; then
    die "podman runs containers under its CNI backend: ${running}. Switching the backend under running containers leaks their network interfaces and firewall rules. Stop them first (podman stop ${running}) and run 'make setup' again; nothing was changed."
  fi
  if [ -n "$stopped" ]; then
    warn "these containers were created under CNI and are kept: ${stopped}. Those attached to a network other than 'podman' start again once that network exists under netavark (podman network create <name>); gradestack's own (gradestack-*) are recreated by 'make destroy-local && make local'."
  fi
  if [ -n "$networks" ]; then
    warn "these CNI networks are kept in /etc/cni/net.d but netavark does not see them: ${networks}. Recreate the ones you need with 'podman network create <name>'."
  fi
}

configure_podman() {
  local current=""
  if [ -f "$PODMAN_CONF" ] && grep -q "^# gradestack: begin" "$PODMAN_CONF"; then
    current="$(sed -n '/^# gradestack: begin/,/^# gradestack: end/p' "$PODMAN_CONF")"
  fi
  if [ "$current" = "$PODMAN_CONF_BLOCK" ]; then
    step "podman: $PODMAN_CONF already configured"
  else
    [ "$(id -u)" -eq 0 ] || die "configuring $PODMAN_CONF needs root; run 'sudo make setup'"
    if [ -z "$current" ] && [ -f "$PODMAN_CONF" ] && grep -Eq '^\s*\[(containers|engine|network)\]' "$PODMAN_CONF"; then
      die "$PODMAN_CONF already has a [containers], [engine] or [network] section; merge these settings into it yourself, keeping the two marker lines so that setup recognises them:
$PODMAN_CONF_BLOCK"
    fi
    check_cni_state
    mkdir -p "$(dirname "$PODMAN_CONF")"
    if [ -n "$current" ]; then
      step "podman: updating gradestack's block in $PODMAN_CONF"
      sed -i '/^# gradestack: begin/,/^# gradestack: end/d' "$PODMAN_CONF"
    else
      step "podman: writing gradestack's block to $PODMAN_CONF"
    fi
    printf '%s\n' "$PODMAN_CONF_BLOCK" >>"$PODMAN_CONF"
  fi
  # Read the effective settings back: a containers.conf elsewhere (e.g. under
  # /usr/share or $HOME) could still win.
  local backend runtime
  backend="$(podman info --format '{{.Host.NetworkBackend}}')" || die "podman info failed (see above)"
  runtime="$(podman info --format '{{.Host.OCIRuntime.Name}}')" || die "podman info failed (see above)"
  [ "$backend" = netavark ] \
    || die "podman's network backend is '$backend', not netavark, although $PODMAN_CONF asks for it; check 'podman info' and other containers.conf files (/usr/share/containers, \$HOME/.config/containers)"
  [ "$runtime" = runc ] || die "podman's OCI runtime is '$runtime', not runc; check the containers.conf files podman reads"
}

# The build stage names the grading image and the web bundle after commits (git
# rev-parse, git log): the checkout must be a git repository with a commit that git
# agrees to read. Run as root on a checkout another user owns, git (>= 2.35.2)
# refuses it ("dubious ownership") until it is listed in safe.directory.
check_git_checkout() {
  local out
  if out="$(git -C "$REPO" rev-parse --verify --short=12 HEAD 2>&1)"; then
    step "git: $REPO at $out"
    return
  fi
  case "$out" in
    *"dubious ownership"*)
      die "git refuses to read $REPO: another user owns it and setup runs as $(id -un). Trust the checkout: git config --global --add safe.directory $REPO (or use a checkout $(id -un) owns)" ;;
    *)
      die "$REPO is not a git checkout with a commit (git rev-parse HEAD: ${out}); the build stage names images and bundles after commits: clone the repository with git" ;;
  esac
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
  check_git_checkout
  configure_podman
  create_venvs
  # Topic-specific steps (Terraform CLI config, base images, ...), in name order.
  for part in scripts/setup.d/*.sh; do
    [ -e "$part" ] || continue
    bash "$part" || die "$part failed"
  done
  step "setup complete"
}

# Sourcing (tests) defines the functions only.
if [[ "${BASH_SOURCE[0]}" == "$0" ]]; then
  main "$@"
fi
