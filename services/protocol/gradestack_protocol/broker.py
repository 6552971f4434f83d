"""One way to reach the message broker, shared by the web tier and the grading workers.

Settings come from the environment (the same variables everywhere):

``MQ_ENDPOINTS``
    Comma-separated failover list, tried in order: ``stomp://host:port`` (local
    ActiveMQ) or ``stomp+ssl://host:port`` (Amazon MQ, port 61614). Active/standby
    brokers are simply two entries.
``MQ_USERNAME`` / ``MQ_PASSWORD``
    Broker credentials. The password never appears in a repr, log line or error.
``MQ_HEARTBEAT_MS``
    STOMP heart-beat in both directions (default 10000; 0 disables it).
``MQ_CA_BUNDLE``
    Optional CA bundle for ``stomp+ssl``; default: the system bundle.

``connect()`` returns a connected ``stomp.Connection12``. It does not reconnect by
itself: a long-running consumer watches ``on_disconnected`` and calls ``connect()``
again with backoff (see ``connect_with_retry``), then re-subscribes.
"""

from __future__ import annotations

import contextlib
import logging
import os
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import stomp
import stomp.exception

log = logging.getLogger(__name__)

DEFAULT_HEARTBEAT_MS = 10_000
SYSTEM_CA_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
_SCHEMES = {"stomp": False, "stomp+ssl": True, "stomp+tls": True, "ssl": True}


class BrokerConfigError(ValueError):
    """MQ_* settings that cannot work; the text names the variable and what to write instead."""


class BrokerConnectError(ConnectionError):
    """No endpoint accepted the connection; the text lists every endpoint tried and why it failed."""


@dataclass(frozen=True)
class Endpoint:
    host: str
    port: int
    tls: bool

    @classmethod
    def parse(cls, text: str) -> Endpoint:
        text = text.strip()
        parts = urlsplit(text)
        if parts.scheme not in _SCHEMES:
            raise BrokerConfigError(
                f"MQ_ENDPOINTS: {text!r} must look like stomp://host:61613 or stomp+ssl://host:61614"
            )
        try:
            port = parts.port
        except ValueError as exc:
            raise BrokerConfigError(f"MQ_ENDPOINTS: {text!r} has an invalid port") from exc
        if not parts.hostname or port is None:
            raise BrokerConfigError(f"MQ_ENDPOINTS: {text!r} needs both a host and a port")
        if parts.path not in ("", "/") or parts.username or parts.password:
            # Credentials belong in MQ_USERNAME/MQ_PASSWORD, never in a URL that ends up in logs.
            raise BrokerConfigError(f"MQ_ENDPOINTS: {parts.scheme}://{parts.hostname}:{port} takes no path or user")
        return cls(host=parts.hostname, port=port, tls=_SCHEMES[parts.scheme])

    def __str__(self) -> str:
        return f"{'stomp+ssl' if self.tls else 'stomp'}://{self.host}:{self.port}"


@dataclass(frozen=True)
class BrokerSettings:
    endpoints: tuple[Endpoint, ...]
    username: str
    password: str = field(repr=False)
    heartbeat_ms: int = DEFAULT_HEARTBEAT_MS
    ca_bundle: str | None = None

    def __post_init__(self) -> None:
        if not self.endpoints:
            raise BrokerConfigError("MQ_ENDPOINTS is empty: set it to e.g. stomp://127.0.0.1:61613")
        if self.heartbeat_ms < 0:
            raise BrokerConfigError("MQ_HEARTBEAT_MS must be 0 (off) or a positive number of milliseconds")
        # Checked for every caller, not only from_env: stomp.py (9.0) meets a missing CA file with a
        # reconnect loop that ignores reconnect_attempts_max until math.pow overflows.
        if self.ca_bundle and not os.path.isfile(self.ca_bundle):
            raise BrokerConfigError(f"MQ_CA_BUNDLE: {self.ca_bundle} is not a file")

    def __repr__(self) -> str:
        endpoints = ",".join(str(e) for e in self.endpoints)
        return (
            f"BrokerSettings(endpoints={endpoints!r}, username={self.username!r}, password='***', "
            f"heartbeat_ms={self.heartbeat_ms})"
        )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> BrokerSettings:
        raw = environ.get("MQ_ENDPOINTS", "").strip()
        if not raw:
            raise BrokerConfigError("MQ_ENDPOINTS is not set: e.g. stomp://127.0.0.1:61613 or stomp+ssl://b-1...:61614")
        endpoints = tuple(Endpoint.parse(item) for item in raw.split(",") if item.strip())
        username = environ.get("MQ_USERNAME", "")
        password = environ.get("MQ_PASSWORD", "")
        if not username or not password:
            raise BrokerConfigError("MQ_USERNAME and MQ_PASSWORD must both be set")
        heartbeat_raw = environ.get("MQ_HEARTBEAT_MS", str(DEFAULT_HEARTBEAT_MS)).strip()
        try:
            heartbeat_ms = int(heartbeat_raw)
        except ValueError as exc:
            raise BrokerConfigError(f"MQ_HEARTBEAT_MS must be an integer, got {heartbeat_raw!r}") from exc
        ca_bundle = environ.get("MQ_CA_BUNDLE") or None
        return cls(endpoints, username, password, heartbeat_ms, ca_bundle)


