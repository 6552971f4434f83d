"""The running app's context for the views: the per-process services and the request's accessors.

The blueprints (api, pages, account_pages, health) and the request helpers (auth, intake)
import from here, never from ``app``: ``app`` builds the Flask app and registers the
blueprints, so importing it from them would make the package's imports a cycle.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from flask import Response, current_app, g, jsonify, make_response, render_template, request
from gradestack_protocol.broker import BrokerSettings, connect
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker

from gradestack_web.config import Settings
from gradestack_web.db import make_sessionmaker
from gradestack_web.storage import ArtifactStore

log = logging.getLogger("gradestack_web")

# The key of the Services instance in Flask's app.extensions.
EXTENSION = "gradestack"


class Services:
    """What the views need, built once per process."""

    def __init__(self, settings: Settings, engine: Engine, environ: dict[str, str] | None = None) -> None:
        self.settings = settings
        self.engine = engine
        self.sessions: sessionmaker[Session] = make_sessionmaker(engine)
        self.artifacts = ArtifactStore(settings.grading_bucket, settings.aws_region, settings.presign_seconds)
        self.environ = environ
        self._ready_lock = threading.Lock()
        self._ready_cache: tuple[float, int, dict[str, Any]] | None = None

    def readiness(self) -> tuple[int, dict[str, Any]]:
        """Database and broker reachability, cached briefly so probes cannot hammer either."""
        with self._ready_lock:
            now = time.monotonic()
            if self._ready_cache and now - self._ready_cache[0] < self.settings.ready_cache_seconds:
                return self._ready_cache[1], self._ready_cache[2]
            checks = {"database": self._check_database(), "broker": self._check_broker()}
            status = 200 if all(c == "ok" for c in checks.values()) else 503
            body: dict[str, Any] = {"status": "ready" if status == 200 else "not ready", "checks": checks}
            if checks["database"] == "ok":
                # Informational: a growing backlog means the publisher is down or the broker unreachable.
                body["outbox"] = self._outbox_backlog()
            self._ready_cache = (now, status, body)
            return status, body

    def _check_database(self) -> str:
        try:
            with self.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
            return "ok"
        except Exception as exc:  # any failure means "not ready"
            log.warning("readiness: database check failed: %s: %s", type(exc).__name__, exc)
            return f"error: {type(exc).__name__}"

    def _outbox_backlog(self) -> dict[str, Any]:
        try:
            with self.engine.connect() as conn:
                unsent, oldest = conn.execute(
                    text(
                        "SELECT count(*), coalesce(extract(epoch FROM now() - min(created_at)), 0) "
                        "FROM outbox WHERE sent_at IS NULL"
                    )
                ).one()
            return {"unsent": int(unsent), "oldest_unsent_seconds": round(float(oldest), 1)}
        except Exception as exc:  # e.g. the schema is not migrated yet
            log.warning("readiness: outbox backlog query failed: %s", type(exc).__name__)
            return {"error": type(exc).__name__}

    def _check_broker(self) -> str:
        try:
            broker = BrokerSettings.from_env(self.environ if self.environ is not None else os.environ)
            conn = connect(broker, timeout=3)
            conn.disconnect()
            return "ok"
        except Exception as exc:  # readiness must answer, never raise
            # Details (endpoint names) go to the log, not to whoever can reach the URL.
            log.warning("readiness: broker check failed: %s", exc)
            return f"error: {type(exc).__name__}"


def services() -> Services:
    """The current app's services (``create_app`` stores them)."""
    return current_app.extensions[EXTENSION]


def db() -> Session:
    """The request's database session, opened on first use and closed at teardown."""
    if "db" not in g:
        g.db = services().sessions()
    return g.db


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.path.startswith("/health")


def error_response(status: int, message: str, **extra: Any) -> Response:
    request_id = g.get("request_id", "")
    if wants_json():
        response = jsonify({"error": message, "status": status, "request_id": request_id, **extra})
        response.status_code = status
        return response
    return make_response(render_template("error.html", status=status, message=message, request_id=request_id), status)
