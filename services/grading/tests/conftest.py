"""Shared fixtures for the grading tests."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from grading import sandbox
from grading.judge import Judge

REPO = Path(__file__).resolve().parents[3]
PROBLEMS = REPO / "problems"
HOSTILE = Path(__file__).resolve().parent / "hostile"

# Host-side tests use their own uid range: a kill(-1) as a slot uid on the host reaches
# processes of that uid in every container too, so never share the containers' 20000+.
# Each pytest process takes its own block of 1000 uids (41000-60999), so two people
# running the suite at once never see each other's sandboxed processes.
TEST_UID_BASE = int(os.environ.get("GRADING_TEST_UID_BASE", str(41000 + (os.getpid() % 20) * 1000)))


def require_root() -> None:
    if os.geteuid() != 0:
        message = "the sandbox tests need root (the worker runs as root in its container)"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(scope="session")
def slot() -> Iterator[sandbox.Slot]:
    require_root()
    lease = sandbox.acquire_slot(TEST_UID_BASE)
    yield lease
    lease.release()


@pytest.fixture(scope="session")
def judge(slot: sandbox.Slot) -> Judge:
    return Judge(slot)


def language_of(path: Path) -> str:
    return {".c": "c", ".cpp": "cpp", ".py": "python3"}[path.suffix]
