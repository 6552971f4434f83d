"""``/health`` (the process is alive: the container HEALTHCHECK) and ``/health/ready``
(broker connected, S3 reachable, no job stuck past its budget: what a human or a deploy
check wants to know).

Liveness fails only when the worker is beyond recovery (``liveness`` returns a reason:
every slot stuck long past its budget, kills notwithstanding): restarting the container
is then the only way forward, and its unacked jobs go back to the broker. Anything a
worker can recover from (broker down, S3 unreachable, one job over budget while the
watchdog kills it) is readiness only, so a restart never interrupts other running jobs.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, jsonify
from werkzeug.serving import BaseWSGIServer, make_server

log = logging.getLogger("grading.health")


class ReadinessProbe:
    """Caches the S3 check for a few seconds so a busy load balancer cannot hammer S3."""

    def __init__(
        self,
        broker_connected: Callable[[], bool],
        s3_check: Callable[[], None],
        ttl_s: float = 10,
        stalls: Callable[[], list[str]] = list,
    ) -> None:
        self.broker_connected = broker_connected
        self.s3_check = s3_check
        self.stalls = stalls  # reasons the worker cannot make progress (jobs over budget)
        self.ttl_s = ttl_s
        self._s3_ok_until = 0.0
        self._s3_error = ""
        self._lock = threading.Lock()

    def s3_reachable(self) -> tuple[bool, str]:
        with self._lock:
            if time.monotonic() < self._s3_ok_until:
                return True, ""
            try:
                self.s3_check()
            except Exception as exc:
                self._s3_error = f"{type(exc).__name__}: {str(exc)[:200]}"
                return False, self._s3_error
            self._s3_ok_until = time.monotonic() + self.ttl_s
            return True, ""


def create_app(
    probe: ReadinessProbe,
    worker_id: str,
    liveness: Callable[[], str] = str,
    counters: Callable[[], dict[str, Any]] = dict,
) -> Flask:
    app = Flask("grading-health")

    @app.get("/health")
    def health():
        reason = liveness()
        if reason:
            return jsonify(status="failing", worker=worker_id, reason=reason), 503
        return jsonify(status="ok", worker=worker_id, jobs=counters())

    @app.get("/health/ready")
    def ready():
        broker = probe.broker_connected()
        s3_ok, s3_error = probe.s3_reachable()
        stalls = probe.stalls()
        body: dict[str, Any] = {
            "broker": "connected" if broker else "disconnected",
            "s3": "reachable" if s3_ok else s3_error,
        }
        if stalls:
            body["stuck"] = stalls
        reasons = ([] if broker else ["broker disconnected"]) + ([] if s3_ok else ["S3 unreachable"]) + stalls
        if reasons:
            body["reason"] = "; ".join(reasons)
        status = 503 if reasons else 200
        return jsonify(status="ready" if status == 200 else "not ready", worker=worker_id, **body), status

    return app


def serve(app: Flask, port: int, host: str) -> BaseWSGIServer:
    server = make_server(host, port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="health", daemon=True)
    thread.start()
    log.info("health endpoint listening", extra={"fields": {"port": server.server_port}})
    return server
