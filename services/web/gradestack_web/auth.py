"""Who is asking: the signed session cookie (pages) or an ``Authorization: Bearer`` token (API).

The session holds the user's id and a fingerprint of the password hash, so a password
change ends every other session. Bearer requests carry no cookie and are not subject to
CSRF (a browser never adds the header by itself).
"""

from __future__ import annotations

from flask import g, request, session

from gradestack_web.accounts import session_fingerprint, user_for_token
from gradestack_web.context import db
from gradestack_web.models import Problem, Submission, User

SESSION_USER_KEY = "uid"
SESSION_FINGERPRINT_KEY = "ufp"
_UNSET = object()


class BadTokenError(Exception):
    """An Authorization header was sent but names no live token (401, never a silent anonymous)."""


def current_user() -> User | None:
    cached = g.get("user", _UNSET)
    if cached is not _UNSET:
        return cached  # type: ignore[return-value]
    if "Authorization" in request.headers:
        g.user = None  # the error page rendered for a bad token asks again: anonymous then
        g.user = _from_header()
    else:
        g.user = _from_session()
    return g.user


def _from_header() -> User:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    user = user_for_token(db(), token.strip()) if scheme.lower() == "bearer" else None
    if user is None:
        raise BadTokenError
    return user


def _from_session() -> User | None:
    user_id = session.get(SESSION_USER_KEY)
    if not isinstance(user_id, int):
        return None
    user = db().get(User, user_id)
    if user is None or session.get(SESSION_FINGERPRINT_KEY) != session_fingerprint(user):
        return None
    return user


def login(user: User) -> None:
    """Start a fresh session for ``user`` (a new CSRF token too: no fixation of the old one)."""
    session.clear()
    session[SESSION_USER_KEY] = user.id
    session[SESSION_FINGERPRINT_KEY] = session_fingerprint(user)
    g.user = user


def logout() -> None:
    session.clear()
    g.user = None


def is_staff(user: User | None) -> bool:
    return bool(user and user.is_staff)


def may_see_submission(user: User | None, submission: Submission) -> bool:
    """Author and staff only; rows from before accounts (no author) are staff-only."""
    if user is None:
        return False
    return user.is_staff or (submission.user_id is not None and submission.user_id == user.id)


def may_see_problem(user: User | None, problem: Problem) -> bool:
    return not problem.hidden or is_staff(user)
