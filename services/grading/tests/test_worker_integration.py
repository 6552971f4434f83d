"""The worker against a real ActiveMQ (its own instance: these tests restart it) and moto's S3.

- N jobs in, N results out, with the verdicts the reference solutions earn;
- a worker SIGKILLed mid-job: the job is redelivered and graded, one done result per
  submission after deduplication, nothing left running;
- the broker restarted mid-stream: nothing lost;
  both faults are aimed at work in flight, proven from the worker's own JSON log ("job
  started" without "job done" for a submission when the fault strikes), on slow but
  correct submissions (testsupport/slow_solution.py) that keep the window seconds wide;
- poison messages: dead-letter queue, IE result, the worker keeps going;
- SIGTERM: the running job finishes, the worker exits 0;
- two workers on one kernel (own state directories, like two containers; one
  SANDBOX_UID_BASE; the shared lease directory) judging at once: disjoint uids, no
  EAGAIN, no IE. Before the host-wide lease both took base and base + 1, and a compile
  in one made the other's run-phase exec fail with EAGAIN (RLIMIT_NPROC is per uid);
- a job stuck past its budget (the sandbox's own wall clock broken on purpose) is
  killed by the watchdog and dead-lettered with the watchdog's reason, its slot reused
  by the next job; /health/ready is 503 while it is stuck and 200 after.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import boto3
import pytest
import stomp
from gradestack_grading import sandbox, watchdog
from gradestack_grading.config import WorkerConfig
from gradestack_grading.judge import JudgeConfig
from gradestack_grading.problem_store import upload_problem
from gradestack_grading.worker import Worker
from gradestack_protocol import GradingRequest, GradingResult
from gradestack_protocol.broker import BrokerSettings, connect
from gradestack_protocol.messages import DEAD_LETTER_QUEUE, REQUEST_QUEUE, RESULT_QUEUE

from testsupport.activemq import ActiveMQServer, start_activemq
from testsupport.ports import free_port, wait_for_port
from testsupport.slow_solution import slow_aplusb_c

from .conftest import PROBLEMS, TEST_UID_BASE, require_root

pytestmark = pytest.mark.slow

WORKER_SCRIPT = Path(__file__).resolve().parents[1] / "grading_worker.py"
WAIT_S = 180


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ActiveMQServer]:
    require_root()
    server = start_activemq(tmp_path_factory.mktemp("worker-broker"))
    yield server
    server.stop()


# aplusb with 4 s of CPU time (11 s of wall clock) per test: for tests about the broker and redelivery, not the
# judge's clock. Beside CI's other lanes and a restarting broker's JVM, two jobs spinning on two
# cores ran past aplusb's own 3 s wall clock (TLE instead of AC) even at 300 ms of CPU each.
ROOMY_APLUSB = "aplusb-roomy"


@pytest.fixture(scope="module")
def bucket(moto_server, tmp_path_factory: pytest.TempPathFactory) -> str:
    name = f"grading-test-{uuid.uuid4().hex[:8]}"
    s3 = boto3.client("s3", **_boto_kwargs(moto_server))
    s3.create_bucket(Bucket=name, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
    for problem in ("aplusb", "pair-sum"):
        upload_problem(s3, name, PROBLEMS / problem)
    roomy = tmp_path_factory.mktemp("problems") / ROOMY_APLUSB
    shutil.copytree(PROBLEMS / "aplusb", roomy)
    settings = json.loads((roomy / "problem.json").read_text())
    (roomy / "problem.json").write_text(json.dumps(settings | {"id": ROOMY_APLUSB, "time_limit_ms": 4000}))
    upload_problem(s3, name, roomy)
    return name


def _boto_kwargs(moto_server) -> dict:
    env = moto_server.client_env()
    return {
        "endpoint_url": env["AWS_ENDPOINT_URL"],
        "region_name": env["AWS_REGION"],
        "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
    }


class WorkerProcess:
    _count = 0

    def __init__(self, broker: ActiveMQServer, moto_server, bucket: str, tmp: Path, **extra: str) -> None:
        WorkerProcess._count += 1
        self.worker_id = f"test-worker-{WorkerProcess._count}"
        self.health_port = free_port()
        self.log_path = tmp / f"worker-{WorkerProcess._count}.log"
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MQ_"))}
        env |= broker.endpoints_env(user="worker") | moto_server.client_env()  # the workers' account
        env |= {
            "GRADING_BUCKET": bucket,
            "HEALTH_PORT": str(self.health_port),
            "HEALTH_HOST": "127.0.0.1",
            # Each worker its own uid range: slots are exclusive per host. Ranges +100..+500 of this
            # process's block, in turn (never past the block: the next one is another run's).
            "SANDBOX_UID_BASE": str(TEST_UID_BASE + 100 * (1 + (WorkerProcess._count - 1) % 5)),
            "SANDBOX_UID_COUNT": "100",
            "PROBLEM_CACHE_DIR": str(tmp / f"cache-{WorkerProcess._count}"),
            "WORKER_ID": self.worker_id,
            "WORKER_SHUTDOWN_GRACE_S": "60",
            "WORKER_CONCURRENCY": "1",  # what the fault tests reason about; `auto` follows the host's CPUs
            **extra,
        }
        self.log = self.log_path.open("wb")
        self.process = subprocess.Popen(
            [sys.executable, str(WORKER_SCRIPT)], stdout=self.log, stderr=subprocess.STDOUT, env=env
        )
        wait_for_port(self.health_port, timeout=60, process=self.process)

    def logs(self) -> str:
        return self.log_path.read_text(errors="replace")

    def records(self, message: str | None = None, submission_id: str | None = None) -> list[dict]:
        """The worker's own JSON log lines, optionally those with this message (and submission)."""
        found = []
        for line in self.logs().splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if not isinstance(record, dict):
                continue
            if message is not None and record.get("message") != message:
                continue
            if submission_id is not None and record.get("submission_id") != submission_id:
                continue
            found.append(record)
        return found

    def wait_record(self, message: str, submission_id: str | None = None, timeout: float = WAIT_S) -> dict:
        """Block until the worker logs ``message`` (for ``submission_id``); a liveness bound only."""
        deadline = time.monotonic() + timeout
        while not (found := self.records(message, submission_id)):
            if self.process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{self.worker_id} never logged {message!r} for {submission_id}:\n{self.logs()[-3000:]}")
            time.sleep(0.05)
        return found[0]

    def in_flight(self, ids: list[str]) -> list[str]:
        """Submissions this worker has started and not finished, from its log."""
        started = {r["submission_id"] for r in self.records("job started")}
        finished = {r["submission_id"] for r in self.records("job done")}
        return [sid for sid in ids if sid in started and sid not in finished]

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout=90)
        finally:
            self.log.close()

    def kill(self) -> None:
        self.process.kill()
        self.process.wait()
        self.log.close()


