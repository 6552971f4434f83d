"""CI detection has one answer, and under CI a skipped test fails (root conftest.py)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from testsupport.ci import in_ci

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("value", "expected"),
    [("true", True), ("TRUE", True), ("1", True), ("yes", True), (" true ", True), ("", False), ("false", False),
     ("0", False), ("no", False)],
)  # fmt: skip
def test_in_ci_reads_the_usual_spellings(monkeypatch: pytest.MonkeyPatch, value: str, expected: bool) -> None:
    monkeypatch.setenv("CI", value)
    assert in_ci() is expected


@pytest.fixture
def skipping_test() -> Iterator[Path]:
    """A test module under the repository (so the root conftest.py applies) that skips."""
    directory = REPO / ".cache" / f"ci-hook-{uuid.uuid4().hex[:8]}"
    directory.mkdir(parents=True)
    module = directory / "test_skips.py"
    module.write_text("import pytest\n\ndef test_needs_a_tool():\n    pytest.skip('the tool is missing')\n")
    yield module
    shutil.rmtree(directory, ignore_errors=True)


def run_pytest(module: Path, ci: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "CI": ci}
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-p", "no:randomly", str(module)]
    return subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False, timeout=120)


def test_a_skip_fails_under_ci(skipping_test: Path) -> None:
    done = run_pytest(skipping_test, "true")
    assert done.returncode == 1, done.stdout
    assert "1 failed" in done.stdout
    assert "skipped under CI" in done.stdout and "the tool is missing" in done.stdout


def test_a_skip_is_a_skip_elsewhere(skipping_test: Path) -> None:
    done = run_pytest(skipping_test, "")
    assert done.returncode == 0, done.stdout
    assert "1 skipped" in done.stdout
