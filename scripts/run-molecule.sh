#!/usr/bin/env bash
# Run every Molecule scenario (molecule/<name>/molecule.yml) with `molecule test -s <name>`
# from the repository root, MOLECULE_JOBS at a time (default 2: scenarios mostly wait
# on package downloads and podman exec, not on the CPU), and fail if any failed.
#
#   scripts/run-molecule.sh                  # every scenario
#   scripts/run-molecule.sh postgresql web   # only these
#
# Each scenario's output goes to $MOLECULE_LOG_DIR/<name>.log (default
# .cache/molecule); a failed scenario's log tail is printed. The summary lists
# the wall-clock time of each scenario. With JUNIT_DIR set (.ci/run sets it through
# make), the results are also written to $JUNIT_DIR/molecule.xml, one testcase each.
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO"
# shellcheck source=scripts/lib.sh
. "$REPO/scripts/lib.sh"

JOBS="${MOLECULE_JOBS:-2}"
LOG_DIR="${MOLECULE_LOG_DIR:-$REPO/.cache/molecule}"
[[ "$JOBS" =~ ^[1-9][0-9]*$ ]] || die "MOLECULE_JOBS must be a positive integer (got '$JOBS')"
[ -x "$REPO/.venv/bin/molecule" ] || die "molecule is not installed in .venv; run 'make setup'"
command -v podman >/dev/null || die "podman is not installed; run 'make setup'"
# molecule calls ansible-config, ansible-playbook and pytest by name.
export PATH="$REPO/.venv/bin:$PATH"

scenarios=()
if [ $# -gt 0 ]; then
  for name in "$@"; do
    [ -f "molecule/$name/molecule.yml" ] || die "no scenario molecule/$name/molecule.yml"
    scenarios+=("$name")
  done
else
  for file in molecule/*/molecule.yml; do
    [ -e "$file" ] || continue
    scenarios+=("$(basename "$(dirname "$file")")")
  done
fi
[ ${#scenarios[@]} -gt 0 ] || die "no Molecule scenarios under molecule/"

# Every scenario's platforms use the systemd base image: build it once, up front.
"$REPO/scripts/build-base-image.sh" systemd

mkdir -p "$LOG_DIR"
step "molecule: ${#scenarios[*]} scenarios (${scenarios[*]}), $JOBS at a time, logs in $LOG_DIR"

run_one() {
  local name="$1" start=$SECONDS rc=0
  molecule test -s "$name" >"$LOG_DIR/$name.log" 2>&1 || rc=$?
  # molecule 26 has been seen exiting 0 after a failed idempotence step: never trust that.
  if [ "$rc" -eq 0 ] && grep -q "Idempotence test failed" "$LOG_DIR/$name.log"; then rc=3; fi
  echo "$rc $((SECONDS - start))" >"$LOG_DIR/$name.result"
}

started=$SECONDS
running=0
for name in "${scenarios[@]}"; do
  rm -f "$LOG_DIR/$name.result"
  run_one "$name" &
  running=$((running + 1))
  if [ "$running" -ge "$JOBS" ]; then
    wait -n || true  # run_one records its own status; a failure is reported below
    running=$((running - 1))
  fi
done
wait

failed=()
for name in "${scenarios[@]}"; do
  if [ ! -f "$LOG_DIR/$name.result" ]; then
    failed+=("$name")
    printf '  %-20s no result (see %s)\n' "$name" "$LOG_DIR/$name.log"
    continue
  fi
  read -r rc secs <"$LOG_DIR/$name.result"
  if [ "$rc" -eq 0 ]; then
    printf '  %-20s passed in %4d s\n' "$name" "$secs"
  else
    failed+=("$name")
    printf '  %-20s FAILED (exit %d) after %4d s; last lines of %s:\n' "$name" "$rc" "$secs" "$LOG_DIR/$name.log"
    sed 's/\x1b\[[0-9;]*m//g' "$LOG_DIR/$name.log" | tail -n 40 | sed 's/^/      /'
  fi
done
if [ -n "${JUNIT_DIR:-}" ]; then
  "$REPO/.venv/bin/python" "$REPO/scripts/molecule_junit.py" "$LOG_DIR" "$JUNIT_DIR/molecule.xml" "${scenarios[@]}"
fi
step "molecule: $(( ${#scenarios[@]} - ${#failed[@]} ))/${#scenarios[@]} scenarios passed in $((SECONDS - started)) s"
[ ${#failed[@]} -eq 0 ] || die "Molecule scenarios failed: ${failed[*]}"
