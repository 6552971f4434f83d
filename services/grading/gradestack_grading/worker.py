"""The grading worker: consume ``grading.requests``, judge, store artifacts, publish verdicts.

Delivery guarantees (at-least-once, nothing lost):

- Subscription with ``client-individual`` acks and a prefetch equal to the
  concurrency: the broker hands out at most one job per free slot.
- A request is acked only after its ``done`` result was accepted by the broker (a
  STOMP receipt), so a worker that dies mid-job leaves the job to be redelivered.
- Attempts are counted in the message itself (``gradestack-attempt`` header): a
  transient failure, or a redelivery (``redelivered: true``: some worker took the job
  and vanished), re-sends the job with the count raised and acks the old copy. After
  ``WORKER_MAX_ATTEMPTS`` the job is dead-lettered: an IE result is published and the
  message moves to ``ActiveMQ.DLQ.grading.requests``. Invalid messages and unknown
  problems are dead-lettered at once (retrying cannot help). This works on any broker
  configuration, Amazon MQ's default included; the broker's own redelivery policy is
  only a safety net.
- Results carry the submission id; consumers deduplicate on it. A worker remembers the
  submissions it finished recently, so a redelivered copy of one is acked, not regraded.
- Broker connection lost: reconnect with backoff (failover list in order) and
  re-subscribe; a result waiting to be published waits for the new connection.
- SIGTERM (ECS gives 30 s): stop intake, let running jobs finish within
  ``WORKER_SHUTDOWN_GRACE_S``, hand queued ones back to the broker, exit 0.
- Infrastructure failures of the sandbox (EAGAIN from fork/exec, the supervisor not
  starting) are not the contestant's doing: the job is judged again in place
  (``WORKER_INFRA_RETRIES`` times, short backoff), then requeued like any transient
  failure. IE is published only after ``WORKER_MAX_ATTEMPTS`` (dead letter) or for a
  real internal error.
- A job over its whole budget (``watchdog.job_budget_s``) has its slot's processes
  killed by the watchdog and is requeued, or dead-lettered with the reason
  ``watchdog: job exceeded its budget of N s``; its report is discarded.
- Slot uids are leased host-wide (grading/slots.py) for the worker's whole life.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import queue
import signal
import threading
import time
import uuid
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import boto3
import stomp
from botocore.config import Config as BotoConfig
from gradestack_protocol import GradingRequest, GradingResult, MessageError, ProblemError, TestResult
from gradestack_protocol.artifacts import (
    COMPILE_LOG,
    CONTESTANT_REPORT,
    STAFF_REPORT,
    contestant_prefix,
    staff_prefix,
)
from gradestack_protocol.broker import connect_with_retry
from gradestack_protocol.messages import DEAD_LETTER_QUEUE, REQUEST_QUEUE, RESULT_QUEUE
from gradestack_protocol.trace import stamp

from gradestack_grading import health, slots, telemetry, watchdog
from gradestack_grading.config import ConfigError, WorkerConfig
from gradestack_grading.judge import Judge, JudgeConfig, JudgeReport
from gradestack_grading.problem_store import ProblemNotFoundError, ProblemStore

log = logging.getLogger("grading.worker")
SUBSCRIPTION_ID = "grading-requests"
RECEIPT_TIMEOUT_S = 15.0
PUBLISH_PATIENCE_S = 120.0
REMEMBER_DONE = 2048
INFRA_BACKOFF_S = (0.5, 1.0, 2.0, 4.0)


class PermanentJobError(Exception):
    """Retrying will not help (invalid message, unknown problem)."""


class BrokerUnavailableError(Exception):
    pass


class InfrastructureError(Exception):
    """The sandbox kept failing for reasons of the host, not of the job: requeue, no verdict."""


class WatchdogExpiredError(Exception):
    """The job outlived its budget and was killed: requeue or dead-letter, never a verdict."""


# A slot's processes are emptied after every run, so a repeated EAGAIN with memory and
# descriptors to spare mostly means the uid's RLIMIT_NPROC count is shared with processes
# this container cannot see: another container on the kernel judging as the same uid.
SHARED_UID_HINT = (
    "if this repeats, another container on this kernel may run as this slot uid: workers on one host "
    "that share SANDBOX_UID_BASE must share SANDBOX_SLOT_LEASE_DIR (or use disjoint uid ranges)"
)


def is_infrastructure_failure(report: JudgeReport) -> bool:
    """IE caused by the host (judge.JudgeReport.host_failure), never by the submission."""
    return report.verdict == "IE" and report.host_failure


@dataclass
class Delivery:
    headers: dict[str, str]
    body: str
    generation: int
    received_at: float

    @property
    def ack_id(self) -> str:
        return self.headers.get("ack") or self.headers.get("message-id", "")

    @property
    def attempt(self) -> int:
        try:
            return max(1, min(1000, int(self.headers.get("gradestack-attempt", "1"))))
        except ValueError:
            return 1


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds")


class _Listener(stomp.ConnectionListener):
    def __init__(self, worker: Worker, generation: int) -> None:
        self.worker = worker
        self.generation = generation

    def on_message(self, frame) -> None:
        if frame.headers.get("subscription") == SUBSCRIPTION_ID:
            self.worker.jobs.put(Delivery(dict(frame.headers), frame.body, self.generation, time.time()))

    def on_receipt(self, frame) -> None:
        event = self.worker.receipts.get(frame.headers.get("receipt-id", ""))
        if event is not None:
            event.set()

    def on_error(self, frame) -> None:
        log.error("broker error frame", extra={"fields": {"broker_message": frame.headers.get("message", "")}})

    def on_disconnected(self) -> None:
        if self.generation == self.worker.generation:
            self.worker.connected.clear()
            self.worker.disconnected.set()


class Worker:
    def __init__(self, config: WorkerConfig, s3: Any = None, judge_config: JudgeConfig | None = None) -> None:
        self.config = config
        self.judge_config = judge_config or JudgeConfig()
        self.s3 = s3 or boto3.client(
            "s3", region_name=config.region, config=BotoConfig(retries={"max_attempts": 3, "mode": "standard"})
        )
        self.store = ProblemStore(self.s3, config.bucket, config.problem_cache_dir, config.revalidate_s)
        self.jobs: queue.Queue[Delivery | None] = queue.Queue()
        self.receipts: dict[str, threading.Event] = {}
        self.stopping = threading.Event()
        self.connected = threading.Event()
        self.disconnected = threading.Event()
        self.generation = 0
        self.conn: stomp.Connection12 | None = None
        self._done: OrderedDict[str, None] = OrderedDict()
        self._done_lock = threading.Lock()
        self.slots = slots.acquire_slots(config.concurrency, config.uid_base, config.uid_count, config.slot_lease_dir)
        self.threads: list[threading.Thread] = []
        self.health_server = None
        self.counters = telemetry.Counters()
        self.watchdog = watchdog.Watchdog(on_fire=self._watchdog_fired)

    # --- lifecycle --------------------------------------------------------------------------

    def run(self) -> int:
        probe = health.ReadinessProbe(
            self.connected.is_set,
            lambda: self.s3.head_bucket(Bucket=self.config.bucket),
            stalls=self.watchdog.overdue,
        )
        if self.config.health_port:
            app = health.create_app(
                probe,
                self.config.worker_id,
                liveness=lambda: self.watchdog.wedged(len(self.slots), self.config.wedged_limit_s),
                counters=self.counters.snapshot,
            )
            self.health_server = health.serve(app, self.config.health_port, self.config.health_host)
        self.watchdog.start()
        for slot in self.slots:
            # Daemon threads: a job still running when the grace period ends must not keep the
            # process alive; its request is unacked, so the broker hands it to another worker.
            judge = Judge(slot, self.judge_config)
            thread = threading.Thread(target=self._job_loop, args=(judge,), name=f"job-{slot.index}", daemon=True)
            thread.start()
            self.threads.append(thread)
        log.info("worker started", extra={"fields": self._describe()})
        try:
            self._connection_loop()
        finally:
            self._shutdown()
        return 0

    def stop(self, *_args: object) -> None:
        # Runs in a signal handler: only set events (logging here could deadlock).
        self.stopping.set()
        self.disconnected.set()

    def _describe(self) -> dict[str, Any]:
        return {
            "worker": self.config.worker_id,
            "concurrency": self.config.concurrency,
            "endpoints": [str(e) for e in self.config.broker.endpoints],
            "bucket": self.config.bucket,
            "slot_uids": [s.uid for s in self.slots],
        }

    def _connection_loop(self) -> None:
        def on_failure(error: Exception, delay: float) -> None:
            log.warning("broker unreachable, retrying", extra={"fields": {"error": str(error), "retry_in_s": delay}})

        while not self.stopping.is_set():
            self.disconnected.clear()
            generation = self.generation + 1
            conn = connect_with_retry(
                self.config.broker,
                _Listener(self, generation),
                client_id=f"{self.config.worker_id}-{generation}",
                should_continue=lambda: not self.stopping.is_set(),
                on_failure=on_failure,
            )
            if conn is None:
                return
            self.conn, self.generation = conn, generation
            conn.subscribe(
                REQUEST_QUEUE,
                id=SUBSCRIPTION_ID,
                ack="client-individual",
                headers={"activemq.prefetchSize": str(self.config.concurrency)},
            )
            self.connected.set()
            log.info("subscribed", extra={"fields": {"queue": REQUEST_QUEUE, "generation": generation}})
            while not self.disconnected.wait(1.0):
                if not conn.is_connected():
                    break
            if self.stopping.is_set() and conn.is_connected():
                return  # running jobs still publish on this connection; _shutdown closes it
            self.connected.clear()
            if not self.stopping.is_set():
                log.warning("broker connection lost, reconnecting")
                with contextlib.suppress(Exception):
                    conn.disconnect()

    def _shutdown(self) -> None:
        # No UNSUBSCRIBE: ActiveMQ would hand the running jobs' messages to another worker at
        # once (they are unacked), and their acks would then be refused. Instead the job
        # threads stop starting jobs; what they leave unacked (prefetched, never started)
        # goes back to the queue when the connection closes.
        log.info("stopping: no new jobs, finishing the running ones")
        conn = self.conn
        deadline = time.monotonic() + self.config.shutdown_grace_s
        for _ in self.threads:
            self.jobs.put(None)
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        busy = [t.name for t in self.threads if t.is_alive()]
        if busy:
            log.warning("jobs still running at the end of the grace period", extra={"fields": {"threads": busy}})
        if conn is not None:
            with contextlib.suppress(Exception):
                conn.disconnect()
        if self.health_server is not None:
            self.health_server.shutdown()
        self.watchdog.stop()
        if not busy:
            # A job thread still running keeps its slot's lease (the process exits soon and
            # the kernel drops it): its processes must not meet another worker's job.
            for slot in self.slots:
                slot.release()
        log.info("worker stopped")

    # --- broker operations ------------------------------------------------------------------

    def _send(self, destination: str, body: str, headers: dict[str, str], patience_s: float) -> None:
        """Send and wait for the broker's receipt, across reconnects, for up to ``patience_s``."""
        deadline = time.monotonic() + patience_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise BrokerUnavailableError(f"could not publish to {destination} within {patience_s:.0f}s")
            if not self.connected.wait(min(remaining, 1.0)):
                continue
            conn, receipt = self.conn, str(uuid.uuid4())
            event = self.receipts[receipt] = threading.Event()
            try:
                assert conn is not None
                conn.send(destination, body, content_type="application/json", headers={**headers, "receipt": receipt})
                if event.wait(min(RECEIPT_TIMEOUT_S, max(0.1, remaining))):
                    return
            except (stomp.exception.StompException, OSError) as exc:
                log.warning("send failed, will retry", extra={"fields": {"error": str(exc)}})
            finally:
                self.receipts.pop(receipt, None)
            time.sleep(0.2)

    def _ack(self, delivery: Delivery) -> None:
        if delivery.generation != self.generation or self.conn is None:
            return  # that connection is gone; the broker redelivers and the done-cache absorbs it
        with contextlib.suppress(stomp.exception.StompException, OSError):
            self.conn.ack(delivery.ack_id)

    def _publish_result(self, result: GradingResult, patience_s: float = PUBLISH_PATIENCE_S) -> None:
        headers = {"persistent": "true", "gradestack-submission-id": result.submission_id}
        self._send(RESULT_QUEUE, result.to_json(), headers, patience_s)

    def _resend(self, delivery: Delivery, attempt: int, delay_ms: int = 0) -> None:
        headers = {"persistent": "true", "gradestack-attempt": str(attempt)}
        if delay_ms:
            headers["AMQ_SCHEDULED_DELAY"] = str(delay_ms)  # honoured when the broker's scheduler is on
        self._send(REQUEST_QUEUE, delivery.body, headers, RECEIPT_TIMEOUT_S * 2)
        self._ack(delivery)

    # --- jobs -------------------------------------------------------------------------------

    def _job_loop(self, judge: Judge) -> None:
        while True:
            delivery = self.jobs.get()
            if delivery is None:
                return
            if self.stopping.is_set():
                continue  # left unacked: the broker redelivers it when we disconnect
            if delivery.generation != self.generation:
                continue  # received on a connection that is gone: the broker will redeliver it
            try:
                self._handle(delivery, judge)
            except BrokerUnavailableError as exc:
                log.error("broker unavailable; the job will be redelivered", extra={"fields": {"error": str(exc)}})
            except Exception:
                log.exception("unexpected error handling a job; it will be redelivered")

    def _remember_done(self, submission_id: str) -> None:
        with self._done_lock:
            self._done[submission_id] = None
            while len(self._done) > REMEMBER_DONE:
                self._done.popitem(last=False)

    def _already_done(self, submission_id: str | None) -> bool:
        with self._done_lock:
            return submission_id is not None and submission_id in self._done

    def _handle(self, delivery: Delivery, judge: Judge) -> None:
        started_at = time.time()  # wall clock: a trace stamp (gradestack_protocol.trace)
        attempt = delivery.attempt
        ids = _ids_from(delivery.body)
        if delivery.headers.get("redelivered") == "true":
            if ids and self._already_done(ids[0]):
                self._ack(delivery)  # we published its result; the ack was lost with a connection
                return
            attempt += 1
            if attempt > self.config.max_attempts:
                self._dead_letter(delivery, ids, attempt - 1, "delivered too many times without a result")
            else:
                # Some worker took this job and vanished; count that attempt in the message.
                log.warning(
                    "redelivered job, counting the lost attempt",
                    extra={"fields": {"attempt": attempt, "submission_id": ids[0] if ids else None}},
                )
                self._resend(delivery, attempt)
            return
        try:
            request = GradingRequest.from_json(delivery.body)
        except MessageError as exc:
            self._dead_letter(delivery, ids, attempt, f"invalid message: {exc}")
            return
        fields = {
            "submission_id": request.submission_id,
            "problem_id": request.problem_id,
            "attempt": attempt,
            "slot_uid": judge.slot.uid,
        }
        log.info("job started", extra={"fields": fields})
        self._publish_result(
            GradingResult(
                request.submission_id,
                request.problem_id,
                "processing",
                worker=self.config.worker_id,
                emitted_at=now_iso(),
            )
        )
        started = time.monotonic()
        try:
            report = self._judge(request, judge)
        except PermanentJobError as exc:
            self._dead_letter(delivery, ids, attempt, str(exc))
            return
        except (InfrastructureError, WatchdogExpiredError) as exc:
            # Not a verdict: another attempt (maybe on another worker) gets a fresh start.
            reason = str(exc)[:500]
            if attempt >= self.config.max_attempts:
                self._dead_letter(delivery, ids, attempt, reason)
            else:
                log.warning("job requeued", extra={"fields": {**fields, "error": reason}})
                self.counters.event("InfraRequeues")
                telemetry.emit_metrics(telemetry.event_record("InfraRequeues", submission_id=request.submission_id))
                self._resend(delivery, attempt + 1, delay_ms=1000 * 2**attempt)
            return
        except Exception as exc:
            reason = f"{type(exc).__name__}: {exc}"[:500]
            if attempt >= self.config.max_attempts:
                self._dead_letter(delivery, ids, attempt, reason)
            else:
                log.warning("job failed, retrying later", extra={"fields": {**fields, "error": reason}})
                self._resend(delivery, attempt + 1, delay_ms=1000 * 2**attempt)
            return
        judge_ms = int((time.monotonic() - started) * 1000)
        trace = {**request.trace, "worker.received": delivery.received_at, "worker.start": started_at}
        self._finish(delivery, request, report, attempt, trace)
        log.info("job done", extra={"fields": {**fields, "verdict": report.verdict, "judge_ms": judge_ms}})
        self.counters.verdict(report.verdict)
        wait_ms = _queue_wait_ms(delivery)
        telemetry.emit_metrics(
            telemetry.emf_record(report.verdict, judge_ms, wait_ms, submission_id=request.submission_id)
        )

    def _finish(
        self, delivery: Delivery, request: GradingRequest, report: JudgeReport, attempt: int, trace: dict[str, float]
    ) -> None:
        """Store the artifacts, publish the done result with the trace, then ack the request."""
        trace = {**trace, **report.stamps, "upload.start": time.time()}
        prefix = self._store_artifacts(request, report, attempt)
        trace["upload.end"] = time.time()
        self._publish_result(_result_from(request, report, prefix, self.config.worker_id, trace))
        self._remember_done(request.submission_id)
        self._ack(delivery)

    def _judge(self, request: GradingRequest, judge: Judge) -> JudgeReport:
        try:
            problem = self.store.get(request.problem_id)
        except (ProblemNotFoundError, ProblemError, MessageError) as exc:
            raise PermanentJobError(str(exc)) from exc
        budget_s = watchdog.job_budget_s(problem, judge.config, self.config.watchdog_margin_s)
        retries = self.config.infra_retries
        for retry in range(retries + 1):
            with self.watchdog.watch(judge.slot, budget_s) as watched:
                report = judge.judge(problem, request.language, request.source, request.short_circuit)
            if watched.fired:
                raise WatchdogExpiredError(f"watchdog: job exceeded its budget of {budget_s:.0f} s")
            if not is_infrastructure_failure(report):
                break
            if retry == retries:
                raise InfrastructureError(f"infrastructure failure after {retries + 1} tries: {report.detail}")
            delay = INFRA_BACKOFF_S[min(retry, len(INFRA_BACKOFF_S) - 1)]
            log.warning(
                "sandbox infrastructure failure, judging again",
                extra={
                    "fields": {
                        "submission_id": request.submission_id,
                        "error": report.detail,
                        "retry_in_s": delay,
                        "slot_uid": judge.slot.uid,
                        "hint": SHARED_UID_HINT,
                    }
                },
            )
            self.counters.event("InfraRetries")
            telemetry.emit_metrics(telemetry.event_record("InfraRetries", submission_id=request.submission_id))
            time.sleep(delay)
        if report.verdict == "IE":
            raise RuntimeError(report.detail or "internal error while judging")
        return report

    def _watchdog_fired(self, job: watchdog.WatchedJob) -> None:
        self.counters.event("WatchdogKills")
        telemetry.emit_metrics(telemetry.event_record("WatchdogKills", slot_uid=job.slot.uid))

    def _store_artifacts(self, request: GradingRequest, report: JudgeReport, attempt: int) -> str:
        """Store the artifacts; return the contestant-visible prefix ("" when S3 failed).

        ``results/<id>/`` is what the web app links: the report as the feedback policy
        lets a contestant see it. The full report (hidden tests' details and output
        excerpts) goes to ``results/_staff/<id>/``, which the web app never links
        (``gradestack_protocol.artifacts``).
        """
        prefix = contestant_prefix(request.submission_id)
        stamp = {
            "submission_id": request.submission_id,
            "worker": self.config.worker_id,
            "attempt": attempt,
            "finished_at": now_iso(),
        }
        objects = (
            (staff_prefix(request.submission_id) + STAFF_REPORT, {**report.to_dict(with_outputs=True), **stamp}),
            (prefix + CONTESTANT_REPORT, {**report.for_contestant().to_dict(with_outputs=True), **stamp}),
        )
        try:
            for key, summary in objects:
                self.s3.put_object(
                    Bucket=self.config.bucket,
                    Key=key,
                    Body=json.dumps(summary, indent=2).encode(),
                    ContentType="application/json",
                )
            self.s3.put_object(
                Bucket=self.config.bucket,
                Key=prefix + COMPILE_LOG,
                Body=report.compile_output.encode(),
                ContentType="text/plain; charset=utf-8",
            )
        except Exception as exc:
            log.error("could not store artifacts", extra={"fields": {"prefix": prefix, "error": str(exc)[:300]}})
            return ""
        return prefix

    def _dead_letter(self, delivery: Delivery, ids: tuple[str, str] | None, attempt: int, reason: str) -> None:
        log.error("dead-lettering job", extra={"fields": {"reason": reason, "attempt": attempt, "ids": ids}})
        if ids is not None:
            submission_id, problem_id = ids
            self._publish_result(
                GradingResult(
                    submission_id,
                    problem_id,
                    "done",
                    verdict="IE",
                    compile_output=f"internal error: {reason}",
                    worker=self.config.worker_id,
                    emitted_at=now_iso(),
                )
            )
            self._remember_done(submission_id)
        headers = {
            "persistent": "true",
            "gradestack-attempt": str(attempt),
            "gradestack-error": reason[:500].replace("\n", " "),
            "gradestack-original-message-id": delivery.headers.get("message-id", ""),
        }
        self._send(DEAD_LETTER_QUEUE, delivery.body, headers, RECEIPT_TIMEOUT_S * 2)
        self._ack(delivery)
        self.counters.verdict("IE")
        telemetry.emit_metrics(telemetry.emf_record("IE", 0, None, dead_lettered=True))


