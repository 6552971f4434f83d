"""The outbox publisher: moves committed grading requests from PostgreSQL to the broker.

Each web request writes a submission and its outbox row in one transaction; this process
sends unsent rows to ``grading.requests`` and marks them sent. Guarantees:

- nothing is lost: a batch of rows is sent as persistent messages in one STOMP
  transaction, and the rows are marked sent only after the broker's RECEIPT for the
  COMMIT (the broker has stored every message of the batch by then);
- nothing is sent twice in normal operation: rows are claimed with
  ``FOR UPDATE SKIP LOCKED``, so several publishers (one per web host) never send the
  same row; only a crash between the receipt and the database commit resends a batch (at-least-once;
  the worker and the results consumer are idempotent on submission_id);
- a broker outage only delays: the publisher reconnects with backoff and drains the backlog;
- no polling delay: a committed outbox row wakes the publisher at once (PostgreSQL
  LISTEN/NOTIFY, ``OutboxWakeup``); the poll interval is only the safety net.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import psycopg
import stomp
from gradestack_protocol.broker import BrokerSettings
from gradestack_protocol.messages import GradingRequest, MessageError
from gradestack_protocol.trace import stamp
from sqlalchemy import Engine, delete, select
from sqlalchemy.orm import Session, sessionmaker

from gradestack_web.broker_link import ReceiptListener, connect_until_stopped
from gradestack_web.models import OutboxMessage, RateLimit

HOUSEKEEPING_INTERVAL = 600.0  # seconds between clean-ups of old outbox rows and rate-limit windows
STOP_CHECK_SECONDS = 1.0  # how soon a waiting publisher sees stop()
LISTEN_RETRY_SECONDS = 30.0  # between attempts to LISTEN again (polling meanwhile)
NOTIFY_CHANNEL = "gradestack_outbox"  # the outbox table's insert trigger (migration 0002) notifies it

log = logging.getLogger(__name__)


class PublishError(RuntimeError):
    """The broker did not confirm a SEND (disconnect, ERROR frame or receipt timeout)."""


def with_publish_stamp(payload: str, at: float) -> str:
    """The grading request ``payload`` with ``outbox.publish`` added to its trace.

    The stored row is left as it was written. A payload that does not parse (none of this
    app's rows; a row written by hand) is sent unchanged: the worker dead-letters it with
    the reason, as it would have anyway, instead of the publisher stalling on it.
    """
    try:
        request = GradingRequest.from_json(payload)
    except MessageError as exc:
        log.warning("outbox: sending a request without a trace stamp: %s", exc)
        return payload
    return replace(request, trace=stamp(request.trace, "outbox.publish", at)).to_json()


class OutboxWakeup:
    """Waits for committed outbox rows on a LISTEN connection of its own.

    A notification can be missed only while this connection is (re)established, never a
    row: the caller polls after every wait, notified or not. Any database trouble drops the
    connection and the wait falls back to a plain sleep until the next attempt.
    """

    def __init__(self, engine: Engine, stop_event: threading.Event) -> None:
        self.engine = engine
        self.stop_event = stop_event
        self._conn: psycopg.Connection | None = None
        self._next_attempt = 0.0
        self.notified_total = 0

    @property
    def listening(self) -> bool:
        return self._conn is not None and not self._conn.closed

    def _listening(self) -> psycopg.Connection | None:
        if self.listening:
            return self._conn
        if time.monotonic() < self._next_attempt:
            return None
        self._next_attempt = time.monotonic() + LISTEN_RETRY_SECONDS
        try:
            pooled = self.engine.raw_connection()
            conn = pooled.driver_connection
            pooled.detach()  # ours for good: a LISTEN session must not go back to the pool
            conn.rollback()
            conn.autocommit = True
            conn.execute(f"LISTEN {NOTIFY_CHANNEL}")
        except Exception as exc:  # any failure means: poll until the next try
            log.warning("outbox: cannot LISTEN for new rows (%s); polling", exc)
            return None
        self._conn = conn
        return conn

    def wait(self, timeout: float) -> bool:
        """Return True when a row was committed within ``timeout`` seconds, else False."""
        conn = self._listening()
        if conn is None:
            self.stop_event.wait(timeout)
            return False
        deadline = time.monotonic() + timeout
        try:
            # In slices, so that stop() is seen within a second whatever the poll interval.
            while not self.stop_event.is_set() and (left := deadline - time.monotonic()) > 0:
                if any(True for _ in conn.notifies(timeout=min(left, STOP_CHECK_SECONDS), stop_after=1)):
                    # Rows of many transactions need one query: drop the notifications already queued.
                    self.notified_total += 1 + sum(1 for _ in conn.notifies(timeout=0))
                    return True
        except psycopg.Error as exc:
            log.warning("outbox: LISTEN connection lost (%s); polling until it is back", exc)
            self.close()
        return False

    def close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # being dropped anyway
                self._conn.close()
        self._conn = None


class OutboxPublisher:
    def __init__(
        self,
        sessions: sessionmaker[Session],
        broker: BrokerSettings,
        *,
        batch_size: int = 50,
        poll_seconds: float = 0.5,
        receipt_timeout: float = 10.0,
        client_id: str | None = None,
        retention_days: int = 7,
    ) -> None:
        self.sessions = sessions
        self.retention_days = retention_days
        self._next_housekeeping = 0.0
        self.broker = broker
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.receipt_timeout = receipt_timeout
        self.client_id = client_id
        self.stop_event = threading.Event()
        bind = sessions.kw.get("bind")
        self.wakeup = OutboxWakeup(bind, self.stop_event) if isinstance(bind, Engine) else None
        self.sent_total = 0
        self.connect_failures = 0
        self._conn: stomp.Connection12 | None = None
        self._listener: ReceiptListener | None = None

    # -- connection -----------------------------------------------------------------
    def _connected(self) -> bool:
        return (
            self._conn is not None
            and self._listener is not None
            and not self._listener.disconnected.is_set()
            and self._conn.is_connected()
        )

    def _ensure_connection(self) -> bool:
        if self._connected():
            return True
        self._close()
        listener = ReceiptListener()
        conn = connect_until_stopped(
            self.broker,
            listener,
            self.client_id,
            self.stop_event,
            component="outbox",
            logger=log,
            on_failure=self._count_connect_failure,
        )
        if conn is None:
            return False
        self._conn, self._listener = conn, listener
        log.info("outbox: connected to the broker")
        return True

    def _count_connect_failure(self) -> None:
        self.connect_failures += 1

    def _close(self) -> None:
        if self._conn is not None:
            with contextlib.suppress(Exception):  # the connection is being dropped anyway
                self._conn.disconnect()
        self._conn = self._listener = None

    # -- publishing -----------------------------------------------------------------
    def _send_batch(self, rows: list[OutboxMessage]) -> None:
        """Send ``rows`` in one STOMP transaction and wait for the broker's receipt of the COMMIT.

        One transaction per batch means one journal write on the broker instead of one per
        message, and all-or-nothing: either every row of the batch is confirmed or none is.
        """
        assert self._conn is not None and self._listener is not None
        transaction = f"outbox-{uuid.uuid4().hex}"
        receipt = f"{transaction}-commit"
        event, errors = self._listener.expect(receipt)
        sent_at = time.time()
        try:
            self._conn.begin(transaction=transaction)
            for row in rows:
                self._conn.send(
                    row.destination,
                    with_publish_stamp(row.payload, sent_at),
                    content_type="application/json",
                    headers={
                        "persistent": "true",
                        "transaction": transaction,
                        "gradestack-outbox-id": str(row.id),
                        "gradestack-submission-id": row.submission_id,
                    },
                )
            self._conn.commit(transaction=transaction, headers={"receipt": receipt})
            if not event.wait(self.receipt_timeout):
                raise PublishError(f"no receipt for the commit within {self.receipt_timeout:.0f} s")
            if errors:
                raise PublishError(errors[0])
        except (stomp.exception.StompException, OSError) as exc:
            raise PublishError(f"{type(exc).__name__}: {exc}") from exc
        finally:
            self._listener.forget(receipt)

    def publish_pending(self) -> int:
        """Send one batch of unsent rows; return how many were sent. Raises PublishError on broker trouble."""
        with self.sessions() as session, session.begin():
            rows = session.scalars(
                select(OutboxMessage)
                .where(OutboxMessage.sent_at.is_(None))
                .order_by(OutboxMessage.id)
                .limit(self.batch_size)
                .with_for_update(skip_locked=True)
            ).all()
            if not rows:
                return 0
            failure: PublishError | None = None
            try:
                self._send_batch(list(rows))
            except PublishError as exc:
                failure = exc
            now = datetime.now(UTC)
            for row in rows:
                row.attempts += 1
                # Committed either way: the bookkeeping of a failed round is worth keeping.
                row.last_error = str(failure)[:500] if failure else ""
                if failure is None:
                    row.sent_at = now
        if failure is not None:
            raise failure
        self.sent_total += len(rows)
        return len(rows)

    def housekeeping(self) -> tuple[int, int]:
        """Delete sent outbox rows older than the retention and day-old rate-limit windows."""
        now = datetime.now(UTC)
        with self.sessions() as session, session.begin():
            outbox = session.execute(
                delete(OutboxMessage).where(
                    OutboxMessage.sent_at.is_not(None),
                    OutboxMessage.sent_at < now - timedelta(days=self.retention_days),
                )
            ).rowcount
            stale_window = RateLimit.window_start < now - timedelta(days=1)
            windows = session.execute(delete(RateLimit).where(stale_window)).rowcount
        if outbox or windows:
            log.info("outbox: housekeeping removed %d sent row(s) and %d rate-limit window(s)", outbox, windows)
        return outbox, windows

    def run(self, until: Callable[[], bool] | None = None) -> None:
        """Publish until ``stop()`` (or ``until()`` is true); never returns on broker or DB errors alone."""
        log.info("outbox: publisher starting (%r)", self.broker)
        while not self.stop_event.is_set() and not (until and until()):
            if not self._ensure_connection():
                break
            try:
                if time.monotonic() >= self._next_housekeeping:
                    self._next_housekeeping = time.monotonic() + HOUSEKEEPING_INTERVAL
                    self.housekeeping()
                sent = self.publish_pending()
            except PublishError as exc:
                log.warning("outbox: publishing failed (%s); reconnecting", exc)
                self._close()
                continue
            except Exception:
                # The database is down or the schema is missing: log, wait, try again.
                log.exception("outbox: database error; retrying in 5 s")
                self.stop_event.wait(5)
                continue
            if sent:
                log.info("outbox: published %d grading request(s)", sent)
            if sent < self.batch_size:
                self._wait_for_rows()
        self._close()
        if self.wakeup is not None:
            self.wakeup.close()
        log.info("outbox: publisher stopped after %d message(s)", self.sent_total)

    def _wait_for_rows(self) -> None:
        """Until a row is committed, at most ``poll_seconds`` (the safety net; also how soon stop() is seen)."""
        if self.wakeup is None:
            self.stop_event.wait(self.poll_seconds)
        else:
            self.wakeup.wait(self.poll_seconds)

    def stop(self) -> None:
        self.stop_event.set()
