"""The web tier's side of a broker connection, shared by the outbox publisher and the results consumer.

``ReceiptListener`` turns RECEIPT, ERROR and disconnect frames into outcomes a sender waits
for; ``connect_until_stopped`` connects with ``gradestack_protocol.broker``'s jittered
back-off until the broker answers or the component is stopped, logging each failed round
on the component's own logger.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable

import stomp
from gradestack_protocol.broker import BrokerConnectError, BrokerSettings, connect_with_retry


class ReceiptListener(stomp.ConnectionListener):
    """Turns RECEIPT / ERROR / disconnect frames into per-receipt outcomes for the sender."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: dict[str, tuple[threading.Event, list[str]]] = {}
        self.disconnected = threading.Event()

    def expect(self, receipt: str) -> tuple[threading.Event, list[str]]:
        entry = (threading.Event(), [])
        with self._lock:
            self._waiting[receipt] = entry
        return entry

    def forget(self, receipt: str) -> None:
        with self._lock:
            self._waiting.pop(receipt, None)

    def on_receipt(self, frame) -> None:
        with self._lock:
            entry = self._waiting.get(frame.headers.get("receipt-id", ""))
        if entry:
            entry[0].set()

    def _fail_all(self, reason: str) -> None:
        with self._lock:
            entries = list(self._waiting.values())
        for event, errors in entries:
            errors.append(reason)
            event.set()

    def on_error(self, frame) -> None:
        reason = frame.headers.get("message", "") or "ERROR frame"
        receipt = frame.headers.get("receipt-id")
        with self._lock:
            entry = self._waiting.get(receipt or "")
        if entry:
            entry[1].append(reason)
            entry[0].set()
        else:
            self._fail_all(reason)

    def on_disconnected(self) -> None:
        self.disconnected.set()
        self._fail_all("disconnected from the broker")


def connect_until_stopped(
    broker: BrokerSettings,
    listener: ReceiptListener,
    client_id: str | None,
    stop_event: threading.Event,
    *,
    component: str,
    logger: logging.Logger,
    on_failure: Callable[[], None] | None = None,
) -> stomp.Connection12 | None:
    """A connection with ``listener`` registered, or None once ``stop_event`` is set.

    Each failed round is logged on ``logger`` (the component's, so that its log reads as
    before) as ``<component>: broker unavailable (<error>); retrying in <delay> s``, after
    ``on_failure()`` (the outbox counts the rounds).
    """

    def report(error: BrokerConnectError, delay: float) -> None:
        if on_failure is not None:
            on_failure()
        logger.warning("%s: broker unavailable (%s); retrying in %.1f s", component, error, delay)

    return connect_with_retry(
        broker,
        listener,
        client_id,
        should_continue=lambda: not stop_event.is_set(),
        on_failure=report,
    )