@pytest.fixture
def start_worker(broker, moto_server, bucket, tmp_path):
    started: list[WorkerProcess] = []

    def start(**extra: str) -> WorkerProcess:
        worker = WorkerProcess(broker, moto_server, bucket, tmp_path, **extra)
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.process.poll() is None:
            worker.kill()


class Results(stomp.ConnectionListener):
    """Collects grading.results (and optionally the DLQ) for the test's own submissions."""

    def __init__(self, broker: ActiveMQServer) -> None:
        self.broker = broker
        self.results: list[GradingResult] = []
        self.dead_letters: list[tuple[dict, str]] = []
        self.changed = threading.Condition()
        self.conn = self._connect()

    def _connect(self) -> stomp.Connection12:
        conn = connect(BrokerSettings.from_env(self.broker.endpoints_env()), listener=self)
        conn.subscribe(RESULT_QUEUE, id="results", ack="auto")
        conn.subscribe(DEAD_LETTER_QUEUE, id="dlq", ack="auto")
        return conn

    def reconnect(self) -> None:
        deadline = time.monotonic() + 60
        while True:
            try:
                self.conn = self._connect()
                return
            except ConnectionError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def on_message(self, frame) -> None:
        with self.changed:
            if frame.headers.get("subscription") == "dlq":
                self.dead_letters.append((dict(frame.headers), frame.body))
            else:
                self.results.append(GradingResult.from_json(frame.body))
            self.changed.notify_all()

    def done(self, submission_id: str) -> list[GradingResult]:
        return [r for r in self.results if r.submission_id == submission_id and r.state == "done"]

    def wait_for(self, predicate, what: str, timeout: float = WAIT_S) -> None:
        deadline = time.monotonic() + timeout
        with self.changed:
            while not predicate():
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    pytest.fail(f"timed out waiting for {what}; results so far: {self.results}")
                self.changed.wait(min(remaining, 1.0))

    def wait_done(self, ids: list[str], timeout: float = WAIT_S) -> dict[str, GradingResult]:
        self.wait_for(lambda: all(self.done(i) for i in ids), f"done results for {ids}", timeout)
        return {i: self.done(i)[0] for i in ids}

    def close(self) -> None:
        if self.conn.is_connected():
            self.conn.disconnect()