class _ConnectProbe(stomp.ConnectionListener):
    """Records why a connection attempt failed (the broker's ERROR frame message, if any)."""

    def __init__(self) -> None:
        self.error = ""
        self.done = threading.Event()

    def on_connected(self, frame) -> None:
        self.done.set()

    def on_error(self, frame) -> None:
        self.error = frame.headers.get("message", "") or (frame.body or "")[:200]
        self.done.set()

    def on_disconnected(self) -> None:
        self.done.set()


class _TransportError(logging.Handler):
    """The OSError (refused, TLS verification, ...) of this thread's connection attempt.

    stomp.py logs it ("could not connect to host %s, port %s: %s", the error as the last argument) and
    then raises a ConnectFailedException without it; the error text needs the cause.
    """

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.thread = threading.get_ident()
        self.error: BaseException | None = None

    def emit(self, record: logging.LogRecord) -> None:
        args = record.args if isinstance(record.args, tuple) else ()
        if record.thread == self.thread and args and isinstance(args[-1], BaseException):
            self.error = args[-1]


def _ca_bundle(settings: BrokerSettings) -> str | None:
    if settings.ca_bundle:
        return settings.ca_bundle
    return SYSTEM_CA_BUNDLE if os.path.isfile(SYSTEM_CA_BUNDLE) else None


def _open(endpoint: Endpoint, settings: BrokerSettings, timeout: float) -> stomp.Connection12:
    heartbeat = settings.heartbeat_ms
    conn = stomp.Connection12(
        host_and_ports=[(endpoint.host, endpoint.port)],
        heartbeats=(heartbeat, heartbeat),
        # ActiveMQ checks for idle writes once per interval, so its heart-beats can be up
        # to two intervals apart; stomp.py's default 1.5x grace drops healthy connections.
        heart_beat_receive_scale=2.5,
        # One attempt per endpoint: the failover loop and its backoff are ours, so the
        # error can name every endpoint and the caller decides how long to keep trying.
        reconnect_attempts_max=1,
        reconnect_sleep_initial=0.0,
        timeout=timeout,  # TCP connect timeout only: stomp.py switches the socket back to blocking afterwards
        try_loopback_connect=False,
    )
    if endpoint.tls:
        host_port = (endpoint.host, endpoint.port)
        conn.set_ssl(for_hosts=[host_port], ca_certs=_ca_bundle(settings), ssl_version=ssl.PROTOCOL_TLS_CLIENT)
        _bound_tls_close(conn.transport)
    return conn


# How long the TLS close handshake may wait for a broker that does not answer.
TLS_CLOSE_GRACE_S = 2.0


def _bound_tls_close(transport: object) -> None:
    """Let a TLS connection to a broker that stopped answering end, so its owner reconnects.

    On a heart-beat timeout stomp.py (9.0) closes the socket with a blocking TLS close
    handshake and no timeout: against a broker that is frozen or cut off by the network,
    that handshake waits for ever, so neither on_heartbeat_timeout nor on_disconnected is
    ever called. A worker then stays connected and ready on a dead connection and grades
    nothing (seen in the worker tests once they ran over TLS, as Amazon MQ requires). Over
    plain STOMP the socket is only shut down and this never happens. The handshake still
    runs; after TLS_CLOSE_GRACE_S the TCP socket under it is shut down, which ends it.
    """
    original = transport.disconnect_socket  # type: ignore[attr-defined]

    def disconnect_socket() -> None:
        sock = getattr(transport, "socket", None)
        timer = threading.Timer(TLS_CLOSE_GRACE_S, _shutdown_quietly, args=(sock,))
        timer.daemon = True
        timer.start()
        try:
            original()
        finally:
            timer.cancel()

    transport.disconnect_socket = disconnect_socket  # type: ignore[attr-defined]


