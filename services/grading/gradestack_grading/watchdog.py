"""Job-level watchdog: the backstop when a job outlives everything its limits allow.

Every sandboxed run has its own wall-clock limit (sandbox.py); normally this never
fires. It exists for the case where that limit does not hold (a bug, a supervisor that
hangs): a job that exceeds its whole budget (``job_budget_s``) has every process of
its slot uid killed, the same way the supervisor cleans up after a run (a short-lived
child that becomes the slot uid and calls ``kill(-1, SIGKILL)``), again every tick
while the job is still running (the judge may start the next test's run). If the job
thread still has not come back a few seconds later, the slot's supervisors (our own
root children, found by pidfd) are killed too, so the run fails instead of waiting.
The worker then requeues or dead-letters the job; its report is never published.

While a job is over its budget the worker is not ready (``overdue``); when every slot
has been stuck for a long time nothing will ever be graded again, and the liveness
check fails (``wedged``) so that the platform restarts the container.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from gradestack_protocol import Problem

from gradestack_grading.judge import JudgeConfig
from gradestack_grading.slots import Slot

log = logging.getLogger("grading.watchdog")

CLEANUP_WALL_S = 10  # workspace._empty_as_slot's wall limit: one per job directory
KILLER_TIMEOUT_S = 10


def job_budget_s(problem: Problem, config: JudgeConfig, margin_s: float) -> float:
    """The longest a job may take if every run uses its whole wall-clock limit, plus ``margin_s``.

    Compile (or syntax check), one run per test, and for a custom checker its compile
    (first use) and one check per test; each job directory is emptied by the slot
    (a sandboxed ``find -delete``), once for the job and once for a checker build.
    """
    run_wall_ms = int(problem.time_limit_ms * config.wall_factor) + config.wall_extra_ms
    tests = len(problem.tests)
    total_ms = config.compile_wall_ms + tests * run_wall_ms
    cleanups = 1
    if problem.checker.type == "custom":
        total_ms += config.compile_wall_ms + tests * config.checker_cpu_ms * 2  # judge.py: checker wall = 2 x CPU
        cleanups += 1
    return total_ms / 1000 + cleanups * CLEANUP_WALL_S + margin_s


def kill_slot(slot: Slot) -> None:
    """SIGKILL every process of the slot uid in our PID namespace, as that uid.

    ``kill(-1)`` from a process that has become the slot uid reaches exactly the
    processes that uid may signal: its own. ``subprocess`` switches uid in C in the
    child before exec, so nothing runs in a half-switched, forked copy of this
    multi-threaded worker. Unprivileged (the slot uid is our own) there is nothing
    to switch to, and ``kill(-1)`` would kill ourselves: only the supervisors are
    killed then (``kill_supervisors``; the target dies of its parent-death signal).
    """
    if os.geteuid() != 0 or slot.uid == os.getuid():
        return
    try:
        subprocess.run(
            ["/bin/sh", "-c", "kill -s KILL -- -1"],
            user=slot.uid,
            group=slot.gid,
            extra_groups=[],
            env={"PATH": "/usr/bin:/bin"},
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            timeout=KILLER_TIMEOUT_S,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        log.error(
            "watchdog could not kill the slot's processes", extra={"fields": {"uid": slot.uid, "error": str(exc)}}
        )


def kill_supervisors(slot: Slot, proc: Path = Path("/proc")) -> int:
    """SIGKILL this worker's supervisor processes for ``slot`` (our children running ``--uid <uid>``)."""
    me, marker = os.getpid(), f"\0--uid\0{slot.uid}\0".encode()
    killed = 0
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            # A pidfd pins the process: what we check below is what we signal.
            pidfd = os.pidfd_open(int(entry.name))
        except OSError:
            continue
        try:
            stat_fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            if int(stat_fields[1]) == me and marker in (entry / "cmdline").read_bytes():
                signal.pidfd_send_signal(pidfd, signal.SIGKILL)
                killed += 1
        except (OSError, IndexError, ValueError):
            pass
        finally:
            os.close(pidfd)
    return killed


@dataclass
class WatchedJob:
    slot: Slot
    budget_s: float
    started: float
    fired_at: float | None = None
    escalated: bool = False
    # Held while killing, and by ``watch`` on exit: a late kill never hits the slot's next job.
    kill_lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def fired(self) -> bool:
        return self.fired_at is not None


class Watchdog:
    def __init__(
        self,
        *,
        kill: Callable[[Slot], None] = kill_slot,
        escalate: Callable[[Slot], int] = kill_supervisors,
        on_fire: Callable[[WatchedJob], None] | None = None,
        interval_s: float = 1.0,
        escalate_after_s: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.kill = kill
        self.escalate = escalate
        self.on_fire = on_fire
        self.interval_s = interval_s
        self.escalate_after_s = escalate_after_s
        self.clock = clock
        self._jobs: dict[int, WatchedJob] = {}  # by slot uid
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(KILLER_TIMEOUT_S + 5)

    @contextlib.contextmanager
    def watch(self, slot: Slot, budget_s: float) -> Iterator[WatchedJob]:
        job = WatchedJob(slot, budget_s, self.clock())
        with self._lock:
            self._jobs[slot.uid] = job
        try:
            yield job
        finally:
            with job.kill_lock, self._lock:
                self._jobs.pop(slot.uid, None)

    def _loop(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.check()
            except Exception:  # the backstop must survive anything one round throws
                log.exception("watchdog round failed")

    def check(self) -> None:
        """One round: kill what is over its budget (again, if it still runs)."""
        with self._lock:
            jobs = list(self._jobs.values())
        for job in jobs:
            now = self.clock()
            if now - job.started <= job.budget_s:
                continue
            with job.kill_lock:
                with self._lock:
                    if self._jobs.get(job.slot.uid) is not job:
                        continue  # finished while we looked
                if job.fired_at is None:
                    job.fired_at = now
                    log.error(
                        f"watchdog: job exceeded its budget of {job.budget_s:.0f} s; killing slot uid {job.slot.uid}",
                        extra={"fields": {"uid": job.slot.uid, "budget_s": round(job.budget_s, 1)}},
                    )
                    if self.on_fire is not None:
                        self.on_fire(job)
                self.kill(job.slot)
                if not job.escalated and now - job.fired_at > self.escalate_after_s:
                    job.escalated = True
                    killed = self.escalate(job.slot)
                    log.error(
                        "watchdog: job still running after the kill; killed its supervisors",
                        extra={"fields": {"uid": job.slot.uid, "supervisors": killed}},
                    )

    def overdue(self) -> list[str]:
        """Why the worker cannot make progress right now (empty: it can)."""
        now = self.clock()
        with self._lock:
            return [
                f"slot uid {job.slot.uid}: job over its budget of {job.budget_s:.0f} s "
                f"by {now - job.started - job.budget_s:.0f} s"
                for job in self._jobs.values()
                if now - job.started > job.budget_s
            ]

    def wedged(self, slots: int, limit_s: float) -> str:
        """Non-empty when all ``slots`` have been stuck past their budget for over ``limit_s``: beyond recovery."""
        now = self.clock()
        with self._lock:
            stuck = [j for j in self._jobs.values() if now - j.started - j.budget_s > limit_s]
        if slots and len(stuck) >= slots:
            return f"every slot ({slots}) has been stuck for over {limit_s:.0f} s past its job's budget"
        return ""