@pytest.fixture
def results(broker) -> Iterator[Results]:
    collector = Results(broker)
    yield collector
    collector.close()


def send_requests(
    broker: ActiveMQServer,
    jobs: list[tuple[str, str, str, str]],
    raw: list[str] = (),
    traced: frozenset[str] = frozenset(),
) -> None:
    """jobs: (submission_id, problem_id, language, source); raw: bodies sent as they are.

    The requests of ``traced`` submissions carry a trace, as the web tier's outbox sends them.
    """
    conn = connect(BrokerSettings.from_env(broker.endpoints_env()))
    try:
        for submission_id, problem_id, language, source in jobs:
            trace = {"web.received": time.time(), "outbox.publish": time.time()} if submission_id in traced else {}
            request = GradingRequest(
                submission_id, problem_id, language, source, datetime.now(UTC).isoformat(), trace=trace
            )
            conn.send(REQUEST_QUEUE, request.to_json(), headers={"persistent": "true"}, receipt=submission_id)
        for body in raw:
            conn.send(REQUEST_QUEUE, body, headers={"persistent": "true"})
    finally:
        conn.disconnect(receipt="bye")


def solution(problem: str, name: str) -> tuple[str, str]:
    path = PROBLEMS / problem / "solutions" / name
    return {".c": "c", ".cpp": "cpp", ".py": "python3"}[path.suffix], path.read_text()


def new_id(tag: str) -> str:
    return f"{tag}-{uuid.uuid4().hex[:10]}"


def slot_processes(uid_low: int, uid_high: int) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            fields = dict(line.split(":", 1) for line in status.splitlines() if ":" in line)
            uid = int(fields.get("Uid", "0").split()[0])
            if uid_low <= uid < uid_high and "zombie" not in fields.get("State", ""):
                found.append(entry.name)
    return found


# --- the tests ------------------------------------------------------------------------------


