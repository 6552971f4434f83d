"""scripts/setup.sh's podman configuration, against a stand-in `podman` and a scratch containers.conf.

The real machine can be switched from CNI to netavark only once, so the decisions are
tested here with a fake podman that answers as podman would: its network backend is
netavark once the configuration file asks for it, CNI before. Every call it gets is
logged, so a test can prove that nothing was removed.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from testsupport.ansible import REPO

FAKE_PODMAN = r"""#!/bin/bash
echo "$*" >> "$FAKE_PODMAN_LOG"
case "$1" in
  info)
    case "$*" in
      *NetworkBackend*)
        if grep -q '^network_backend = "netavark"' "$GRADESTACK_PODMAN_CONF"; then echo netavark; else echo cni; fi ;;
      *OCIRuntime*) echo runc ;;
    esac ;;
  ps) if [[ " $* " == *" -a "* ]]; then printf '%s' "$FAKE_STOPPED"; else printf '%s' "$FAKE_RUNNING"; fi ;;
  network) [ "$2" = ls ] || exit 99; printf 'podman\n%s' "$FAKE_NETWORKS" ;;
  *) echo "fake podman: unexpected call: $*" >&2; exit 99 ;;
esac
"""

OLD_BLOCK = """# gradestack: begin (scripts/setup.sh)
[containers]
default_ulimits = []

[engine]
runtime = "runc"
# gradestack: end
"""


def configure(tmp_path: Path, conf: Path, **fake: str) -> subprocess.CompletedProcess[str]:
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir(exist_ok=True)
    podman = bin_dir / "podman"
    podman.write_text(FAKE_PODMAN, encoding="utf-8")
    podman.chmod(0o755)
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ['PATH']}",
        "GRADESTACK_PODMAN_CONF": str(conf),
        "FAKE_PODMAN_LOG": str(tmp_path / "podman.log"),
        "FAKE_RUNNING": fake.get("running", ""),
        "FAKE_STOPPED": fake.get("stopped", ""),
        "FAKE_NETWORKS": fake.get("networks", ""),
    }
    script = f"set -euo pipefail; source {REPO / 'scripts' / 'setup.sh'}; configure_podman"
    return subprocess.run(["bash", "-c", script], capture_output=True, text=True, env=env, check=False)


def podman_calls(tmp_path: Path) -> list[str]:
    log = tmp_path / "podman.log"
    return log.read_text(encoding="utf-8").splitlines() if log.exists() else []


@pytest.fixture(autouse=True)
def _root_only() -> None:
    if os.geteuid() != 0:
        pytest.skip("setup writes containers.conf only as root")


def test_fresh_machine_gets_the_whole_block(tmp_path: Path) -> None:
    conf = tmp_path / "containers.conf"
    done = configure(tmp_path, conf)
    assert done.returncode == 0, done.stderr
    text = conf.read_text(encoding="utf-8")
    assert 'network_backend = "netavark"' in text
    assert 'runtime = "runc"' in text
    assert "default_ulimits = []" in text


def test_second_run_changes_nothing(tmp_path: Path) -> None:
    conf = tmp_path / "containers.conf"
    assert configure(tmp_path, conf).returncode == 0
    before = conf.read_bytes()
    again = configure(tmp_path, conf)
    assert again.returncode == 0, again.stderr
    assert "already configured" in again.stdout
    assert conf.read_bytes() == before


def test_older_block_under_cni_is_switched_and_nothing_is_removed(tmp_path: Path) -> None:
    conf = tmp_path / "containers.conf"
    conf.write_text("# the user's own line\n" + OLD_BLOCK, encoding="utf-8")
    done = configure(tmp_path, conf, stopped="old-db\nold-web\n", networks="mynet\n")
    assert done.returncode == 0, done.stderr
    text = conf.read_text(encoding="utf-8")
    assert text.startswith("# the user's own line\n")
    assert text.count("# gradestack: begin") == 1
    assert 'network_backend = "netavark"' in text
    # The user is told what exists under CNI, by name.
    assert "old-db old-web" in done.stderr
    assert "mynet" in done.stderr
    # Only questions were asked: no rm, prune, reset or network removal.
    assert {tuple(call.split()[:2]) for call in podman_calls(tmp_path)} <= {
        ("info", "--format"),
        ("ps", "--format"),
        ("ps", "-a"),
        ("network", "ls"),
    }


def test_running_containers_under_cni_stop_the_switch(tmp_path: Path) -> None:
    conf = tmp_path / "containers.conf"
    conf.write_text(OLD_BLOCK, encoding="utf-8")
    done = configure(tmp_path, conf, running="busy-one\n")
    assert done.returncode != 0
    assert "busy-one" in done.stderr
    assert "podman stop busy-one" in done.stderr
    assert conf.read_text(encoding="utf-8") == OLD_BLOCK


def test_a_section_of_the_users_own_is_never_merged_blindly(tmp_path: Path) -> None:
    conf = tmp_path / "containers.conf"
    own = '[network]\nnetwork_backend = "cni"\n'
    conf.write_text(own, encoding="utf-8")
    done = configure(tmp_path, conf)
    assert done.returncode != 0
    assert "merge these settings" in done.stderr
    assert conf.read_text(encoding="utf-8") == own
