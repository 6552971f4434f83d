"""Settings of the web tier, read from environment variables only.

Every variable is documented in services/web/README.md with its local default.
Secrets (DATABASE_PASSWORD, SECRET_KEY, MQ_PASSWORD) never appear in a repr or a log line.
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from gradestack_protocol.messages import LANGUAGES, MAX_SOURCE_BYTES
from sqlalchemy.engine import URL

# Values that mean "somebody copied the example and forgot to change it".
_PLACEHOLDER_SECRETS = {"", "changeme", "change-me", "secret", "please-change-me", "dev", "development", "xxx"}
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")


class ConfigError(ValueError):
    """A missing or invalid setting; the text names the variable and what is expected."""


def _int(env: Mapping[str, str], name: str, default: int, minimum: int = 0, maximum: int | None = None) -> int:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if value < minimum or (maximum is not None and value > maximum):
        bound = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
        raise ConfigError(f"{name} must be {bound}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, minimum: float = 0.0) -> float:
    raw = env.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(f"{name} must be a number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be >= {minimum}, got {value}")
    return value


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name, "").strip().lower()
    if not raw:
        return default
    if raw in ("1", "true", "yes", "on"):
        return True
    if raw in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be true or false, got {raw!r}")


def _tristate(env: Mapping[str, str], name: str) -> bool | None:
    """``auto`` (or unset) -> None, otherwise a boolean."""
    if env.get(name, "").strip().lower() in ("", "auto"):
        return None
    return _bool(env, name, False)


def _networks(env: Mapping[str, str], name: str) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    nets = []
    for raw in env.get(name, "").split(","):
        item = raw.strip()
        if not item:
            continue
        try:
            nets.append(ipaddress.ip_network(item, strict=False))
        except ValueError:
            raise ConfigError(f"{name}: {item!r} is not an IP address or CIDR block") from None
    return tuple(nets)


ARTIFACT_DELIVERIES = ("redirect", "stream")


def _choice(env: Mapping[str, str], name: str, choices: tuple[str, ...], default: str) -> str:
    value = env.get(name, "").strip().lower() or default
    if value not in choices:
        raise ConfigError(f"{name} must be one of {', '.join(choices)}, got {value!r}")
    return value


@dataclass(frozen=True)
class DatabaseSettings:
    host: str = "127.0.0.1"
    port: int = 5432
    name: str = "gradestack"
    user: str = "gradestack"
    password: str = field(default="", repr=False)
    sslmode: str = "prefer"
    sslrootcert: str = ""
    pool_size: int = 5
    connect_timeout: int = 5

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> DatabaseSettings:
        sslmode = env.get("DATABASE_SSLMODE", "prefer").strip() or "prefer"
        if sslmode not in SSL_MODES:
            raise ConfigError(f"DATABASE_SSLMODE must be one of {', '.join(SSL_MODES)}, got {sslmode!r}")
        return cls(
            host=env.get("DATABASE_HOST", "127.0.0.1").strip() or "127.0.0.1",
            port=_int(env, "DATABASE_PORT", 5432, 1, 65535),
            name=env.get("DATABASE_NAME", "gradestack").strip() or "gradestack",
            user=env.get("DATABASE_USER", "gradestack").strip() or "gradestack",
            password=env.get("DATABASE_PASSWORD", ""),
            sslmode=sslmode,
            sslrootcert=env.get("DATABASE_SSLROOTCERT", "").strip(),
            pool_size=_int(env, "DATABASE_POOL_SIZE", 5, 1, 100),
            connect_timeout=_int(env, "DATABASE_CONNECT_TIMEOUT", 5, 1, 300),
        )

    def url(self) -> URL:
        query = {"sslmode": self.sslmode, "connect_timeout": str(self.connect_timeout)}
        if self.sslrootcert:
            query["sslrootcert"] = self.sslrootcert
        return URL.create(
            "postgresql+psycopg",
            username=self.user,
            password=self.password or None,
            host=self.host,
            port=self.port,
            database=self.name,
            query=query,
        )


@dataclass(frozen=True)
class Settings:
    environment: str
    secret_key: str = field(repr=False)
    database: DatabaseSettings
    max_source_bytes: int = MAX_SOURCE_BYTES
    languages: tuple[str, ...] = LANGUAGES
    trusted_proxies: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] = ()
    trusted_proxy_count: int = 0
    rate_limit_enabled: bool = True
    rate_limit_submissions: int = 20
    rate_limit_window_seconds: int = 60
    login_rate_limit_attempts: int = 10
    login_rate_limit_window_seconds: int = 300
    registration_enabled: bool = True
    session_cookie_secure: bool | None = None  # None: Secure exactly when the request came over HTTPS
    hsts_max_age: int = 31536000  # Strict-Transport-Security on HTTPS responses; 0: not sent
    grading_bucket: str = ""
    aws_region: str = "ap-northeast-2"
    presign_seconds: int = 300
    # How the app hands out an artifact after authorizing the request: "redirect" to a
    # short-lived presigned URL (S3 in AWS), or "stream" it itself (the local S3 stand-in,
    # which browsers cannot and must not reach).
    artifact_delivery: str = "redirect"
    outbox_poll_seconds: float = 0.5
    outbox_batch_size: int = 50
    outbox_retention_days: int = 7
    broker_receipt_timeout: float = 10.0
    ready_cache_seconds: float = 5.0
    recent_submissions: int = 50

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        environment = env.get("GRADESTACK_ENV", "local").strip() or "local"
        secret_key = env.get("SECRET_KEY", "")
        # Required everywhere, local use included: every gunicorn worker and web host must sign with the same
        # key (a per-process random key would break CSRF tokens between workers), and nothing else it could be
        # derived from is as secret. The deployment generates it (local) or reads it from SSM (cloud).
        if secret_key.strip().lower() in _PLACEHOLDER_SECRETS or len(secret_key) < 16:
            raise ConfigError(
                "SECRET_KEY is missing, a placeholder or shorter than 16 characters. Set it to a long random "
                "value shared by every web host (e.g. `python3 -c 'import secrets; print(secrets.token_hex(32))'`)"
                f" (GRADESTACK_ENV={environment!r})."
            )
        languages = tuple(x.strip() for x in env.get("ALLOWED_LANGUAGES", ",".join(LANGUAGES)).split(",") if x.strip())
        unknown = [x for x in languages if x not in LANGUAGES]
        if unknown or not languages:
            raise ConfigError(f"ALLOWED_LANGUAGES must be a non-empty subset of {', '.join(LANGUAGES)}, got {unknown}")
        trusted_proxies = _networks(env, "TRUSTED_PROXIES")
        trusted_proxy_count = _int(env, "TRUSTED_PROXY_COUNT", 0, 0, 10)
        if trusted_proxies and trusted_proxy_count:
            raise ConfigError("set TRUSTED_PROXIES or TRUSTED_PROXY_COUNT, not both")
        return cls(
            environment=environment,
            secret_key=secret_key,
            database=DatabaseSettings.from_env(env),
            # The workers enforce the protocol's limit too: a larger value here would only create doomed jobs.
            max_source_bytes=_int(env, "MAX_SOURCE_BYTES", MAX_SOURCE_BYTES, 1, MAX_SOURCE_BYTES),
            languages=languages,
            trusted_proxies=trusted_proxies,
            trusted_proxy_count=trusted_proxy_count,
            rate_limit_enabled=_bool(env, "RATE_LIMIT_ENABLED", True),
            rate_limit_submissions=_int(env, "RATE_LIMIT_SUBMISSIONS", 20, 1),
            rate_limit_window_seconds=_int(env, "RATE_LIMIT_WINDOW_SECONDS", 60, 1, 86400),
            login_rate_limit_attempts=_int(env, "LOGIN_RATE_LIMIT_ATTEMPTS", 10, 1),
            login_rate_limit_window_seconds=_int(env, "LOGIN_RATE_LIMIT_WINDOW_SECONDS", 300, 1, 86400),
            registration_enabled=_bool(env, "REGISTRATION_ENABLED", True),
            session_cookie_secure=_tristate(env, "SESSION_COOKIE_SECURE"),
            # Two years at most, the preload list's own ceiling.
            hsts_max_age=_int(env, "HSTS_MAX_AGE", 31536000, 0, 63072000),
            grading_bucket=env.get("GRADING_BUCKET", "").strip(),
            aws_region=(env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "ap-northeast-2").strip(),
            presign_seconds=_int(env, "ARTIFACT_URL_SECONDS", 300, 1, 3600),
            artifact_delivery=_choice(env, "ARTIFACT_DELIVERY", ARTIFACT_DELIVERIES, "redirect"),
            outbox_poll_seconds=_float(env, "OUTBOX_POLL_SECONDS", 0.5, 0.05),
            outbox_batch_size=_int(env, "OUTBOX_BATCH_SIZE", 50, 1, 1000),
            outbox_retention_days=_int(env, "OUTBOX_RETENTION_DAYS", 7, 1, 3650),
            broker_receipt_timeout=_float(env, "MQ_RECEIPT_TIMEOUT_SECONDS", 10.0, 0.1),
            ready_cache_seconds=_float(env, "READY_CACHE_SECONDS", 5.0, 0.0),
            recent_submissions=_int(env, "RECENT_SUBMISSIONS", 50, 1, 1000),
        )
