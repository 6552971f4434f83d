"""Shared fixtures for the grading tests."""

from __future__ import annotations

import atexit
import fcntl
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from gradestack_grading import sandbox
from gradestack_grading.judge import Judge

from testsupport.ci import require

REPO = Path(__file__).resolve().parents[3]
PROBLEMS = REPO / "problems"
HOSTILE = Path(__file__).resolve().parent / "hostile"

# Host-side tests use their own uid range: a kill(-1) as a slot uid on the host reaches
# processes of that uid in every container too, so never share the containers' 20000+.
# Each pytest process leases its own block of 1000 uids (41000-60999) for its lifetime:
# an flock on <UID_BLOCK_DIR>/<n>.lock, released by the kernel when the process exits, so
# two runs at once (two people, two lanes, xdist workers) never share a block. (A block
# chosen by pid % 20 collided for one pair of runs in twenty.)
UID_BLOCK_FIRST, UID_BLOCKS, UID_BLOCK_SIZE = 41000, 20, 1000
UID_BLOCK_DIR = Path(os.environ.get("GRADING_TEST_UID_BLOCK_DIR", "/run/gradestack-test-uid-blocks"))
_held_blocks: list[int] = []  # the lock's file descriptor, open until the process exits


def _lease_uid_block() -> int:
    if os.environ.get("GRADING_TEST_UID_BASE"):
        return int(os.environ["GRADING_TEST_UID_BASE"])  # chosen by the caller, who keeps it private
    directory = UID_BLOCK_DIR
    try:
        directory.mkdir(mode=0o755, parents=True, exist_ok=True)
    except PermissionError:  # not root: the tests that use the uids skip anyway
        directory = Path(tempfile.gettempdir()) / "gradestack-test-uid-blocks"
        directory.mkdir(exist_ok=True)
    for block in range(UID_BLOCKS):
        fd = os.open(directory / f"{block}.lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            continue
        _held_blocks.append(fd)
        return UID_BLOCK_FIRST + block * UID_BLOCK_SIZE
    raise RuntimeError(f"all {UID_BLOCKS} test uid blocks are leased by other runs (locks in {directory})")


TEST_UID_BASE = _lease_uid_block()
TEST_UID_COUNT = UID_BLOCK_SIZE  # the block; slot leases never search beyond it

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
