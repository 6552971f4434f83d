"""The Flask application factory: configuration, blueprints, error pages, headers (what the views read: context.py)."""

from __future__ import annotations

import logging
import secrets

from flask import Flask, g, request
from sqlalchemy import Engine
from werkzeug.exceptions import HTTPException

from gradestack_web import account_pages, api, health, pages, security
from gradestack_web.auth import BadTokenError, current_user
from gradestack_web.config import Settings
from gradestack_web.context import EXTENSION, Services, error_response
from gradestack_web.db import make_engine
from gradestack_web.proxies import TrustedProxyMiddleware

log = logging.getLogger("gradestack_web")

# Form encoding can triple the size of a source (percent-encoded bytes); beyond this the
# request is refused before it is read at all.
_FORM_OVERHEAD = 64 * 1024


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
    app.extensions[EXTENSION] = services
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

    app.jinja_env.globals["current_user"] = current_user
    app.register_blueprint(health.bp)
    app.register_blueprint(api.bp)
    app.register_blueprint(pages.bp)
    app.register_blueprint(account_pages.bp)
    return app
