"""The judge CLI's contract: one JSON document, exit 0 whenever judging completed, 2 for bad input."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import PROBLEMS, TEST_UID_BASE, require_root


def cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    env = os.environ | {"SANDBOX_UID_BASE": str(TEST_UID_BASE)}
    return subprocess.run(
        [sys.executable, "-m", "gradestack_grading", *args],
        input=stdin,
        capture_output=True,
        env=env,
        timeout=120,
        check=False,
    )


def test_invalid_problem_directory_is_a_usage_error(tmp_path: Path) -> None:
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "problem.json").write_text('{"id": "broken"')
    done = cli("judge", "--problem", str(tmp_path / "broken"), "--language", "c", "x.c")
    assert done.returncode == 2
    assert b"not valid JSON" in done.stderr
    assert done.stdout == b""


def test_missing_source_is_a_usage_error() -> None:
    done = cli("judge", "--problem", str(PROBLEMS / "aplusb"), "--language", "c", "/nonexistent/main.c")
    assert done.returncode == 2
    assert b"cannot read /nonexistent/main.c" in done.stderr


def test_oversized_source_is_refused() -> None:
    done = cli("judge", "--problem", str(PROBLEMS / "aplusb"), "--language", "c", "-", stdin=b"x" * (64 * 1024 + 1))
    assert done.returncode == 2
    assert b"the limit is 65536" in done.stderr


def test_unknown_language_is_refused_by_argparse() -> None:
    done = cli("judge", "--problem", str(PROBLEMS / "aplusb"), "--language", "rust", "main.rs")
    assert done.returncode == 2
    assert b"invalid choice" in done.stderr


@pytest.mark.slow
def test_a_wrong_answer_still_exits_zero_with_one_json_document() -> None:
    require_root()
    done = cli("judge", "--problem", str(PROBLEMS / "aplusb"), "--language", "python3", "-", stdin=b"print(0)\n")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["verdict"] == "WA"
    assert [t["verdict"] for t in report["tests"]] == ["WA", "AC", "WA", "WA"]
    assert set(report) == {
        "problem",
        "language",
        "verdict",
        "compile_output",
        "time_ms",
        "memory_kb",
        "tests",
        "detail",
    }
