"""roles/verify_schedule: a systemd verifier container whose timer runs gradestack-verify under a lock.

Each run is the scenario's stand-in command (vars/main.yml): it logs its start and end in
runs.log, holds while the `hold` file exists and writes a JUnit report.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

CONTAINER = "gradestack-molecule-vs-verifier"
ENVIRONMENT = "molecule"
INSIDE_REPORTS = "/var/lib/gradestack-verifier/reports"
LOCK = f"{INSIDE_REPORTS}/.verify-{ENVIRONMENT}.lock"


def ephemeral() -> Path:
    return Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])


def reports() -> Path:
    return ephemeral() / "reports"


def inspect() -> dict:
    out = subprocess.run(["podman", "container", "inspect", CONTAINER], capture_output=True, text=True, check=True)
    return json.loads(out.stdout)[0]


def in_container(*argv: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", "exec", CONTAINER, *argv], capture_output=True, text=True, check=check)


def runs() -> list[str]:
    log = reports() / "runs.log"
    return log.read_text().splitlines() if log.exists() else []


def wait_for(condition, what: str, timeout: float = 120) -> None:
    """Poll until condition() holds (a wait, not an assertion on how long it took)."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.5)


def lock_waiters() -> int:
    """Blocked flock requests on the lock file, from the kernel's table (one kernel for host and containers)."""
    inode = (reports() / f".verify-{ENVIRONMENT}.lock").stat().st_ino
    table = Path("/proc/locks").read_text().splitlines()
    return sum(1 for line in table if "->" in line and "FLOCK" in line and line.split()[-3].endswith(f":{inode}"))


def test_container_on_the_network_labelled_with_its_mounts():
    data = inspect()
    assert data["State"]["Running"]
    assert list(data["NetworkSettings"]["Networks"]) == ["gradestack-molecule-vs"]
    labels = data["Config"]["Labels"]
    assert labels["io.gradestack.environment"] == "molecule-vs"
    assert labels["io.gradestack.role"] == "verifier"
    assert data["Config"]["Image"].startswith("localhost/gradestack-molecule-vs-verifier:")
    mounts = {m["Destination"]: m for m in data["Mounts"]}
    state = mounts[f"/opt/gradestack/.state/{ENVIRONMENT}"]
    assert state["Source"] == str(ephemeral() / "state") and not state["RW"]
    report_mount = mounts[INSIDE_REPORTS]
    assert report_mount["Source"] == str(reports()) and report_mount["RW"]
    env = dict(item.split("=", 1) for item in data["Config"]["Env"])
    assert env["GRADESTACK_ENVIRONMENT"] == ENVIRONMENT
    assert env["GRADESTACK_VERIFY_VANTAGE"] == "network"
    assert json.loads(env["GRADESTACK_VERIFY_EXTRA_VARS"]) == {"local_network_name": "gradestack-molecule-vs"}


def test_the_state_directory_is_read_only_inside():
    result = in_container("touch", f"/opt/gradestack/.state/{ENVIRONMENT}/written-by-the-verifier", check=False)
    assert result.returncode != 0
    assert "Read-only file system" in result.stderr


def test_timer_active_every_interval():
    assert in_container("systemctl", "is-active", "gradestack-verify.timer").stdout.strip() == "active"
    assert in_container("systemctl", "is-enabled", "gradestack-verify.timer").stdout.strip() == "enabled"
    shown = in_container("systemctl", "show", "gradestack-verify.timer", "--property", "TimersMonotonic").stdout
    # converge.yml sets 7 minutes: the first run one interval after the start, then one interval after each run.
    assert "OnUnitActiveUSec=7min" in shown, shown
    assert "OnActiveUSec=7min" in shown, shown


def test_a_run_writes_a_report_the_host_user_can_read():
    (reports() / "hold").unlink(missing_ok=True)
    before = len(runs())
    result = in_container("systemctl", "start", "gradestack-verify.service", check=False)
    journal = in_container("journalctl", "-u", "gradestack-verify", "-n", "30", check=False).stdout
    assert result.returncode == 0, result.stderr + journal
    assert runs()[before:] == ["start unit", "end unit"]
    report = reports() / f"verify-{ENVIRONMENT}.xml"
    text = report.read_text()
    # The stand-in read the secret from the read-only state directory (its length: 18).
    assert 'name="stand-in network 18"' in text
    assert report.stat().st_mode & 0o777 == 0o644
    assert reports().stat().st_mode & 0o777 == 0o755


def test_a_second_concurrent_start_waits_on_the_lock():
    hold = reports() / "hold"
    hold.touch()
    before = len(runs())
    try:
        in_container("systemctl", "start", "--no-block", "gradestack-verify.service")
        wait_for(lambda: runs()[before:] == ["start unit"], "the scheduled run to start")
        # A run started by hand while the unit runs (what systemd alone would let overlap):
        # the same lock, taken the same way, inside the same container (podman exec runs
        # with the container's GRADESTACK_* environment).
        second = subprocess.Popen(
            [
                "podman", "exec", "--env", "GRADESTACK_VERIFY_RUN_NAME=second", CONTAINER,
                "flock", "--exclusive", LOCK, "gradestack-verify",
            ],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        # The kernel shows it blocked on the lock, and it has not started its run.
        wait_for(lambda: lock_waiters() == 1, "the second run to wait on the lock")
        assert runs()[before:] == ["start unit"]
        assert second.poll() is None
    finally:
        hold.unlink()
    output, _ = second.communicate(timeout=120)
    assert second.returncode == 0, output
    wait_for(
        lambda: (
            in_container("systemctl", "is-active", "gradestack-verify.service", check=False).stdout.strip()
            != "activating"
        ),
        "the scheduled run to finish",
    )
    # One after the other, never interleaved.
    assert runs()[before:] == ["start unit", "end unit", "start second", "end second"]