def _shutdown_quietly(sock: socket.socket | None) -> None:
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _no_delay(conn: stomp.Connection12) -> None:
    """Turn Nagle's algorithm off on the connection's socket (plain or TLS).

    STOMP frames are small and come in runs: the outbox's BEGIN, SEND and COMMIT, a
    worker's results. With Nagle each frame after the first waits for the broker's ACK of
    the one before, which the broker delays (40 ms on Linux) because it has nothing to
    answer with. Measured against ActiveMQ: a transactional send to the consumer's receipt
    took 49 ms, 3.7 ms with TCP_NODELAY; it was the largest stage but the judge of one
    submission through the local deployment (bench/pipeline_bench.py, broker_to_worker).
    """
    sock = getattr(conn.transport, "socket", None)
    if sock is None:
        return
    try:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    except OSError as exc:  # only slower, never wrong: say so and carry on
        log.warning("broker: cannot set TCP_NODELAY (%s); small frames may wait for delayed ACKs", exc)


def _close_quietly(conn: stomp.Connection12) -> None:
    # Best effort cleanup of a connection that never came up.
    with contextlib.suppress(Exception):
        conn.transport.stop()


def connect(
    settings: BrokerSettings,
    listener: stomp.ConnectionListener | None = None,
    client_id: str | None = None,
    *,
    timeout: float = 10.0,
) -> stomp.Connection12:
    """Connect to the first endpoint that accepts us, in the order given.

    ``listener`` is registered (under the name ``"gradestack"``) only once the
    session is established, so it never sees the failed attempts; subscribe after
    this returns. ``client_id`` becomes the STOMP ``client-id`` header (ActiveMQ
    shows it in its console, handy to tell workers apart).
    """
    failures: list[str] = []
    cause: BaseException | None = None
    stomp_log = logging.getLogger("stomp.py")
    for endpoint in settings.endpoints:
        conn = _open(endpoint, settings, timeout)
        probe = _ConnectProbe()
        conn.set_listener("gradestack-connect-probe", probe)
        headers = {"client-id": client_id} if client_id else {}
        transport_error = _TransportError()
        stomp_log.addHandler(transport_error)
        try:
            conn.connect(settings.username, settings.password, wait=False, headers=headers)
        except (stomp.exception.ConnectFailedException, OSError) as exc:
            cause = transport_error.error or exc
            failures.append(f"{endpoint}: {type(cause).__name__}: {str(cause) or 'TCP/TLS connection failed'}")
            _close_quietly(conn)
            continue
        finally:
            stomp_log.removeHandler(transport_error)
        probe.done.wait(timeout)
        if conn.is_connected():
            _no_delay(conn)
            conn.remove_listener("gradestack-connect-probe")
            if listener is not None:
                conn.set_listener("gradestack", listener)
            return conn
        reason = probe.error or ("closed the connection" if probe.done.is_set() else f"no CONNECTED within {timeout}s")
        failures.append(f"{endpoint}: {reason}")
        cause = None
        _close_quietly(conn)
    # The last endpoint's error, when it was one (TLS verification, refused, ...), as the cause.
    raise BrokerConnectError("could not connect to any broker endpoint: " + "; ".join(failures)) from cause


def connect_with_retry(
    settings: BrokerSettings,
    listener: stomp.ConnectionListener | None = None,
    client_id: str | None = None,
    *,
    should_continue: Callable[[], bool] = lambda: True,
    initial_delay: float = 0.5,
    max_delay: float = 30.0,
    on_failure: Callable[[BrokerConnectError, float], None] | None = None,
) -> stomp.Connection12 | None:
    """``connect()`` until it works, with jittered exponential backoff.

    Returns None when ``should_continue()`` turns false (e.g. on shutdown).
    ``on_failure(error, next_delay)`` is the hook for logging each failed round.
    """
    delay = initial_delay
    while should_continue():
        try:
            return connect(settings, listener, client_id)
        except BrokerConnectError as exc:
            sleep_for = delay * (0.5 + random.random() / 2)  # noqa: S311  (jitter, not crypto)
            if on_failure is not None:
                on_failure(exc, sleep_for)
            deadline = time.monotonic() + sleep_for
            while should_continue() and time.monotonic() < deadline:
                time.sleep(min(0.1, sleep_for))
            delay = min(max_delay, delay * 2)
    return None
