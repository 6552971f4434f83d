"""The results consumer: applies ``grading.results`` messages to submissions.

Rules (the protocol's contract):
- idempotent on submission_id: a repeated result changes nothing;
- monotonic: queued -> processing -> done; a late ``processing`` never regresses a
  ``done`` submission, and the first ``done`` wins over any later one;
- a message is ACKed only after its database transaction committed, so a crash or a
  database outage means redelivery, never loss; the results that arrived together (up to
  the prefetch) share one transaction, one commit for all of them;
- a message that does not follow the schema can never succeed: it is moved (with the
  reason in a header) to ``ActiveMQ.DLQ.grading.results`` at once, confirmed by a broker
  receipt, then acked, instead of going through the broker's redelivery rounds.

Frames arrive on stomp.py's receiver thread; they are handed to the main loop through a
queue so that slow database work never blocks heart-beats.
"""

from __future__ import annotations

import contextlib
import logging
import queue
import threading
import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict
from datetime import UTC, datetime
from typing import Any

import stomp
from gradestack_protocol.broker import BrokerSettings
from gradestack_protocol.messages import RESULT_QUEUE, GradingResult, MessageError
from gradestack_protocol.trace import stamp
from sqlalchemy.orm import Session, sessionmaker

from gradestack_web.broker_link import ReceiptListener, connect_until_stopped
from gradestack_web.models import DONE, PROCESSING, QUEUED, Submission

DEAD_LETTER_QUEUE = f"ActiveMQ.DLQ.{RESULT_QUEUE}"

log = logging.getLogger(__name__)

APPLIED, STALE, UNKNOWN, MISMATCH = "applied", "stale", "unknown", "mismatch"


def apply_result(session: Session, result: GradingResult, received_at: float | None = None) -> str:
    """Apply one result inside the caller's transaction; return what happened.

    A done result's trace is stored with this consumer's stamps added: ``consumer.received``
    (``received_at``, when the frame reached the main loop) and ``db.write`` (now, the
    update written, the transaction about to commit).
    """
    submission = session.get(Submission, result.submission_id, with_for_update=True)
    if submission is None:
        return UNKNOWN
    if submission.problem_id != result.problem_id:
        return MISMATCH
    if submission.state == DONE:
        return STALE  # duplicate or late: the first final verdict stands
    now = datetime.now(UTC)
    if result.state == PROCESSING:
        if submission.state != QUEUED:
            return STALE
        submission.state = PROCESSING
        submission.worker = result.worker
        submission.updated_at = now
        return APPLIED
    submission.state = DONE
    submission.verdict = result.verdict
    submission.time_ms = result.time_ms
    submission.memory_kb = result.memory_kb
    submission.compile_output = result.compile_output
    submission.tests = [asdict(t) for t in result.tests]
    submission.artifacts_prefix = result.artifacts_prefix
    submission.worker = result.worker
    submission.updated_at = now
    submission.finished_at = now
    trace = dict(result.trace)
    if received_at is not None:
        trace["consumer.received"] = received_at
    submission.trace = stamp(trace, "db.write")
    return APPLIED


class _QueueingListener(ReceiptListener):
    def __init__(self, frames: queue.Queue) -> None:
        super().__init__()
        self.frames = frames

    def on_message(self, frame) -> None:
        # With its arrival time (the trace's consumer.received): the wait in this queue counts
        # as the consumer's own time, not the broker's.
        self.frames.put((frame, time.time()))

    def on_error(self, frame) -> None:
        log.warning("results: broker error: %s", frame.headers.get("message", "") or frame.body[:200])
        super().on_error(frame)


