"""Account pages: register, log in, log out, change the password, personal API tokens.

Every form carries the session's CSRF token. Login answers the same message whether the
account exists or not (and spends the same scrypt work, see accounts.authenticate), and
is rate-limited per account name and per client address; rejected attempts count too.
Passwords never reach a log line or a template.
"""

from __future__ import annotations

import hashlib
import logging

from flask import Blueprint, abort, make_response, redirect, render_template, request, url_for
from sqlalchemy import select

from gradestack_web import accounts, auth
from gradestack_web.context import db, services
from gradestack_web.models import ApiToken
from gradestack_web.security import CSRF_FORM_FIELD, csrf_valid, rate_limit_hit

bp = Blueprint("accounts", __name__)
log = logging.getLogger(__name__)

LOGIN_FAILED = "wrong username or password"
CSRF_MESSAGE = "the form expired or was not sent by this site (missing CSRF token): reload and try again"


def _page(template: str, status: int = 200, **context):
    response = make_response(render_template(template, **context), status)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def _safe_next(target: str) -> str:
    """Only same-site paths: never an open redirect (``//evil``, ``/\\evil``, schemes)."""
    if target.startswith("/") and not target.startswith(("//", "/\\")) and "\x00" not in target:
        return target
    return url_for("pages.index")


def _login_limited(username: str) -> int:
    """0 when the attempt may proceed, else the seconds to wait (per address and per account name)."""
    settings = services().settings
    session = db()
    waits = []
    # The name is hashed into the key: any string a client sends (NUL bytes, megabytes) fits.
    name_key = hashlib.sha256(username.lower().encode("utf-8", "surrogatepass")).hexdigest()[:32]
    keys = (f"login-ip:{request.remote_addr or 'unknown'}", f"login-user:{name_key}")
    for key in keys:
        allowed, retry_after = rate_limit_hit(
            session, key, settings.login_rate_limit_attempts, settings.login_rate_limit_window_seconds
        )
        if not allowed:
            waits.append(retry_after)
    session.commit()
    return max(waits, default=0)


@bp.route("/login", methods=["GET", "POST"])
def login():
    next_url = _safe_next(request.values.get("next", ""))
    if request.method == "GET":
        return _page("login.html", next_url=next_url)
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    if not csrf_valid(request.form.get(CSRF_FORM_FIELD)):
        return _page("login.html", 400, error=CSRF_MESSAGE, username=username, next_url=next_url)
    wait = _login_limited(username)
    if wait:
        response = _page(
            "login.html",
            429,
            error=f"too many login attempts; try again in {wait} s",
            username=username,
            next_url=next_url,
        )
        response.headers["Retry-After"] = str(wait)
        return response
    user = accounts.authenticate(db(), username, password)
    if user is None:
        log.info("failed login from %s", request.remote_addr)
        return _page("login.html", 401, error=LOGIN_FAILED, username=username, next_url=next_url)
    auth.login(user)
    log.info("user %s logged in", user.id)
    return redirect(next_url, code=303)


@bp.post("/logout")
def logout():
    if not csrf_valid(request.form.get(CSRF_FORM_FIELD)):
        abort(400, description=CSRF_MESSAGE)
    auth.logout()
    return redirect(url_for("pages.index"), code=303)


@bp.route("/register", methods=["GET", "POST"])
def register():
    settings = services().settings
    if not settings.registration_enabled:
        abort(404, description="registration is closed: ask the organizers for an account")
    if request.method == "GET":
        return _page("register.html")
    username = request.form.get("username", "").strip()
    password = request.form.get("password", "")
    if not csrf_valid(request.form.get(CSRF_FORM_FIELD)):
        return _page("register.html", 400, error=CSRF_MESSAGE, username=username)
    if password != request.form.get("password_again", ""):
        return _page("register.html", 400, error="the two passwords differ", username=username)
    # Registration is per-address rate-limited like login: scrypt is deliberately expensive.
    allowed, retry_after = rate_limit_hit(
        db(),
        f"register-ip:{request.remote_addr or 'unknown'}",
        settings.login_rate_limit_attempts,
        settings.login_rate_limit_window_seconds,
    )
    db().commit()
    if not allowed:
        response = _page("register.html", 429, error=f"too many attempts; try again in {retry_after} s")
        response.headers["Retry-After"] = str(retry_after)
        return response
    try:
        user = accounts.create_user(db(), username, password)
        db().commit()
    except accounts.AccountError as exc:
        db().rollback()
        return _page("register.html", 400, error=str(exc), username=username)
    auth.login(user)
    log.info("user %s registered", user.id)
    return redirect(url_for("pages.index"), code=303)


def _account_page(status: int = 200, error: str = "", message: str = "", new_token: str = ""):
    user = auth.current_user()
    tokens = db().scalars(select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.id)).all()
    return _page("account.html", status, error=error, message=message, new_token=new_token, tokens=tokens)


def _logged_in():
    user = auth.current_user()
    if user is None:
        return None, redirect(url_for("accounts.login", next=request.path), code=303)
    return user, None


@bp.get("/account")
def account():
    user, to_login = _logged_in()
    if user is None:
        return to_login
    return _account_page()


@bp.post("/account/password")
def change_password():
    user, to_login = _logged_in()
    if user is None:
        return to_login
    if not csrf_valid(request.form.get(CSRF_FORM_FIELD)):
        return _account_page(400, error=CSRF_MESSAGE)
    if not accounts.verify_password(request.form.get("current_password", ""), user.password_hash):
        return _account_page(400, error="the current password is wrong")
    new = request.form.get("new_password", "")
    if new != request.form.get("new_password_again", ""):
        return _account_page(400, error="the two new passwords differ")
    try:
        accounts.set_password(user, new)
    except accounts.AccountError as exc:
        return _account_page(400, error=str(exc))
    db().commit()
    auth.login(user)  # this session stays; every other one ends (their fingerprint is stale)
    log.info("user %s changed their password", user.id)
    return _account_page(message="password changed; other sessions are logged out")


@bp.post("/account/tokens")
def create_token():
    user, to_login = _logged_in()
    if user is None:
        return to_login
    if not csrf_valid(request.form.get(CSRF_FORM_FIELD)):
        return _account_page(400, error=CSRF_MESSAGE)
    try:
        row, token = accounts.create_token(db(), user, request.form.get("name", ""))
    except accounts.AccountError as exc:
        return _account_page(400, error=str(exc))
    db().commit()
    log.info("user %s created API token %s", user.id, row.id)
    return _account_page(message=f"token {row.name!r} created", new_token=token)


@bp.post("/account/tokens/<int:token_id>/revoke")
def revoke_token(token_id: int):
    user, to_login = _logged_in()
    if user is None:
        return to_login
    if not csrf_valid(request.form.get(CSRF_FORM_FIELD)):
        return _account_page(400, error=CSRF_MESSAGE)
    if not accounts.revoke_token(db(), user, token_id):
        return _account_page(404, error="no such live token")
    db().commit()
    log.info("user %s revoked API token %s", user.id, token_id)
    return _account_page(message="token revoked")
