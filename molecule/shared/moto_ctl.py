#!/usr/bin/env python3
"""Start or stop the AWS emulator of one Molecule scenario on a free loopback port.

The emulator is the repository's: scripts/moto_server.py (with its adjustments: TLS-only
bucket policies that let TLS requests through, ECS deployments that roll, and the
`gradestack:emulator-fault=never-steady` service tag, among others).

    moto_ctl.py start <ephemeral dir>   # writes moto.json (pid, endpoint) and aws_config there
    moto_ctl.py stop <ephemeral dir>    # stops that server, if it still runs

aws_config is a shared AWS config file whose default profile points every SDK call
(boto3 in the Ansible modules and lookups, the verifiers) at the emulator: molecule.yml
gives it to the provisioner as AWS_CONFIG_FILE, because the port is only known once
the scenario's create step has run.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))

from testsupport.moto import start_moto  # noqa: E402

REGION = "ap-northeast-2"


def start(state_dir: Path) -> None:
    state_dir.mkdir(parents=True, exist_ok=True)
    state = state_dir / "moto.json"
    if state.exists() and _alive(json.loads(state.read_text())["pid"]):
        print(f"moto already runs: {state.read_text()}")
        return
    try:
        server = start_moto(state_dir, detach=True)
    except RuntimeError as error:
        sys.exit(str(error))
    endpoint, pid = server.endpoint, server.process.pid
    port = int(endpoint.rsplit(":", 1)[1])
    state.write_text(json.dumps({"pid": pid, "port": port, "endpoint": endpoint}) + "\n")
    config = state_dir / "aws_config"
    config.write_text(f"[default]\nregion = {REGION}\nendpoint_url = {endpoint}\n")
    config.chmod(0o600)
    print(f"moto started: {endpoint} (pid {pid})")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def stop(state_dir: Path) -> None:
    state = state_dir / "moto.json"
    if not state.exists():
        print("moto not running")
        return
    pid = json.loads(state.read_text())["pid"]
    if _alive(pid):
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive(pid):
            os.kill(pid, signal.SIGKILL)
    state.unlink()
    print(f"moto stopped (pid {pid})")


def main() -> None:
    if len(sys.argv) != 3 or sys.argv[1] not in ("start", "stop"):
        sys.exit(__doc__)
    (start if sys.argv[1] == "start" else stop)(Path(sys.argv[2]))


if __name__ == "__main__":
    main()
