"""Test helpers around a real broker: a private ActiveMQ per module, draining and publishing."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable, Collection

import stomp
from gradestack_protocol.broker import BrokerSettings, connect

from testsupport.activemq import ActiveMQServer


def web_settings(broker: ActiveMQServer) -> BrokerSettings:
    """The web app's own broker account (group_vars mq_users.web): what the publisher and the consumer use.

    The helpers below (drain, publish) play the other side with the tests' account.
    """
    return BrokerSettings.from_env(broker.endpoints_env(user="web"))


class Collector(stomp.ConnectionListener):
    def __init__(self) -> None:
        self.frames: queue.Queue = queue.Queue()

    def on_message(self, frame) -> None:
        self.frames.put(frame)


def drain(
    settings: BrokerSettings,
    destination: str,
    *,
    expect: Collection[str] = (),
    key: Callable[[object], str] = lambda frame: frame.body,
    timeout: float = 120.0,
    quiet_seconds: float = 0.5,
    limit: int = 10_000,
) -> list:
    """Consume (and ack) ``destination``: until every key in ``expect`` has arrived, then until
    nothing more arrives for ``quiet_seconds`` (only to catch duplicates: callers assert counts).

    ``key(frame)`` names a frame (its body by default). The wait for ``expect`` is a condition
    with a generous liveness bound (``timeout``), never a quiet period: under load a quiet period
    ends before a slow broker delivers, and an exactly-once assertion then fails falsely. With
    no ``expect`` this empties the destination (leftovers of an earlier test)."""
    collector = Collector()
    conn = connect(settings, collector)
    conn.subscribe(destination, id="drain", ack="client-individual")
    frames: list = []
    missing = set(expect)
    deadline = time.monotonic() + timeout
    try:
        while len(frames) < limit:
            wait = deadline - time.monotonic() if missing else quiet_seconds
            if wait <= 0:
                raise AssertionError(f"{destination}: expected messages never arrived: {sorted(missing)}")
            try:
                frame = collector.frames.get(timeout=wait)
            except queue.Empty:
                if missing:
                    continue  # the deadline check above reports it
                break
            conn.ack(frame.headers["ack"])
            frames.append(frame)
            missing.discard(key(frame))
    finally:
        conn.disconnect()
    return frames


def publish(settings: BrokerSettings, destination: str, bodies: list[str]) -> None:
    conn = connect(settings)
    try:
        for body in bodies:
            conn.send(destination, body, content_type="application/json", headers={"persistent": "true"})
    finally:
        conn.disconnect(receipt="bye")


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    """Poll ``condition``; fail with ``what`` if it never holds (a liveness bound, not a timing assertion)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")


def run_in_thread(target: Callable[[], None]) -> threading.Thread:
    thread = threading.Thread(target=target, daemon=True)
    thread.start()
    return thread
