"""Hostile submissions through the judge CLI: each gets its expected verdict, nothing leaks,
nothing survives, and the judge is unharmed.

Every program under hostile/ names its expected verdict(s) on its first line.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from gradestack_grading import sandbox
from gradestack_grading.judge import Judge, JudgeConfig
from gradestack_protocol import load_problem

from .conftest import HOSTILE, TEST_UID_BASE, language_of, require_root

PROGRAMS = sorted(p for p in HOSTILE.iterdir() if p.suffix in (".c", ".cpp", ".py"))
CANARY = "canary-7f3a9c-do-not-leak"
CANARY_ENV = {
    "AWS_ACCESS_KEY_ID": "AKIA" + CANARY,
    "AWS_SECRET_ACCESS_KEY": CANARY,
    "AWS_SESSION_TOKEN": CANARY,
    "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI": "/v2/credentials/" + CANARY,
    "ECS_CONTAINER_METADATA_URI_V4": "http://169.254.170.2/v4/" + CANARY,
    "MQ_PASSWORD": CANARY,
}


def expected_verdicts(path: Path) -> set[str]:
    first = path.read_text().splitlines()[0]
    return set(first.split("expect:", 1)[1].strip().split("|"))


def slot_processes() -> list[str]:
    """Processes still running as any test slot uid (there must be none after a run)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
        except OSError:
            continue
        uid_line = next((line for line in status.splitlines() if line.startswith("Uid:")), "")
        uids = [int(x) for x in uid_line.split()[1:]]
        state = next((line for line in status.splitlines() if line.startswith("State:")), "")
        if uids and TEST_UID_BASE <= uids[0] < TEST_UID_BASE + 64 and "zombie" not in state:
            found.append(f"{entry.name}: {state}")
    return found


def slot_ipc_objects() -> set[str]:
    """System V IPC objects (shared memory, queues, semaphores) owned or created by a test slot uid.

    The same tables ``ipcs`` prints; they outlive every process, so they must stay empty.
    """
    found = set()
    for kind in ("shm", "msg", "sem"):
        lines = Path(f"/proc/sysvipc/{kind}").read_text().splitlines()
        header = lines[0].split()
        for line in lines[1:]:
            row = dict(zip(header, line.split(), strict=False))
            if any(TEST_UID_BASE <= int(row[owner]) < TEST_UID_BASE + 64 for owner in ("uid", "cuid")):
                found.add(f"{kind} {row[header[1]]} key {row['key']} uid {row['uid']}")
    return found


def remove_ipc_objects(objects: set[str]) -> None:
    """Root removes what a slot left (container root could not: it lacks CAP_SYS_ADMIN/CAP_IPC_OWNER)."""
    flags = {"shm": "-m", "msg": "-q", "sem": "-s"}
    for entry in objects:
        kind, ident = entry.split()[:2]
        subprocess.run(["ipcrm", flags[kind], ident], capture_output=True, check=False)