def test_n_jobs_in_n_results_out(start_worker, results, broker, moto_server, bucket) -> None:
    worker = start_worker(WORKER_CONCURRENCY="2")
    cases = {
        new_id("ac-c"): ("aplusb", "ac.c", "AC"),
        new_id("ac-py"): ("aplusb", "ac.py", "AC"),
        new_id("wa-py"): ("aplusb", "wa.py", "WA"),
        new_id("ce"): ("aplusb", "ce.cpp", "CE"),
        new_id("rte"): ("aplusb", "rte.c", "RTE"),
        new_id("ir"): ("aplusb", "ir.py", "IR"),
        new_id("pair-ac"): ("pair-sum", "ac.py", "AC"),
        new_id("pair-wa"): ("pair-sum", "wa.cpp", "WA"),
    }
    traced = frozenset(sid for sid in cases if sid.startswith(("ac-c", "ce")))
    send_requests(broker, [(sid, p, *solution(p, name)) for sid, (p, name, _) in cases.items()], traced=traced)
    done = results.wait_done(list(cases))
    assert {sid: r.verdict for sid, r in done.items()} == {sid: v for sid, (_, _, v) in cases.items()}
    # The trace: the request's stamps passed on, the worker's added in the order they happen
    # (one host's wall clock); a request without a trace (an older web tier) still gets the worker's.
    worker_stamps = ["worker.received", "worker.start", "judge.start", "compile.end", "judge.end"]
    worker_stamps += ["upload.start", "upload.end", "result.publish"]
    for sid, result in done.items():
        expected = (["web.received", "outbox.publish"] if sid in traced else []) + worker_stamps
        assert sorted(result.trace, key=result.trace.__getitem__) == expected, (sid, result.trace)
    for sid in cases:
        states = [r.state for r in results.results if r.submission_id == sid]
        assert states.index("processing") < states.index("done"), states
    ce = done[next(s for s in cases if s.startswith("ce-"))]
    assert "undeclared_variable" in ce.compile_output
    ac = done[next(s for s in cases if s.startswith("ac-c"))]
    assert [t.verdict for t in ac.tests] == ["AC"] * 4
    s3 = boto3.client("s3", **_boto_kwargs(moto_server))
    summary = json.loads(s3.get_object(Bucket=bucket, Key=ac.artifacts_prefix + "report.json")["Body"].read())
    assert summary["verdict"] == "AC" and summary["submission_id"] == ac.submission_id
    wrong = done[next(s for s in cases if s.startswith("wa-py"))]
    assert [(t.visible, bool(t.detail)) for t in wrong.tests] == [(True, True)] + [(False, False)] * 3
    staff = s3.get_object(Bucket=bucket, Key=f"results/_staff/{wrong.submission_id}/summary.json")["Body"].read()
    assert b"1999999999999999999" in staff  # test 03's answer: for staff only
    with urllib.request.urlopen(f"http://127.0.0.1:{worker.health_port}/health/ready", timeout=10) as response:
        assert json.load(response)["status"] == "ready"
    assert worker.stop() == 0
    logs = worker.logs()
    assert '"CloudWatchMetrics"' in logs and '"Verdict": "AC"' in logs
    assert broker.password not in logs


def test_sigkill_mid_job_is_redelivered_and_graded_once(start_worker, results, broker) -> None:
    """The kill lands in a job, by the workers' own logs: the victim started it (attempt 1) and
    never finished it; the rescuer counted the lost attempt and judged it as attempt 2: AC, once."""
    victim = start_worker()
    sid = new_id("killed")
    send_requests(broker, [(sid, ROOMY_APLUSB, "c", slow_aplusb_c(cpu_ms=500, tag=sid))])  # ~2 s of runs
    started = victim.wait_record("job started", sid)
    assert started["attempt"] == 1
    assert victim.in_flight([sid]) == [sid]  # started, not done: the kill lands in the job...
    victim.kill()
    assert victim.in_flight([sid]) == [sid]  # ...and its final log says so: never done
    rescuer = start_worker()
    done = results.wait_done([sid])[sid]
    assert (done.verdict, done.worker) == ("AC", rescuer.worker_id)
    assert rescuer.stop() == 0
    lost = rescuer.records("redelivered job, counting the lost attempt", sid)
    assert [r["attempt"] for r in lost] == [2], rescuer.logs()[-3000:]
    assert [r["attempt"] for r in rescuer.records("job done", sid)] == [2]
    processing = [r.worker for r in results.results if r.submission_id == sid and r.state == "processing"]
    assert processing == [victim.worker_id, rescuer.worker_id]
    assert [r.worker for r in results.done(sid)] == [rescuer.worker_id]  # graded once
    assert slot_processes(TEST_UID_BASE + 100, TEST_UID_BASE + 1000) == []


def test_broker_restart_mid_stream_loses_nothing(start_worker, results, broker) -> None:
    """The restart lands while a job is judged and others wait, by the worker's log: the job in
    flight at the restart finishes after the lost connection, and every job ends AC."""
    worker = start_worker(WORKER_CONCURRENCY="2", MQ_HEARTBEAT_MS="1000")
    ids = [new_id("restart") for _ in range(4)]  # two judged at a time, ~1.2 s each: two wait
    send_requests(broker, [(sid, ROOMY_APLUSB, "c", slow_aplusb_c(cpu_ms=300, tag=sid)) for sid in ids])
    deadline = time.monotonic() + WAIT_S
    while not (in_flight := worker.in_flight(ids)):
        assert time.monotonic() < deadline, f"no job in flight:\n{worker.logs()[-3000:]}"
        time.sleep(0.05)
    waiting = [sid for sid in ids if not worker.records("job started", sid)]
    assert waiting, "every job had started: the restart would not land mid-stream"
    broker.restart()
    results.reconnect()
    done = results.wait_done(ids)
    assert {r.verdict for r in done.values()} == {"AC"}
    for sid in ids:  # duplicates, if a lost ack let one be judged again, agree
        assert {r.verdict for r in results.done(sid)} == {"AC"}, sid
    assert worker.process.poll() is None
    assert worker.stop() == 0
    # From the log's order: the connection was lost while the job in flight had not finished.
    messages = [(r.get("message"), r.get("submission_id")) for r in worker.records()]
    lost = messages.index(("broker connection lost, reconnecting", None))
    assert ("job done", in_flight[0]) in messages[lost:], messages