class ResultsConsumer:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        broker: BrokerSettings,
        *,
        prefetch: int = 10,
        client_id: str | None = None,
        db_retry_seconds: float = 2.0,
    ) -> None:
        self.sessions = sessions
        self.broker = broker
        self.prefetch = prefetch
        self.client_id = client_id
        self.db_retry_seconds = db_retry_seconds
        self.stop_event = threading.Event()
        self.db_errors = 0
        self.counts = {APPLIED: 0, STALE: 0, UNKNOWN: 0, MISMATCH: 0, "rejected": 0}

    def handle(self, body: str | bytes, received_at: float | None = None) -> str:
        """Validate and apply one message body; MessageError for a poison message. Retries DB errors.

        ``received_at``: when the message reached this consumer (wall clock, for the trace).
        """
        (outcome,) = self.handle_batch([(body, time.time() if received_at is None else received_at)])
        if isinstance(outcome, MessageError):
            raise outcome
        return outcome

    def handle_batch(self, messages: Sequence[tuple[str | bytes, float]]) -> list[str | MessageError]:
        """Apply the valid ones of (body, received_at) in ONE transaction; per message, its outcome or its MessageError.

        One commit (one WAL flush) for the results that arrived together instead of one each:
        under a burst they queue up in the broker, and the commit is most of what a result
        costs the database. The results are applied in submission_id order, stable (a
        submission's own results keep their arrival order, so the first done still wins):
        two consumers' batches lock their rows in one order and cannot deadlock. A database
        error retries the whole batch; nothing of it was committed, nothing is acked yet.
        """
        parsed: list[GradingResult | MessageError] = []
        for body, _ in messages:
            try:
                parsed.append(GradingResult.from_json(body))
            except MessageError as exc:
                parsed.append(exc)
        results = {i: r for i, r in enumerate(parsed) if isinstance(r, GradingResult)}
        order = sorted(results, key=lambda i: results[i].submission_id)
        outcomes: dict[int, str] = {}
        while order:
            try:
                with self.sessions() as session, session.begin():
                    outcomes = {i: apply_result(session, results[i], messages[i][1]) for i in order}
                break
            except Exception:
                self.db_errors += 1
                if self.stop_event.is_set():
                    raise
                log.exception("results: database error on %d result(s); retrying", len(order))
                self.stop_event.wait(self.db_retry_seconds)
        for i in order:
            result, outcome = results[i], outcomes[i]
            self.counts[outcome] += 1
            level = logging.INFO if outcome == APPLIED else logging.WARNING
            log.log(
                level, "results: %s %s/%s -> %s", result.submission_id, result.state, result.verdict or "-", outcome
            )
        return [outcomes[i] if isinstance(item, GradingResult) else item for i, item in enumerate(parsed)]

    def _connect(self, frames: queue.Queue) -> tuple[stomp.Connection12, _QueueingListener] | None:
        listener = _QueueingListener(frames)
        conn = connect_until_stopped(
            self.broker, listener, self.client_id, self.stop_event, component="results", logger=log
        )
        if conn is None:
            return None
        conn.subscribe(
            RESULT_QUEUE, id="results", ack="client-individual", headers={"activemq.prefetchSize": str(self.prefetch)}
        )
        log.info("results: subscribed to %s", RESULT_QUEUE)
        return conn, listener

    def run(self) -> None:
        log.info("results: consumer starting (%r)", self.broker)
        while not self.stop_event.is_set():
            # A fresh queue per connection: frames of a dead connection cannot be acked and
            # the broker redelivers them anyway.
            frames: queue.Queue = queue.Queue()
            connected = self._connect(frames)
            if connected is None:
                break
            conn, listener = connected
            while not self.stop_event.is_set() and not listener.disconnected.is_set():
                try:
                    batch = [frames.get(timeout=0.5)]
                except queue.Empty:
                    continue
                # Whatever else has arrived meanwhile (at most the prefetch) goes into the same transaction.
                with contextlib.suppress(queue.Empty):
                    while len(batch) < self.prefetch:
                        batch.append(frames.get_nowait())
                self._process(conn, listener, batch)
            with contextlib.suppress(Exception):  # the connection may already be gone
                conn.disconnect()
            if not self.stop_event.is_set():
                log.warning("results: disconnected from the broker; reconnecting")
        log.info("results: consumer stopped (%s)", self.counts)

    def _process(self, conn: stomp.Connection12, listener: _QueueingListener, batch: list[tuple[Any, float]]) -> None:
        try:
            outcomes = self.handle_batch([(frame.body, received_at) for frame, received_at in batch])
        except Exception:
            log.exception("results: giving up on %d message(s) during shutdown", len(batch))
            return  # not acked: redelivered to the next consumer
        for (frame, _), outcome in zip(batch, outcomes, strict=True):
            ack_id = frame.headers.get("ack") or frame.headers.get("message-id")
            if not isinstance(outcome, MessageError):
                self._settle(conn.ack, ack_id)
                continue
            self.counts["rejected"] += 1
            log.error("results: rejecting malformed message %s: %s", frame.headers.get("message-id"), outcome)
            if self._dead_letter(conn, listener, frame, str(outcome)):
                self._settle(conn.ack, ack_id)
            else:
                self._settle(conn.nack, ack_id)  # the broker's redelivery policy dead-letters it instead

    def _dead_letter(self, conn: stomp.Connection12, listener: _QueueingListener, frame, reason: str) -> bool:
        receipt = f"dlq-{uuid.uuid4().hex}"
        event, errors = listener.expect(receipt)
        try:
            conn.send(
                DEAD_LETTER_QUEUE,
                frame.body,
                headers={
                    "persistent": "true",
                    "receipt": receipt,
                    "gradestack-rejected-reason": reason[:200],
                    "gradestack-original-message-id": frame.headers.get("message-id", ""),
                },
            )
            return event.wait(10) and not errors
        except (stomp.exception.StompException, OSError):
            return False
        finally:
            listener.forget(receipt)

    @staticmethod
    def _settle(method, ack_id: str) -> None:
        try:
            method(ack_id)
        except (stomp.exception.StompException, OSError) as exc:
            # The connection died after the commit: the broker redelivers, and the update is idempotent.
            log.warning("results: could not acknowledge %s: %s", ack_id, exc)

    def stop(self) -> None:
        self.stop_event.set()
