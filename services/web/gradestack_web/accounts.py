"""Accounts: password hashing, users, personal API tokens, and who the current request is.

Passwords are hashed with scrypt (``hashlib.scrypt``, OpenSSL's implementation: no extra
dependency in the web bundle) under a random salt; the parameters are stored with each
hash so they can be raised later without invalidating old hashes. API tokens are random
256-bit strings, so a plain SHA-256 is enough to store them: nobody can brute-force the
preimage, and a lookup by hash stays one indexed query.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from gradestack_web.models import ApiToken, User

# scrypt cost: N=2**15, r=8, p=1 needs 32 MiB and ~50-100 ms per hash on a web host,
# which is what OWASP's password storage cheat sheet recommends as a minimum.
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**15, 8, 1
_SCRYPT_MAXMEM = 64 * 1024 * 1024
_SALT_BYTES, _KEY_BYTES = 16, 32

USERNAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{2,63}$")
USERNAME_RULE = "3 to 64 characters: letters, digits, '.', '_' or '-', starting with a letter or digit"
PASSWORD_MIN = 10
PASSWORD_MAX = 1024  # scrypt hashes any length, but a megabyte password is a denial of service
TOKEN_PREFIX = "gst_"  # noqa: S105  (a marker that makes leaked tokens greppable, not a secret)


class AccountError(ValueError):
    """Bad account input; the text says what is expected."""


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(_SALT_BYTES)
    key = hashlib.scrypt(
        password.encode("utf-8"),
        salt=salt,
        n=_SCRYPT_N,
        r=_SCRYPT_R,
        p=_SCRYPT_P,
        maxmem=_SCRYPT_MAXMEM,
        dklen=_KEY_BYTES,
    )
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${_b64(salt)}${_b64(key)}"


def verify_password(password: str, stored: str) -> bool:
    """Constant-time comparison; a malformed stored hash never matches."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        expected = base64.b64decode(key)
        actual = hashlib.scrypt(
            password.encode("utf-8"),
            salt=base64.b64decode(salt),
            n=int(n),
            r=int(r),
            p=int(p),
            maxmem=_SCRYPT_MAXMEM,
            dklen=len(expected),
        )
    except ValueError:
        return False
    return hmac.compare_digest(actual, expected)


# Verified against when the username is unknown, so that a login attempt costs the same
# time whether or not the account exists (no enumeration through timing).
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


def check_username(username: str) -> str:
    if not USERNAME_RE.fullmatch(username):
        raise AccountError(f"the username must be {USERNAME_RULE}")
    return username


def check_password(password: str, username: str = "") -> str:
    if "\x00" in password:
        raise AccountError("the password must not contain NUL bytes")
    if len(password) < PASSWORD_MIN or len(password) > PASSWORD_MAX:
        raise AccountError(f"the password must be {PASSWORD_MIN} to {PASSWORD_MAX} characters long")
    if username and password.lower() == username.lower():
        raise AccountError("the password must not be the username")
    return password


def find_user(session: Session, username: str) -> User | None:
    # Usernames are unique case-insensitively in practice: lookups ignore case so that
    # "Alice" and "alice" cannot both register (and the message does not tell them apart).
    return session.scalar(select(User).where(func.lower(User.username) == username.lower()))


def create_user(session: Session, username: str, password: str, is_staff: bool = False) -> User:
    """A new account; AccountError when the name is invalid or taken. The caller commits."""
    check_username(username)
    check_password(password, username)
    if find_user(session, username) is not None:
        raise AccountError("that username is not available: choose another one")
    user = User(username=username, password_hash=hash_password(password), is_staff=is_staff)
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The user when the password matches, else None; the same work either way."""
    user = find_user(session, username) if USERNAME_RE.fullmatch(username) else None
    if user is None:
        verify_password(password, _DUMMY_HASH)
        return None
    return user if verify_password(password, user.password_hash) else None


def set_password(user: User, password: str) -> None:
    check_password(password, user.username)
    user.password_hash = hash_password(password)


def session_fingerprint(user: User) -> str:
    """Bound into the session cookie: changing the password logs out every other session."""
    return hashlib.sha256(user.password_hash.encode("utf-8")).hexdigest()[:32]


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def create_token(session: Session, user: User, name: str, token: str | None = None) -> tuple[ApiToken, str]:
    """Store a token's hash; return the row and the token itself (shown once, never stored)."""
    name = name.strip()
    if not name or len(name) > 64 or "\x00" in name:
        raise AccountError("give the token a name of 1 to 64 characters (what it is for)")
    token = token or new_token()
    row = ApiToken(user_id=user.id, name=name, token_hash=token_hash(token))
    session.add(row)
    session.flush()
    return row, token


def user_for_token(session: Session, token: str) -> User | None:
    """The owner of an unrevoked token (and note its use), or None."""
    if not token or len(token) > 256:
        return None
    row = session.scalar(
        select(ApiToken).where(ApiToken.token_hash == token_hash(token), ApiToken.revoked_at.is_(None))
    )
    if row is None:
        return None
    now = datetime.now(UTC)
    # At most one write a minute per token: last_used is for humans, not an audit log.
    if row.last_used_at is None or (now - row.last_used_at).total_seconds() > 60:
        session.execute(update(ApiToken).where(ApiToken.id == row.id).values(last_used_at=now))
        session.commit()
    return session.get(User, row.user_id)


def revoke_token(session: Session, user: User, token_id: int) -> bool:
    result = session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=datetime.now(UTC))
    )
    return bool(result.rowcount)


@dataclass(frozen=True)
class EnsureResult:
    changed: bool
    message: str


def ensure_token_account(session: Session, username: str, token: str, token_name: str) -> EnsureResult:
    """Make ``username`` a non-staff account whose only live token is ``token`` (idempotent).

    For machine accounts (the verifier): the account gets an unusable random password,
    its other tokens are revoked, and nothing is written when all of that already holds.
    """
    check_username(username)
    if len(token) < 20 or "\x00" in token:
        raise AccountError("the token must be at least 20 characters")
    changed = []
    user = find_user(session, username)
    if user is None:
        user = User(username=username, password_hash=hash_password(secrets.token_urlsafe(32)), is_staff=False)
        session.add(user)
        session.flush()
        changed.append("account created")
    elif user.is_staff:
        user.is_staff = False
        changed.append("staff role removed")
    wanted = token_hash(token)
    live = session.scalars(select(ApiToken).where(ApiToken.user_id == user.id, ApiToken.revoked_at.is_(None))).all()
    others = [row for row in live if row.token_hash != wanted]
    if others:
        now = datetime.now(UTC)
        for row in others:
            row.revoked_at = now
        changed.append(f"{len(others)} other token(s) revoked")
    if not any(row.token_hash == wanted for row in live):
        existing = session.scalar(select(ApiToken).where(ApiToken.token_hash == wanted))
        if existing is not None:
            # The hash is unique: a revoked copy (or another account's) is taken over.
            existing.user_id, existing.revoked_at, existing.name = user.id, None, token_name
        else:
            create_token(session, user, token_name, token)
        changed.append("token installed")
    if not changed:
        return EnsureResult(False, f"account {username} already holds the token: nothing to do")
    return EnsureResult(True, f"account {username}: {', '.join(changed)}")