def test_poison_messages_are_dead_lettered_and_the_worker_goes_on(start_worker, results, broker) -> None:
    worker = start_worker()
    bad_language = new_id("cobol")
    unknown_problem = new_id("noproblem")
    good = new_id("after-poison")
    garbage = "this is not json " + uuid.uuid4().hex
    cobol = json.loads(GradingRequest(bad_language, "aplusb", "c", "x", "now").to_json()) | {"language": "cobol"}
    send_requests(broker, [], raw=[garbage, json.dumps(cobol)])
    send_requests(broker, [(unknown_problem, "no-such-problem", "c", "int main(){}")])
    send_requests(broker, [(good, "aplusb", *solution("aplusb", "ac.py"))])
    done = results.wait_done([bad_language, unknown_problem, good])
    assert done[good].verdict == "AC"
    assert done[bad_language].verdict == "IE" and "language" in done[bad_language].compile_output
    assert done[unknown_problem].verdict == "IE" and "no-such-problem" in done[unknown_problem].compile_output

    def dead(marker: str) -> bool:
        return any(marker in body for _headers, body in results.dead_letters)

    results.wait_for(lambda: dead(garbage) and dead(bad_language) and dead(unknown_problem), "3 dead letters")
    headers = next(h for h, body in results.dead_letters if garbage in body)
    assert "invalid message" in headers["gradestack-error"]
    assert worker.process.poll() is None
    assert worker.stop() == 0


def test_sigterm_lets_the_running_job_finish_and_hands_back_the_rest(start_worker, results, broker) -> None:
    worker = start_worker()
    sid, queued = new_id("sigterm"), new_id("after-sigterm")
    language, source = solution("aplusb", "tle.cpp")
    request = GradingRequest(sid, "aplusb", language, source, datetime.now(UTC).isoformat(), short_circuit=True)
    send_requests(broker, [], raw=[request.to_json()])
    send_requests(broker, [(queued, "aplusb", *solution("aplusb", "ac.c"))])
    results.wait_for(lambda: any(r.submission_id == sid for r in results.results), "the processing result")
    assert worker.in_flight([sid]) == [sid]  # the signal lands in the job
    worker.process.send_signal(signal.SIGTERM)
    assert worker.stop() == 0
    done = results.wait_done([sid])[sid]
    assert done.verdict == "TLE"
    assert [t.verdict for t in done.tests] == ["TLE", "SC", "SC", "SC"]
    assert not results.done(queued)  # not started by the stopping worker...
    start_worker()
    assert results.wait_done([queued])[queued].verdict == "AC"  # ...but not lost either


