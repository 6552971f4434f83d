"""The Flask application factory: configuration, database sessions, error pages, headers."""

from __future__ import annotations

import logging
import os
import secrets
import threading
import time
from typing import Any

from flask import Flask, Response, g, jsonify, make_response, render_template, request
from gradestack_protocol.broker import BrokerSettings, connect
from sqlalchemy import Engine, text
from sqlalchemy.orm import Session, sessionmaker
from werkzeug.exceptions import HTTPException

from gradestack_web import security
from gradestack_web.config import Settings
from gradestack_web.db import make_engine, make_sessionmaker
from gradestack_web.proxies import TrustedProxyMiddleware
from gradestack_web.storage import ArtifactStore

log = logging.getLogger("gradestack_web")

# Form encoding can triple the size of a source (percent-encoded bytes); beyond this the
# request is refused before it is read at all.
_FORM_OVERHEAD = 64 * 1024


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


def create_app(
    settings: Settings | None = None, engine: Engine | None = None, environ: dict[str, str] | None = None
) -> Flask:
    """Build the app; ``settings`` default to the environment (ConfigError names a bad variable)."""
    settings = settings or Settings.from_env(environ)
    app = Flask(__name__)
    app.config.update(
        SECRET_KEY=settings.secret_key,
        MAX_CONTENT_LENGTH=settings.max_source_bytes * 4 + _FORM_OVERHEAD,
        # The session cookie's settings, all here: signed (SECRET_KEY), HttpOnly, SameSite=Lax,
        # and Secure per request (SchemeAwareSessionInterface below, SESSION_COOKIE_SECURE).
        # Its name stays Flask's default: during a rolling deploy the previous release reads
        # the same cookie (the CSRF token), so a form works whichever host answers.
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    app.json.sort_keys = False  # keep the documented field order in API responses
    services = Services(settings, engine or make_engine(settings.database), environ)
    app.extensions["gradestack"] = services
    app.session_interface = security.SchemeAwareSessionInterface(settings.session_cookie_secure)
    app.wsgi_app = TrustedProxyMiddleware(app.wsgi_app, settings.trusted_proxies, settings.trusted_proxy_count)
    app.jinja_env.globals["csrf_token"] = security.csrf_token

    @app.before_request
    def _request_id():
        g.request_id = request.headers.get("X-Request-ID", "")[:64] or secrets.token_hex(8)
        # PostgreSQL text cannot hold NUL: refuse it up front with a clear message, not a 500
        # from the database driver (ids come from the path, sources are checked on intake).
        if "\x00" in request.path:
            return error_response(400, "the URL contains a NUL byte (%00); no problem or submission id holds one")
        return None

    @app.after_request
    def _headers(response):
        response.headers["X-Request-ID"] = g.get("request_id", "")
        return security.add_security_headers(response, settings.hsts_max_age)

    @app.teardown_request
    def _close_session(exc: BaseException | None) -> None:
        session = g.pop("db", None)
        if session is not None:
            if exc is not None:
                session.rollback()
            session.close()

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException):
        message = exc.description or exc.name
        if exc.code == 413:
            limit = settings.max_source_bytes
            message = f"the request is too large: sources are limited to {limit} bytes"
        return error_response(exc.code or 500, message)

    from gradestack_web.auth import BadTokenError  # noqa: PLC0415  (auth imports db() from this module)

    @app.errorhandler(BadTokenError)
    def _bad_token(_exc: BadTokenError):
        response = error_response(
            401, "the API token is missing, wrong or revoked: send 'Authorization: Bearer <token>' with a live token"
        )
        response.headers["WWW-Authenticate"] = 'Bearer realm="gradestack", error="invalid_token"'
        return response

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception):
        log.exception("unhandled error in %s %s (request %s)", request.method, request.path, g.get("request_id"))
        return error_response(
            500, "something went wrong on our side; try again, and quote the request id if it persists"
        )

    from gradestack_web import account_pages, api, health, pages  # noqa: PLC0415  (they import from here)
    from gradestack_web.auth import current_user  # noqa: PLC0415

    app.jinja_env.globals["current_user"] = current_user
    app.register_blueprint(health.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(account_pages.bp)
    return app


def services() -> Services:
    from flask import current_app  # noqa: PLC0415

    return current_app.extensions["gradestack"]


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
