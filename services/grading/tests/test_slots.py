"""Slot uids are leased host-wide (grading/slots.py), sandbox infrastructure failures are
retried instead of becoming IE (worker), and the job watchdog's pieces (budget, kill,
readiness) work. The end-to-end behaviour through a broker: test_worker_slots.py."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from gradestack_grading import cli, sandbox, slots, watchdog, worker
from gradestack_grading.config import WorkerConfig
from gradestack_grading.judge import Judge, JudgeConfig
from gradestack_grading.slots import Slot, SlotError, acquire_slots
from gradestack_protocol import GradingRequest, load_problem

from .conftest import PROBLEMS, TEST_UID_BASE, require_root
from .test_worker_integration import slot_processes

APLUSB = load_problem(PROBLEMS / "aplusb")  # TL 1000 ms, 4 tests
PAIR_SUM = load_problem(PROBLEMS / "pair-sum")  # custom checker, 3 tests
# A sub-block of this pytest process's uids that no fixture or other test leases.
BASE = TEST_UID_BASE + 800


@pytest.fixture
def lease_dir(tmp_path: Path) -> Path:
    require_root()
    return tmp_path / "leases"


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen]:
    """A live process of uid BASE that holds no lease (a leftover, or a worker without the lease dir)."""
    require_root()
    process = subprocess.Popen(["sleep", "600"], user=BASE, group=BASE, extra_groups=[])
    yield process
    process.kill()
    process.wait()


def test_two_workers_with_the_same_base_get_disjoint_uids(lease_dir: Path) -> None:
    first = acquire_slots(2, BASE, 8, lease_dir)
    second = acquire_slots(2, BASE, 8, lease_dir)  # another container: another open file, same directory
    try:
        assert [s.uid for s in first] == [BASE, BASE + 1]
        assert [s.uid for s in second] == [BASE + 2, BASE + 3]
        assert [s.index for s in second] == [0, 1]
        assert lease_dir.stat().st_mode & 0o777 == 0o700
        with pytest.raises(SlotError, match=rf"only 4 of 5 .* free in {BASE}\.\.{BASE + 7}"):
            acquire_slots(5, BASE, 8, lease_dir)
        # The failed attempt gave back what it had taken.
        third = acquire_slots(4, BASE, 8, lease_dir)
        assert [s.uid for s in third] == [BASE + 4, BASE + 5, BASE + 6, BASE + 7]
        for slot in third:
            slot.release()
    finally:
        for slot in first + second:
            slot.release()
    again = acquire_slots(1, BASE, 8, lease_dir)
    assert again[0].uid == BASE
    again[0].release()


def test_a_killed_holder_releases_its_lease(lease_dir: Path) -> None:
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import sys, time; from pathlib import Path; from gradestack_grading.slots import acquire_slots; "
            f"print(acquire_slots(1, {BASE}, 4, Path({str(lease_dir)!r}))[0].uid, flush=True); time.sleep(600)",
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == str(BASE)
        taken = acquire_slots(1, BASE, 4, lease_dir)[0]
        assert taken.uid == BASE + 1
        taken.release()
    finally:
        holder.kill()
        holder.wait()
    after = acquire_slots(1, BASE, 4, lease_dir)[0]
    assert after.uid == BASE  # the kernel dropped the dead holder's flock
    after.release()


def test_a_uid_with_a_live_process_is_skipped(lease_dir: Path, sleeper, caplog) -> None:
    deadline = time.monotonic() + 10
    while BASE not in slots.live_uids() and time.monotonic() < deadline:
        time.sleep(0.05)  # until the child has switched uid
    with caplog.at_level(logging.WARNING, logger="grading.slots"):
        leased = acquire_slots(2, BASE, 4, lease_dir)
    try:
        assert [s.uid for s in leased] == [BASE + 1, BASE + 2]
    finally:
        for slot in leased:
            slot.release()
    skipped = [r for r in caplog.records if "live process" in r.getMessage()]
    assert skipped and skipped[0].fields["uid"] == BASE and skipped[0].fields["pid"] == str(sleeper.pid)
    with pytest.raises(SlotError, match=rf"only 0 of 1 .* free in {BASE}\.\.{BASE}\b.*1 skipped for live processes"):
        acquire_slots(1, BASE, 1, lease_dir)


def test_a_lease_dir_others_can_write_is_refused(lease_dir: Path) -> None:
    lease_dir.mkdir(mode=0o700)
    lease_dir.chmod(0o777)
    with pytest.raises(SlotError, match="not group/world-writable"):
        acquire_slots(1, BASE, 4, lease_dir)


def test_the_cli_and_the_image_agree_on_the_defaults() -> None:
    assert (cli.DEFAULT_UID_BASE, cli.DEFAULT_UID_COUNT) == (slots.DEFAULT_UID_BASE, slots.DEFAULT_UID_COUNT)
    dockerfile = (Path(__file__).resolve().parents[1] / "Dockerfile").read_text()
    for setting in (
        f"SANDBOX_UID_BASE={slots.DEFAULT_UID_BASE}",
        f"SANDBOX_UID_COUNT={slots.DEFAULT_UID_COUNT}",
        f"SANDBOX_SLOT_LEASE_DIR={slots.DEFAULT_LEASE_DIR}",
    ):
        assert setting in dockerfile


# --- sandbox infrastructure failures ---------------------------------------------------------


class FakeS3:
    def head_bucket(self, **_kwargs) -> None:
        pass


@pytest.fixture
def eagain_worker(lease_dir: Path, monkeypatch) -> Iterator[worker.Worker]:
    env = {
        "MQ_ENDPOINTS": "stomp://127.0.0.1:1",
        "MQ_USERNAME": "w",
        "MQ_PASSWORD": "p",
        "GRADING_BUCKET": "b",
        "SANDBOX_UID_BASE": str(BASE),
        "SANDBOX_UID_COUNT": "4",
        "SANDBOX_SLOT_LEASE_DIR": str(lease_dir),
        "WORKER_INFRA_RETRIES": "2",
    }
    subject = worker.Worker(WorkerConfig.from_env(env), s3=FakeS3())
    monkeypatch.setattr(subject.store, "get", lambda _problem_id: APLUSB)
    monkeypatch.setattr(worker, "INFRA_BACKOFF_S", (0.01,))
    yield subject
    for slot in subject.slots:
        slot.release()


def inject_eagain(monkeypatch, times: int) -> list[int]:
    """The first ``times`` test runs fail like the supervisor's exec under RLIMIT_NPROC pressure
    (the run phase allows one process per uid: the collision hit it first)."""
    real_run, failed = sandbox.run, []

    def run(*args, **kwargs):
        if kwargs["run_phase"] and len(failed) < times:
            failed.append(1)
            raise sandbox.SandboxHostError("sandbox setup failed: exec: Resource temporarily unavailable")
        return real_run(*args, **kwargs)

    monkeypatch.setattr(sandbox, "run", run)
    return failed


def request(source_name: str = "ac.py") -> GradingRequest:
    source = (PROBLEMS / "aplusb" / "solutions" / source_name).read_text()
    return GradingRequest("s-eagain", "aplusb", "python3", source, "now")


@pytest.mark.slow
def test_an_eagain_is_judged_again_not_reported_as_ie(eagain_worker: worker.Worker, monkeypatch, caplog) -> None:
    failed = inject_eagain(monkeypatch, times=2)
    judge = Judge(eagain_worker.slots[0])
    with caplog.at_level(logging.WARNING, logger="grading.worker"):
        report = eagain_worker._judge(request(), judge)
    assert report.verdict == "AC", report.to_json()
    assert len(failed) == 2
    assert sum("judging again" in r.getMessage() for r in caplog.records) == 2
    # The log names the slot uid and the likely cause an operator can act on.
    retry = next(r for r in caplog.records if "judging again" in r.getMessage())
    assert retry.fields["slot_uid"] == eagain_worker.slots[0].uid
    assert "SANDBOX_SLOT_LEASE_DIR" in retry.fields["hint"]
    assert eagain_worker.counters.snapshot()["infra_retries"] == 2


@pytest.mark.slow
def test_an_eagain_that_persists_requeues_the_job_without_a_verdict(eagain_worker: worker.Worker, monkeypatch) -> None:
    inject_eagain(monkeypatch, times=1000)
    published, resent, dead = [], [], []
    monkeypatch.setattr(eagain_worker, "_publish_result", published.append)
    monkeypatch.setattr(eagain_worker, "_resend", lambda _d, attempt, delay_ms=0: resent.append(attempt))
    monkeypatch.setattr(eagain_worker, "_dead_letter", lambda *args: dead.append(args))
    delivery = worker.Delivery({"message-id": "m-1", "ack": "a-1"}, request().to_json(), 0, time.time())
    eagain_worker._handle(delivery, Judge(eagain_worker.slots[0]))
    assert [r.state for r in published] == ["processing"]  # no done result, so no IE for the contestant
    assert resent == [2] and dead == []
    counts = eagain_worker.counters.snapshot()
    assert (counts["ie_total"], counts["infra_retries"], counts["infra_requeues"]) == (0, 2, 1)


# --- the watchdog's pieces -------------------------------------------------------------------


def test_job_budget_adds_up_every_wall_limit() -> None:
    config = JudgeConfig()  # compile 20 s; run wall 2 x TL + 1 s; checker wall 2 x 10 s
    assert watchdog.job_budget_s(APLUSB, config, margin_s=30) == 20 + 4 * 3 + 10 + 30
    assert watchdog.job_budget_s(PAIR_SUM, config, margin_s=0) == 20 + 3 * 3 + 20 + 3 * 20 + 2 * 10


def test_watchdog_kills_only_what_is_over_budget_and_reports_it() -> None:
    now = [100.0]
    killed: list[int] = []
    dog = watchdog.Watchdog(kill=lambda s: killed.append(s.uid), escalate=lambda s: 0, clock=lambda: now[0])
    slow, quick = Slot(0, BASE, BASE), Slot(1, BASE + 1, BASE + 1)
    with dog.watch(slow, budget_s=10) as slow_job, dog.watch(quick, budget_s=60):
        now[0] += 11
        assert dog.overdue() == [f"slot uid {BASE}: job over its budget of 10 s by 1 s"]
        dog.check()
        dog.check()  # killed again while it still runs: the judge may have started the next run
        assert killed == [BASE, BASE] and slow_job.fired
        assert dog.wedged(2, limit_s=5) == ""  # the other slot still makes progress
        now[0] += 50
        assert "every slot (1)" in dog.wedged(1, limit_s=5)
    assert dog.overdue() == []
    dog.check()
    assert killed == [BASE, BASE]  # finished jobs are never killed


def test_kill_slot_kills_every_process_of_the_slot_uid(sleeper) -> None:
    time.sleep(0.2)
    bystander = subprocess.Popen(["sleep", "600"], user=BASE + 1, group=BASE + 1, extra_groups=[])
    try:
        watchdog.kill_slot(Slot(0, BASE, BASE))
        assert sleeper.wait(timeout=10) == -signal.SIGKILL
        assert bystander.poll() is None  # another slot's process is untouched
        assert slot_processes(BASE, BASE + 1) == []
    finally:
        bystander.kill()
        bystander.wait()


def test_health_reports_counters_and_why_it_is_not_ready() -> None:
    from gradestack_grading import health  # noqa: PLC0415

    probe = health.ReadinessProbe(lambda: True, lambda: None, stalls=lambda: ["slot uid 1: job over its budget"])
    app = health.create_app(probe, "w-1", liveness=lambda: "", counters=lambda: {"ie_total": 0})
    client = app.test_client()
    ready = client.get("/health/ready")
    assert ready.status_code == 503 and "over its budget" in json.loads(ready.data)["reason"]
    alive = client.get("/health")
    assert alive.status_code == 200 and json.loads(alive.data)["jobs"] == {"ie_total": 0}
    dead = health.create_app(probe, "w-1", liveness=lambda: "every slot stuck").test_client().get("/health")
    assert dead.status_code == 503 and json.loads(dead.data)["reason"] == "every slot stuck"
    assert os.environ["SANDBOX_SLOT_LEASE_DIR"] != str(slots.DEFAULT_LEASE_DIR)  # tests never lease on the host's
