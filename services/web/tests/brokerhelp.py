"""Test helpers around a real broker: a private ActiveMQ per module, draining and publishing."""

from __future__ import annotations

import queue
import threading
import time
from collections.abc import Callable

import stomp
from gradestack_protocol.broker import BrokerSettings, connect


class Collector(stomp.ConnectionListener):
    def __init__(self) -> None:
        self.frames: queue.Queue = queue.Queue()

    def on_message(self, frame) -> None:
        self.frames.put(frame)


def drain(settings: BrokerSettings, destination: str, quiet_seconds: float = 2.0, limit: int = 10_000) -> list:
    """Consume (and ack) everything on ``destination`` until nothing arrives for ``quiet_seconds``."""
    collector = Collector()
    conn = connect(settings, collector)
    conn.subscribe(destination, id="drain", ack="client-individual")
    frames = []
    try:
        while len(frames) < limit:
            try:
                frame = collector.frames.get(timeout=quiet_seconds)
            except queue.Empty:
                break
            conn.ack(frame.headers["ack"])
            frames.append(frame)
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