def _ids_from(body: str) -> tuple[str, str] | None:
    """(submission_id, problem_id) from a message that may not validate, if both are usable."""
    try:
        payload = json.loads(body)
        submission_id, problem_id = payload["submission_id"], payload["problem_id"]
        GradingResult(submission_id, problem_id, "processing")  # validates both ids
    except (ValueError, KeyError, TypeError, MessageError):
        return None
    return submission_id, problem_id


def _queue_wait_ms(delivery: Delivery) -> int | None:
    try:
        return int(delivery.received_at * 1000) - int(delivery.headers["timestamp"])
    except (KeyError, ValueError):
        return None


def _result_from(
    request: GradingRequest, report: JudgeReport, prefix: str, worker_id: str, trace: dict[str, float] | None = None
) -> GradingResult:
    """The published result: only what the problem's feedback policy lets a contestant see.

    ``trace`` is the request's with the worker's stamps; ``result.publish`` is added here,
    the last moment before the result is sent.
    """
    return GradingResult(
        submission_id=request.submission_id,
        problem_id=request.problem_id,
        state="done",
        verdict=report.verdict,
        time_ms=report.time_ms,
        memory_kb=report.memory_kb,
        compile_output=report.compile_output,
        tests=tuple(
            TestResult(t.name, t.verdict, t.time_ms, t.memory_kb, t.detail, t.visible)
            for t in report.for_contestant().tests
        ),
        artifacts_prefix=prefix,
        worker=worker_id,
        emitted_at=now_iso(),
        trace=stamp(trace if trace is not None else request.trace, "result.publish"),
    )


def run_worker() -> int:
    telemetry.configure_logging()
    try:
        config = WorkerConfig.from_env()
    except (ConfigError, ValueError) as exc:
        log.error("invalid configuration", extra={"fields": {"error": str(exc)}})
        return 2
    if os.geteuid() != 0 and os.environ.get("GRADING_ALLOW_UNPRIVILEGED") != "1":
        log.error("the worker must run as root to drop each submission to its own slot uid (see SECURITY.md)")
        return 2
    try:
        worker = Worker(config)
    except slots.SlotError as exc:
        log.error("cannot lease sandbox slot uids", extra={"fields": {"error": str(exc)}})
        return 2
    signal.signal(signal.SIGTERM, worker.stop)
    signal.signal(signal.SIGINT, worker.stop)
    return worker.run()