def test_a_job_that_keeps_failing_is_retried_then_dead_lettered(start_worker, results, broker, moto_server, bucket):
    """A failure that might be transient (here: the problem's checker does not compile) is
    retried with the attempt counted in the message, then dead-lettered with an IE result."""
    s3 = boto3.client("s3", **_boto_kwargs(moto_server))
    upload_problem(s3, bucket, PROBLEMS / "pair-sum")
    for key in ("problem.json", "tests/01.in", "tests/01.out"):
        body = s3.get_object(Bucket=bucket, Key=f"problems/pair-sum/{key}")["Body"].read()
        if key == "problem.json":
            body = body.replace(b'"pair-sum"', b'"broken-checker"')
        s3.put_object(Bucket=bucket, Key=f"problems/broken-checker/{key}", Body=body)
    s3.put_object(Bucket=bucket, Key="problems/broken-checker/checker.cpp", Body=b"this is not C++\n")
    worker = start_worker(WORKER_MAX_ATTEMPTS="2")
    sid = new_id("keeps-failing")
    send_requests(broker, [(sid, "broken-checker", *solution("pair-sum", "ac.py"))])
    done = results.wait_done([sid])[sid]
    assert done.verdict == "IE"
    assert "checker" in done.compile_output
    results.wait_for(lambda: any(sid in body for _h, body in results.dead_letters), "the dead letter")
    headers = next(h for h, body in results.dead_letters if sid in body)
    assert headers["gradestack-attempt"] == "2"
    processing = [r for r in results.results if r.submission_id == sid and r.state == "processing"]
    assert len(processing) == 2  # one per attempt
    assert "job failed, retrying later" in worker.logs()
    assert worker.stop() == 0


# --- workers sharing a kernel, and the watchdog ---------------------------------------------

SHARED_BASE = TEST_UID_BASE + 700


def started_uids(worker: WorkerProcess) -> list[int]:
    # The health port opens before the worker logs its slots: wait for the line, do not read the log at once.
    return worker.wait_record("worker started")["slot_uids"]


def test_two_workers_on_one_kernel_never_share_a_uid(start_worker, results, broker, tmp_path: Path) -> None:
    shared = {
        "SANDBOX_UID_BASE": str(SHARED_BASE),
        "SANDBOX_UID_COUNT": "100",
        "SANDBOX_SLOT_LEASE_DIR": str(tmp_path / "host-leases"),
        "WORKER_CONCURRENCY": "2",
        "WORKER_MAX_ATTEMPTS": "1",  # any failure shows as IE at once
    }
    workers = [start_worker(**shared, GRADING_STATE_DIR=str(tmp_path / f"container-{n}" / "state")) for n in (1, 2)]
    uids = [started_uids(w) for w in workers]
    assert len(set(uids[0] + uids[1])) == 4, uids
    # Compiles (up to 32 processes of the slot uid) overlapping runs (1 process allowed).
    jobs = {}
    for i in range(16):
        name = ("ac.c", "ac.cpp")[i % 2]
        jobs[new_id(f"shared-{i}")] = ("aplusb", *solution("aplusb", name))
    send_requests(broker, [(sid, *job) for sid, job in jobs.items()])
    done = results.wait_done(list(jobs))
    assert {sid: r.verdict for sid, r in done.items()} == dict.fromkeys(jobs, "AC")
    logs = [w.logs() for w in workers]
    for log_text in logs:
        assert "Resource temporarily unavailable" not in log_text
    used = [{json.loads(x)["slot_uid"] for x in t.splitlines() if '"job started"' in x} for t in logs]
    assert used[0] and used[1] and not used[0] & used[1], used
    for w in workers:
        assert w.stop() == 0


# --- the watchdog ----------------------------------------------------------------------------

SLEEPER = "import time\ntime.sleep(600)\n"  # no CPU: only a wall clock stops it


def stretch_wall_clock(monkeypatch) -> None:
    """The bug the watchdog backs up: the sandbox's own wall-clock limit does not hold."""
    real_run = sandbox.run

    def run(*args, limits: sandbox.Limits, run_phase: bool, **kwargs):
        if run_phase:
            limits = dataclasses.replace(limits, wall_ms=600_000)
        return real_run(*args, limits=limits, run_phase=run_phase, **kwargs)

    monkeypatch.setattr(sandbox, "run", run)


class ReadyPoller:
    def __init__(self, port: int) -> None:
        self.port = port
        self.seen: list[tuple[int, dict]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._poll, daemon=True)
        self.thread.start()

    def _poll(self) -> None:
        while not self.stop.wait(0.2):
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}/health/ready", timeout=5) as response:
                    self.seen.append((response.status, json.load(response)))
            except urllib.error.HTTPError as exc:
                self.seen.append((exc.code, json.load(exc)))
            except OSError:
                continue


