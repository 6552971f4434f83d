"""Shared fixtures for the grading tests."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from grading import sandbox
from grading.judge import Judge

from testsupport.ci import require

REPO = Path(__file__).resolve().parents[3]
PROBLEMS = REPO / "problems"
HOSTILE = Path(__file__).resolve().parent / "hostile"

# Host-side tests use their own uid range: a kill(-1) as a slot uid on the host reaches
# processes of that uid in every container too, so never share the containers' 20000+.
# Each pytest process takes its own block of 1000 uids (41000-60999), so two people
# running the suite at once never see each other's sandboxed processes.
TEST_UID_BASE = int(os.environ.get("GRADING_TEST_UID_BASE", str(41000 + (os.getpid() % 20) * 1000)))
TEST_UID_COUNT = 1000  # the block; slot leases never search beyond it

# Slot leases of this pytest process (and of the workers and CLIs it starts, which inherit
# the variable) live in a private directory, never the host's /run/gradestack/sandbox-slots:
# the block of uids above is this process's alone anyway.
if "SANDBOX_SLOT_LEASE_DIR" not in os.environ:
    os.environ["SANDBOX_SLOT_LEASE_DIR"] = tempfile.mkdtemp(prefix="gradestack-test-slots-")
    atexit.register(shutil.rmtree, os.environ["SANDBOX_SLOT_LEASE_DIR"], ignore_errors=True)


def require_root() -> None:
    if os.geteuid() != 0:
        require(False, "the sandbox tests need root (the worker runs as root in its container)")


@pytest.fixture(scope="session")
def slot() -> Iterator[sandbox.Slot]:
    require_root()
    lease = sandbox.acquire_slot(TEST_UID_BASE, search=TEST_UID_COUNT)
    yield lease
    lease.release()


@pytest.fixture(scope="session")
def judge(slot: sandbox.Slot) -> Judge:
    return Judge(slot)


def language_of(path: Path) -> str:
    return {".c": "c", ".cpp": "cpp", ".py": "python3"}[path.suffix]
