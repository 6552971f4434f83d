"""Breaks found by attacking the sandbox as a contestant (SECURITY.md, "Breaks found in review").

Each test here failed on the code before its fix. The hostile programs themselves are
under hostile/ and also run through the CLI in test_hostile.py.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from gradestack_protocol import load_problem
from grading import sandbox
from grading.judge import Judge

from .conftest import HOSTILE, require_root
from .test_hostile import slot_processes

WALL_MS = 1000
RUN_ENV = {"PATH": "/usr/bin:/bin", "LC_ALL": "C"}
T = TypeVar("T")


def within(seconds: float, call: Callable[[], T]) -> T:
    """``call()``'s result, or a test failure if it has not returned after ``seconds`` (it used to hang)."""
    results: list[T] = []
    errors: list[BaseException] = []

    def target() -> None:
        try:
            results.append(call())
        except BaseException as exc:  # re-raised in the test's thread
            errors.append(exc)

    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    thread.join(seconds)
    assert not thread.is_alive(), f"still running after {seconds} s"
    if errors:
        raise errors[0]
    return results[0]


def run_limits(nproc: int = 1) -> sandbox.Limits:
    return sandbox.Limits(
        cpu_ms=1000,
        wall_ms=WALL_MS,
        address_space_bytes=256 << 20,
        stack_bytes=8 << 20,
        output_bytes=64 * 1024,
        nproc=nproc,
    )


@pytest.fixture(scope="module")
def programs() -> Iterator[Path]:
    """The hostile C programs compiled by root into a directory slot uids may traverse and execute."""
    require_root()
    directory = Path(tempfile.mkdtemp(prefix="gradestack-test-progs-"))
    try:
        directory.chmod(0o755)
        for name in ("close_and_pause", "close_and_pause_child", "close_and_pause_daemon"):
            subprocess.run(["gcc", "-O2", "-o", str(directory / name), str(HOSTILE / f"{name}.c")], check=True)
        yield directory
    finally:
        shutil.rmtree(directory)


# --- 1. wall clock after the program closed its stdout and stderr -------------------------


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "nproc"),
    [
        ("close_and_pause", 1),
        ("close_and_pause_child", 4),  # the fork succeeds: the sleeping child is in the group
        ("close_and_pause_daemon", 4),  # setsid denied, double fork: the orphan is reaped and killed
    ],
)
def test_closing_stdout_and_sleeping_ends_at_the_wall_limit(
    slot: sandbox.Slot, programs: Path, name: str, nproc: int
) -> None:
    started = time.monotonic()
    result = within(
        30,
        lambda: sandbox.run(
            [str(programs / name)], slot=slot, cwd=programs, limits=run_limits(nproc), env=RUN_ENV, run_phase=True
        ),
    )
    elapsed = time.monotonic() - started
    assert result.wall_exceeded
    assert elapsed < WALL_MS / 1000 + 1, elapsed
    assert result.stdout == b"BLOCKED\n"
    assert slot_processes() == []


@pytest.mark.slow
def test_the_supervisor_times_the_wall_clock_itself(slot: sandbox.Slot, programs: Path) -> None:
    """Without any help from the caller (no SIGTERM), the supervisor ends the run and says wall=1."""
    report_r, report_w = os.pipe()
    command = [
        str(sandbox.supervisor_path()),
        "--uid", str(slot.uid), "--gid", str(slot.gid), "--cwd", str(programs),
        "--bpf", str(sandbox.bpf_file(True)), "--wall-ms", "500", "--nproc", "1",
        "--report-fd", str(report_w), "--", str(programs / "close_and_pause"),
    ]  # fmt: skip
    try:
        done = subprocess.run(command, pass_fds=(report_w,), capture_output=True, timeout=30, check=False)
        os.close(report_w)
        report = os.read(report_r, 4096).decode()
    finally:
        os.close(report_r)
    assert done.returncode == 0, report
    assert report.startswith("ok ") and " wall=1" in report, report
    assert slot_processes() == []


@pytest.mark.slow
def test_a_stuck_supervisor_cannot_hang_the_caller(
    slot: sandbox.Slot, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The caller's backstop: a supervisor that closes the pipes and ignores SIGTERM is killed."""
    fake = tmp_path / "stuck-supervisor"
    fake.write_text("#!/bin/sh\ntrap '' TERM INT\nexec sleep 30 </dev/null >/dev/null 2>&1\n")
    fake.chmod(0o755)
    monkeypatch.setenv("GRADING_SANDBOX_EXEC", str(fake))
    monkeypatch.setattr(sandbox, "SUPERVISOR_GRACE_S", 0.5)

    def call() -> None:
        sandbox.run(["/bin/true"], slot=slot, cwd=tmp_path, limits=run_limits(), env=RUN_ENV, run_phase=True)

    with pytest.raises(sandbox.SandboxError, match="no report"):
        within(WALL_MS / 1000 + 2 * 0.5 + 2, call)


@pytest.mark.slow
def test_close_and_pause_is_tle_through_the_judge(slot: sandbox.Slot, monkeypatch: pytest.MonkeyPatch) -> None:
    """Judge.judge: TLE, and the run phase ends within the wall limit plus a second."""
    problem = load_problem(HOSTILE / "problem" / "hostile")
    judge = Judge(slot)
    wall_limit_ms = judge.run_limits(problem, judge.languages["c"]).wall_ms
    run_phase_seconds: list[float] = []
    real_run = sandbox.run

    def timed_run(*args, **kwargs) -> sandbox.RunResult:
        started = time.monotonic()
        try:
            return real_run(*args, **kwargs)
        finally:
            if kwargs["run_phase"]:
                run_phase_seconds.append(time.monotonic() - started)

    monkeypatch.setattr(sandbox, "run", timed_run)
    report = within(60, lambda: judge.judge(problem, "c", (HOSTILE / "close_and_pause.c").read_text()))
    assert report.verdict == "TLE", report.to_json()
    assert "wall-clock" in report.tests[0].detail
    assert len(run_phase_seconds) == 1
    assert run_phase_seconds[0] < wall_limit_ms / 1000 + 1, run_phase_seconds
    assert slot_processes() == []


# --- 3. a static image larger than the memory limit --------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("source", ["bss_3g.c", "bss_3g.cpp"])
def test_a_huge_static_array_is_mle_not_rte(judge: Judge, source: str) -> None:
    """The kernel kills such an exec with SIGSEGV (RLIMIT_AS); the verdict must be MLE."""
    problem = load_problem(HOSTILE / "problem" / "hostile")
    language = "c" if source.endswith(".c") else "cpp"
    report = judge.judge(problem, language, (HOSTILE / source).read_text())
    assert report.verdict == "MLE", report.to_json()
    assert report.tests[0].detail.startswith("static data 3072 MB exceeds the memory limit"), report.to_json()
