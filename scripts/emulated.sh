#!/usr/bin/env bash
# The emulated environment: gradestack's production path against moto server,
# the AWS emulator, on this machine. No AWS account is used or touched.
#
#   scripts/emulated.sh [deploy] [ansible args]   start the emulator if needed, then
#                                                 ansible-playbook deploy.yml -i inventories/emulated
#   scripts/emulated.sh run <playbook> [args]     any playbook against the running emulator, e.g.
#                                                 run rollback.yml -e mode=gradual
#                                                 run destroy.yml -e confirm=emulated -e disable_deletion_protection=true
#   scripts/emulated.sh start | stop | status     the emulator alone
#   scripts/emulated.sh env                       the environment variables to talk to it (eval "$(...)")
#   scripts/emulated.sh serve --port N            run the emulator in the foreground (used by start and the tests)
#
# The emulator is scripts/moto_server.py (every moto adjustment lives there). It
# listens on 127.0.0.1:${EMULATOR_PORT:-4566}; EMULATOR_PORT=0 picks a free port. Its endpoint
# is written to .state/emulated/emulator/endpoint; the playbooks read it from
# AWS_ENDPOINT_URL, which this script exports. The environment's secrets
# (db_password, mq_web_password, mq_worker_password, mq_verify_password) are generated once into .state/emulated/secrets/
# (mode 0600) and stored in the emulator's SSM Parameter Store, where the
# deploy reads them as it does in AWS. moto keeps everything in memory: stop
# it and the emulated AWS account is empty again.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=scripts/lib.sh
. "$REPO/scripts/lib.sh"

PYTHON="${PYTHON:-$REPO/.venv/bin/python}"
STATE="${GRADESTACK_EMULATED_STATE:-$REPO/.state/emulated}"
EMU_DIR="$STATE/emulator"
REGION="ap-northeast-2"

usage() { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; }

# moto through scripts/moto_server.py (all its adjustments), in the foreground.
serve() {
  local port=""
  while [ $# -gt 0 ]; do
    case "$1" in
      --port) port="$2"; shift 2 ;;
      *) die "serve: unknown argument $1" ;;
    esac
  done
  [ -n "$port" ] || die "serve needs --port N"
  exec "$PYTHON" "$REPO/scripts/moto_server.py" --host 127.0.0.1 --port "$port"
}

running() { [ -s "$EMU_DIR/pid" ] && kill -0 "$(cat "$EMU_DIR/pid")" 2>/dev/null; }

client_env() {
  cat <<ENV
export AWS_ENDPOINT_URL=$(cat "$EMU_DIR/endpoint")
export AWS_ACCESS_KEY_ID=testing
export AWS_SECRET_ACCESS_KEY=testing
export AWS_REGION=$REGION
export AWS_DEFAULT_REGION=$REGION
export AWS_EC2_METADATA_DISABLED=true
export AWS_CONFIG_FILE=/dev/null
export AWS_SHARED_CREDENTIALS_FILE=/dev/null
unset AWS_PROFILE AWS_SESSION_TOKEN
ENV
}

seed_secrets() {
  mkdir -p "$STATE/secrets" && chmod 700 "$STATE/secrets"
  "$PYTHON" - "$STATE/secrets" <<'PY'
import os
import secrets
import string
import sys

import boto3

directory = sys.argv[1]
ssm = boto3.client("ssm")
alphabet = string.ascii_letters + string.digits
# name -> length (the web app's SECRET_KEY needs 32+ characters; preflight checks every one)
secret_lengths = (
    ("db_password", 24),
    ("mq_web_password", 24),
    ("mq_worker_password", 24),
    ("mq_verify_password", 24),
    ("web_secret_key", 48),
)
for name, length in secret_lengths:
    path = os.path.join(directory, name)
    if not os.path.exists(path):
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write("Gs" + "".join(secrets.choice(alphabet) for _ in range(length - 2)))
    with open(path) as handle:
        value = handle.read().strip()
    ssm.put_parameter(Name=f"/gradestack/emulated/{name}", Value=value, Type="SecureString", Overwrite=True)
PY
}

start() {
  if running; then
    step "AWS emulator already running at $(cat "$EMU_DIR/endpoint") (pid $(cat "$EMU_DIR/pid"))"
  else
    mkdir -p "$EMU_DIR"
    local port="${EMULATOR_PORT:-4566}"
    if [ "$port" = 0 ]; then
      port="$("$PYTHON" -c 'from testsupport.ports import free_port; print(free_port())')"
    fi
    if "$PYTHON" -c "import socket,sys; s=socket.socket(); sys.exit(s.connect_ex(('127.0.0.1', $port)) != 0)"; then
      die "port $port on 127.0.0.1 is in use; set EMULATOR_PORT to a free port (or 0 to pick one)"
    fi
    step "Starting the AWS emulator (moto) on http://127.0.0.1:$port"
    nohup "$0" serve --port "$port" >"$EMU_DIR/moto.log" 2>&1 &
    echo $! >"$EMU_DIR/pid"
    echo "http://127.0.0.1:$port" >"$EMU_DIR/endpoint"
    (cd "$REPO" && "$PYTHON" -c "from testsupport.ports import wait_for_port; wait_for_port($port, timeout=60)") \
      || die "the emulator did not start; see $EMU_DIR/moto.log"
  fi
  eval "$(client_env)"
  seed_secrets
}

stop() {
  if running; then
    kill "$(cat "$EMU_DIR/pid")" && step "AWS emulator stopped (its AWS account is gone with it)"
  else
    step "AWS emulator not running"
  fi
  rm -f "$EMU_DIR/pid"
}

playbook() {
  local book="$1"; shift
  running || die "the AWS emulator is not running: scripts/emulated.sh start (or make emulated)"
  eval "$(client_env)"
  cd "$REPO"
  export ANSIBLE_CONFIG="$REPO/ansible.cfg"
  step "ansible-playbook $book -i inventories/emulated $* (AWS = $AWS_ENDPOINT_URL)"
  "$REPO/.venv/bin/ansible-playbook" "$book" -i inventories/emulated "$@"
}

command="${1:-deploy}"
case "$command" in
  -h | --help | help) usage ;;
  serve) shift; serve "$@" ;;
  start) start ;;
  stop) stop ;;
  status) if running; then echo "running at $(cat "$EMU_DIR/endpoint")"; else echo "not running"; exit 1; fi ;;
  env) running || die "the AWS emulator is not running"; client_env ;;
  run) shift; [ $# -ge 1 ] || die "run needs a playbook"; playbook "$@" ;;
  deploy) shift; start; playbook deploy.yml "$@"
    step "The emulator keeps running: scripts/emulated.sh run verify.yml | rollback.yml -e mode=gradual | destroy.yml ...; scripts/emulated.sh stop" ;;
  -*) start; playbook deploy.yml "$@" ;;
  *) die "unknown command $command (see scripts/emulated.sh --help)" ;;
esac