def test_a_job_over_its_budget_is_killed_and_the_slot_reused(  # noqa: PLR0917  (fixtures)
    results, broker, moto_server, bucket, tmp_path: Path, monkeypatch, caplog
) -> None:
    stretch_wall_clock(monkeypatch)
    judge_config = JudgeConfig(compile_wall_ms=3000, wall_factor=1.0, wall_extra_ms=0)
    env = broker.endpoints_env(user="worker") | {
        "GRADING_BUCKET": bucket,
        "HEALTH_PORT": str(free_port()),
        "HEALTH_HOST": "127.0.0.1",
        "SANDBOX_UID_BASE": str(TEST_UID_BASE + 600),
        "SANDBOX_UID_COUNT": "100",
        "SANDBOX_SLOT_LEASE_DIR": os.environ["SANDBOX_SLOT_LEASE_DIR"],  # conftest's, not the host's
        "PROBLEM_CACHE_DIR": str(tmp_path / "cache"),
        "WORKER_ID": "watchdog-worker",
        "WORKER_CONCURRENCY": "1",
        "WORKER_MAX_ATTEMPTS": "1",
        "WORKER_WATCHDOG_MARGIN_S": "0",
        "WORKER_SHUTDOWN_GRACE_S": "30",
    }
    config = WorkerConfig.from_env(env)
    subject = Worker(config, s3=boto3.client("s3", **_boto_kwargs(moto_server)), judge_config=judge_config)
    (slot,) = subject.slots
    assert (Path(os.environ["SANDBOX_SLOT_LEASE_DIR"]) / f"{slot.uid}.lock").exists()
    problem = subject.store.get("aplusb")
    budget = watchdog.job_budget_s(problem, judge_config, 0)
    assert budget == 3 + 4 * 1 + 10  # compile, 4 tests of 1 s, the cleanup
    runner = threading.Thread(target=subject.run, daemon=True)
    caplog.set_level(logging.INFO, logger="grading")
    runner.start()
    poller = None
    try:
        wait_for_port(config.health_port, timeout=30)
        assert subject.connected.wait(60)
        poller = ReadyPoller(config.health_port)
        stuck, after = new_id("stuck"), new_id("after-stuck")
        send_requests(broker, [(stuck, "aplusb", "python3", SLEEPER)])
        results.wait_for(lambda: any(r.submission_id == stuck for r in results.results), "the processing result")
        started = time.monotonic()
        results.wait_for(lambda: any(stuck in body for _h, body in results.dead_letters), "the dead letter", 120)
        elapsed = time.monotonic() - started
        # Killed at its budget; the remaining tests' runs die at the watchdog's next ticks.
        assert budget - 1 < elapsed < budget + 15, elapsed
        headers = next(h for h, body in results.dead_letters if stuck in body)
        assert headers["gradestack-error"] == f"watchdog: job exceeded its budget of {budget:.0f} s"
        assert slot_processes(slot.uid, slot.uid + 1) == []
        send_requests(broker, [(after, "aplusb", *solution("aplusb", "ac.py"))])
        assert results.wait_done([after])[after].verdict == "AC"
        ready_deadline = time.monotonic() + 10
        while not (poller.seen and poller.seen[-1][0] == 200) and time.monotonic() < ready_deadline:
            time.sleep(0.2)
    finally:
        if poller is not None:
            poller.stop.set()
        subject.stop()
        runner.join(60)
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith(f"watchdog: job exceeded its budget of {budget:.0f} s") for m in messages)
    jobs = [r.fields for r in caplog.records if r.getMessage() == "job started"]
    assert [j["submission_id"] for j in jobs] == [stuck, after]
    assert {j["slot_uid"] for j in jobs} == {slot.uid}  # the freed slot took the next job
    statuses = [status for status, _body in poller.seen]
    stuck_at = [i for i, (status, body) in enumerate(poller.seen) if status == 503 and "stuck" in body]
    assert stuck_at, poller.seen
    for i in stuck_at:
        assert re.search(rf"slot uid {slot.uid}: job over its budget", poller.seen[i][1]["reason"])
    assert 200 in statuses[: stuck_at[0]]  # ready before it got stuck...
    assert statuses[-1] == 200  # ...and again after
    counts = subject.counters.snapshot()
    assert (counts["watchdog_kills"], counts["by_verdict"]) == (1, {"IE": 1, "AC": 1})
