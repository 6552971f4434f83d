"""CSRF tokens for forms, security headers, and the per-client submission rate limit."""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime, timedelta

from flask import Flask, Response, request, session
from flask.sessions import SecureCookieSessionInterface
from sqlalchemy import case, literal
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.orm import Session

from gradestack_web.models import RateLimit

CSRF_SESSION_KEY = "csrf_token"
CSRF_FORM_FIELD = "csrf_token"

# Scripts and styles come only from our own static files: no inline code, so an injected
# string can never execute even if escaping were missed somewhere.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)


def csrf_token() -> str:
    """The session's CSRF token, created on first use (the session cookie is signed by SECRET_KEY)."""
    token = session.get(CSRF_SESSION_KEY)
    if not token:
        token = secrets.token_urlsafe(32)
        session[CSRF_SESSION_KEY] = token
    return token


def csrf_valid(submitted: str | None) -> bool:
    expected = session.get(CSRF_SESSION_KEY)
    return bool(expected and submitted and hmac.compare_digest(str(expected), str(submitted)))


def add_security_headers(response: Response, hsts_max_age: int = 0) -> Response:
    """Headers of every app response; HSTS only on HTTPS (a browser ignores it over HTTP anyway,
    and dev or the local environment, plain HTTP, must never pin a browser to HTTPS)."""
    if hsts_max_age > 0 and request.scheme == "https":
        response.headers.setdefault("Strict-Transport-Security", f"max-age={hsts_max_age}")
    response.headers.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("X-Frame-Options", "DENY")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
    return response


def rate_limit_hit(session_: Session, key: str, limit: int, window_seconds: int) -> tuple[bool, int]:
    """Count one hit for ``key`` in its fixed window; return (allowed, seconds until the window resets).

    One upsert per hit, atomic in PostgreSQL, so every gunicorn worker on every web host
    shares the same counters.
    """
    now = datetime.now(UTC)
    expired = RateLimit.window_start <= literal(now - timedelta(seconds=window_seconds))
    stmt = insert(RateLimit).values(key=key[:128], window_start=now, count=1)
    stmt = stmt.on_conflict_do_update(
        index_elements=[RateLimit.key],
        set_={
            "count": case((expired, 1), else_=RateLimit.count + 1),
            "window_start": case((expired, stmt.excluded.window_start), else_=RateLimit.window_start),
        },
    ).returning(RateLimit.count, RateLimit.window_start)
    count, window_start = session_.execute(stmt).one()
    retry_after = max(1, int((window_start + timedelta(seconds=window_seconds) - now).total_seconds()) + 1)
    return count <= limit, retry_after


class SchemeAwareSessionInterface(SecureCookieSessionInterface):
    """Marks the session cookie Secure when the request came over HTTPS (``SESSION_COOKIE_SECURE=auto``).

    The scheme is the one the trusted proxies reported (X-Forwarded-Proto), so the same
    configuration works behind a plain-HTTP ALB listener and an HTTPS one.
    """

    def __init__(self, forced: bool | None) -> None:
        self.forced = forced

    def get_cookie_secure(self, app: Flask) -> bool:
        if self.forced is not None:
            return self.forced
        return request.scheme == "https"
