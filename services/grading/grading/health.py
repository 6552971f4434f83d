"""``/health`` (the process is alive: the container HEALTHCHECK) and ``/health/ready``
(broker connected and S3 reachable: what a human or a deploy check wants to know)."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

from flask import Flask, jsonify
from werkzeug.serving import BaseWSGIServer, make_server

log = logging.getLogger("grading.health")


class ReadinessProbe:
    """Caches the S3 check for a few seconds so a busy load balancer cannot hammer S3."""

    def __init__(self, broker_connected: Callable[[], bool], s3_check: Callable[[], None], ttl_s: float = 10) -> None:
        self.broker_connected = broker_connected
        self.s3_check = s3_check
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


def create_app(probe: ReadinessProbe, worker_id: str) -> Flask:
    app = Flask("grading-health")

    @app.get("/health")
    def health():
        return jsonify(status="ok", worker=worker_id)

    @app.get("/health/ready")
    def ready():
        broker = probe.broker_connected()
        s3_ok, s3_error = probe.s3_reachable()
        body = {"broker": "connected" if broker else "disconnected", "s3": "reachable" if s3_ok else s3_error}
        status = 200 if broker and s3_ok else 503
        return jsonify(status="ready" if status == 200 else "not ready", worker=worker_id, **body), status

    return app


def serve(app: Flask, port: int, host: str) -> BaseWSGIServer:
    server = make_server(host, port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, name="health", daemon=True)
    thread.start()
    log.info("health endpoint listening", extra={"fields": {"port": server.server_port}})
    return server
