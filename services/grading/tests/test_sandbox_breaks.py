"""Breaks found by attacking the sandbox as a contestant (SECURITY.md, "Breaks found in review").

Each test here failed on the code before its fix. The hostile programs themselves are
under hostile/ and also run through the CLI in test_hostile.py.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest
from gradestack_grading import sandbox
from gradestack_grading.judge import Judge
from gradestack_grading.workspace import JOB_PREFIX, JobDir
from gradestack_protocol import load_problem

from .conftest import HOSTILE, TEST_UID_BASE, require_root
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


# --- 2. job directories of concurrent slots ---------------------------------------------

PROBE = r"""
for f in "$@"; do
    case "$f" in
        dir:*) ls "${f#dir:}" >/dev/null 2>&1 && echo "LISTED ${f#dir:}" ;;
        *) cat "$f" 2>/dev/null && echo " READ $f" ;;
    esac
done
true
"""


def probe(slot: sandbox.Slot, cwd: Path, targets: list[str]) -> str:
    """What ``slot`` manages to read (``path``) or list (``dir:path``) of ``targets``."""
    limits = sandbox.Limits(
        cpu_ms=5000, wall_ms=10_000, address_space_bytes=256 << 20, stack_bytes=8 << 20, output_bytes=65536, nproc=8
    )
    result = sandbox.run(
        ["/bin/sh", "-c", PROBE, "probe", *targets], slot=slot, cwd=cwd, limits=limits, env=RUN_ENV, run_phase=False
    )
    assert result.exit_code == 0, result
    return result.stdout.decode()


@pytest.mark.slow
def test_a_slot_cannot_read_or_list_another_slots_job() -> None:
    require_root()
    slot_a, slot_b = sandbox.acquire_slot(TEST_UID_BASE), sandbox.acquire_slot(TEST_UID_BASE)
    try:
        with JobDir(slot_a) as job_a, JobDir(slot_b) as job_b:
            files = [
                job_a.write(job_a.build, "main.c", b"SECRET-source"),
                job_a.write(job_a.run, "main.py", b"SECRET-source"),
                job_a.write(job_a.run, "prog", b"SECRET-program", 0o750),
                job_a.write(job_a.check, "01.ans", b"SECRET-answer"),
            ]
            dirs = [job_a.root.parent, job_a.root, job_a.build, job_a.run, job_a.check]
            targets = [str(f) for f in files] + [f"dir:{d}" for d in dirs]
            seen_by_b = probe(slot_b, job_b.run, targets)
            seen_by_a = probe(slot_a, job_a.run, targets)
    finally:
        slot_a.release()
        slot_b.release()
    assert seen_by_b == "", seen_by_b
    # The probe works: the job's own slot reads its files and lists its subdirectories ...
    for path in [*files, job_a.build, job_a.run, job_a.check]:
        assert str(path) in seen_by_a, seen_by_a
    # ... but not the base (the other jobs' names) nor its own job root.
    assert f"LISTED {job_a.root.parent}\n" not in seen_by_a
    assert f"LISTED {job_a.root}\n" not in seen_by_a
    assert not job_a.root.exists() and not job_b.root.exists()


def job_dirs(work: Path) -> list[Path]:
    return list(work.rglob(f"{JOB_PREFIX}*"))


@pytest.fixture
def work_dir() -> Iterator[Path]:
    """A --work-dir slot uids can traverse (pytest's tmp_path is root-only)."""
    require_root()
    path = Path(tempfile.mkdtemp(prefix="gradestack-test-work-"))
    path.chmod(0o711)
    yield path
    shutil.rmtree(path)


@pytest.mark.slow
def test_a_sigtermed_cli_leaves_no_job_directory(work_dir: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k != "GRADING_SANDBOX_EXEC"}
    env["SANDBOX_UID_BASE"] = str(TEST_UID_BASE)
    command = [sys.executable, "-m", "gradestack_grading", "judge", "--problem", str(HOSTILE / "problem" / "hostile")]
    command += ["--work-dir", str(work_dir), "--language", "c", str(HOSTILE / "sleep_forever.c")]
    cli = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        deadline = time.monotonic() + 60
        # Wait for the run phase: the compiled program has been copied into run/.
        while not [p for p in work_dir.rglob("prog") if p.parent.name == "run"]:
            assert cli.poll() is None, cli.communicate()
            assert time.monotonic() < deadline, "the CLI never reached the run phase"
            time.sleep(0.05)
        cli.send_signal(signal.SIGTERM)
        cli.wait(timeout=30)
    finally:
        if cli.poll() is None:
            cli.kill()
            cli.wait()
    assert job_dirs(work_dir) == []
    assert slot_processes() == []
    assert cli.returncode == 128 + signal.SIGTERM


@pytest.mark.slow
def test_jobs_still_open_at_interpreter_exit_are_removed(work_dir: Path) -> None:
    """A worker stopping with a job still running (daemon job thread) leaves no job directory."""
    script = f"""
import threading, time
from pathlib import Path
from gradestack_grading.sandbox import Slot
from gradestack_grading.workspace import JobDir

started = threading.Event()

def job():
    with JobDir(Slot(index=0, uid={TEST_UID_BASE}, gid={TEST_UID_BASE}), Path({str(work_dir)!r})):
        started.set()
        time.sleep(60)

threading.Thread(target=job, daemon=True).start()
started.wait()
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
    assert job_dirs(work_dir) == []


def test_a_failed_setup_call_is_the_judges_error_not_the_hosts(slot: sandbox.Slot, tmp_path: Path) -> None:
    """The supervisor reports errno with a failed call: ENOENT from chdir is no host shortage."""
    with pytest.raises(sandbox.SandboxError, match="chdir") as raised:
        missing = tmp_path / "missing"
        sandbox.run(["/bin/true"], slot=slot, cwd=missing, limits=run_limits(), env=RUN_ENV, run_phase=True)
    assert not isinstance(raised.value, sandbox.SandboxHostError)