@pytest.fixture(scope="module")
def private_problem(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The test problem in a root-only directory, as the worker's cache keeps it."""
    require_root()
    base = tmp_path_factory.mktemp("hostile-problem")
    os.chmod(base, 0o700)
    target = base / "hostile"
    shutil.copytree(HOSTILE / "problem" / "hostile", target)
    return target


def run_cli(problem: Path, source: Path, extra_env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MQ_"))}
    env |= CANARY_ENV | {"SANDBOX_UID_BASE": str(TEST_UID_BASE)} | (extra_env or {})
    command = [sys.executable, "-m", "gradestack_grading", "judge", "--show-output", "--problem", str(problem)]
    return subprocess.run(
        [*command, "--language", language_of(source), str(source)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )


@pytest.mark.slow
@pytest.mark.parametrize("program", PROGRAMS, ids=lambda p: p.name)
def test_hostile_submission(private_problem: Path, program: Path) -> None:
    sentinel = Path("/tmp/gradestack-pwned")
    done = run_cli(private_problem, program)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["verdict"] in expected_verdicts(program), json.dumps(report, indent=2)
    assert CANARY not in done.stdout + done.stderr
    assert "ESCAPED" not in done.stdout
    assert not sentinel.exists()
    assert not Path("/tmp/gradestack-pwned-dir").exists()
    assert not Path("/tmp/gradestack-link").is_symlink()
    assert (private_problem / "tests" / "01.out").read_text() == "BLOCKED\n"
    assert slot_processes() == []


def test_every_hostile_program_declares_its_verdict() -> None:
    assert len(PROGRAMS) >= 15
    for program in PROGRAMS:
        assert expected_verdicts(program) <= {"AC", "WA", "TLE", "MLE", "OLE", "RTE", "IR", "CE"}, program


SLEEPER_S = 4
SLEEPER = rf"""
#include <stdio.h>
#include <unistd.h>
int main(void) {{ sleep({SLEEPER_S}); puts("BLOCKED"); return 0; }}
"""


def running_programs(uid: int) -> set[tuple[int, int]]:
    """(pid, start time) of the submission programs (``prog``, not the compiler) running as ``uid``."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            status = (entry / "status").read_text()
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
        if fields.get("Name", "").strip() != "prog" or "zombie" in fields.get("State", ""):
            continue
        if int(fields.get("Uid", "-1").split()[0]) == uid:
            found.add((int(entry.name), int(stat.rsplit(")", 1)[1].split()[19])))  # field 22: starttime
    return found


@pytest.mark.slow
def test_kill_all_cannot_reach_a_concurrent_slot(private_problem: Path) -> None:
    """Slot uids isolate concurrent jobs: kill(-1, SIGKILL) in one slot spares the other's run.

    The kill is shown to land while the victim runs: the same victim process (pid and start
    time, in /proc) is alive before a killer's judge starts and after it returned AC.
    """
    problem = load_problem(private_problem)
    slot_a, slot_b = sandbox.acquire_slot(TEST_UID_BASE), sandbox.acquire_slot(TEST_UID_BASE)
    try:
        assert slot_a.uid != slot_b.uid
        reports = []
        # A wall clock wide enough for the sleep, so that only a kill could end it early.
        victim = Judge(slot_a, JudgeConfig(wall_extra_ms=(SLEEPER_S + 5) * 1000))
        sleeper = threading.Thread(target=lambda: reports.append(victim.judge(problem, "c", SLEEPER)))
        sleeper.start()
        killer = Judge(slot_b)
        kill_all = (HOSTILE / "kill_all.c").read_text()
        deadline = time.monotonic() + 120
        while not running_programs(slot_a.uid):
            assert sleeper.is_alive() and time.monotonic() < deadline, f"the victim never ran: {reports}"
            time.sleep(0.02)
        bracketed = 0  # killer runs with the same victim process alive before and after
        while sleeper.is_alive():
            before = running_programs(slot_a.uid)
            assert killer.judge(problem, "c", kill_all).verdict == "AC"
            bracketed += bool(before and before <= running_programs(slot_a.uid))
        sleeper.join()
        assert bracketed >= 1, "no kill(-1) landed while the victim ran"
        assert reports[0].verdict == "AC", reports[0].to_json()
    finally:
        slot_a.release()
        slot_b.release()


@pytest.mark.slow
def test_sysv_ipc_is_refused_and_nothing_outlives_the_run(private_problem: Path) -> None:
    """shmget/msgget/semget (and mq_open) are refused, so no object of a slot uid is left after the verdict."""
    # This pytest process owns its block of slot uids: whatever they hold is left over from
    # an earlier run (e.g. test_hostile_submission[sysv_ipc.c] against a broken filter).
    remove_ipc_objects(slot_ipc_objects())
    try:
        done = run_cli(private_problem, HOSTILE / "sysv_ipc.c")
        assert done.returncode == 0, done.stderr
        assert slot_ipc_objects() == set()
        report = json.loads(done.stdout)
        assert report["verdict"] == "AC", json.dumps(report, indent=2)
    finally:
        remove_ipc_objects(slot_ipc_objects())
