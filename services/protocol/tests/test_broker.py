"""gradestack_protocol.broker: settings from the environment and connecting with failover."""

from __future__ import annotations

import datetime
import signal
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import stomp
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from gradestack_protocol.broker import (
    BrokerConfigError,
    BrokerConnectError,
    BrokerSettings,
    Endpoint,
    connect,
)

from testsupport.activemq import start_activemq
from testsupport.ports import free_port

BASE_ENV = {"MQ_ENDPOINTS": "stomp://127.0.0.1:61613", "MQ_USERNAME": "web", "MQ_PASSWORD": "s3cret-value"}


def test_from_env_parses_failover_list_in_order() -> None:
    endpoints = "stomp+ssl://b-1.mq.aws:61614, stomp+ssl://b-2.mq.aws:61614"
    env = BASE_ENV | {"MQ_ENDPOINTS": endpoints, "MQ_HEARTBEAT_MS": "0"}
    settings = BrokerSettings.from_env(env)
    assert settings.endpoints == (Endpoint("b-1.mq.aws", 61614, True), Endpoint("b-2.mq.aws", 61614, True))
    assert settings.heartbeat_ms == 0
    assert settings.username == "web"


def test_from_env_defaults_heartbeat_to_ten_seconds() -> None:
    settings = BrokerSettings.from_env(BASE_ENV)
    assert settings.heartbeat_ms == 10_000
    assert settings.endpoints == (Endpoint("127.0.0.1", 61613, False),)


def test_password_never_appears_in_repr_or_str() -> None:
    settings = BrokerSettings.from_env(BASE_ENV)
    assert "s3cret-value" not in repr(settings)
    assert "s3cret-value" not in str(settings)
    assert "***" in repr(settings)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MQ_ENDPOINTS": ""}, "MQ_ENDPOINTS is not set"),
        ({"MQ_ENDPOINTS": "tcp://host:61616"}, "must look like stomp://"),
        ({"MQ_ENDPOINTS": "stomp://host"}, "needs both a host and a port"),
        ({"MQ_ENDPOINTS": "stomp://host:notaport"}, "invalid port"),
        ({"MQ_ENDPOINTS": "stomp://user:pw@host:61613"}, "takes no path or user"),
        ({"MQ_PASSWORD": ""}, "MQ_USERNAME and MQ_PASSWORD"),
        ({"MQ_HEARTBEAT_MS": "ten"}, "MQ_HEARTBEAT_MS must be an integer"),
        ({"MQ_HEARTBEAT_MS": "-5"}, "MQ_HEARTBEAT_MS must be 0"),
        ({"MQ_CA_BUNDLE": "/nonexistent/ca.pem"}, "MQ_CA_BUNDLE"),
    ],
)
def test_bad_settings_get_a_clear_error(env: dict[str, str], message: str) -> None:
    with pytest.raises(BrokerConfigError, match=message) as info:
        BrokerSettings.from_env(BASE_ENV | env)
    assert "s3cret-value" not in str(info.value)
    assert "pw@" not in str(info.value)


def test_connect_error_names_every_endpoint_tried() -> None:
    ports = [free_port(), free_port()]
    env = BASE_ENV | {"MQ_ENDPOINTS": ",".join(f"stomp://127.0.0.1:{p}" for p in ports)}
    with pytest.raises(BrokerConnectError) as info:
        connect(BrokerSettings.from_env(env), timeout=2)
    text = str(info.value)
    for port in ports:
        # The endpoint and why it failed, not only that it did.
        assert f"stomp://127.0.0.1:{port}: ConnectionRefusedError: [Errno 111] Connection refused" in text, text
    assert isinstance(info.value.__cause__, ConnectionRefusedError)
    assert "s3cret-value" not in text


# --- a tiny TLS STOMP server, to prove stomp+ssl verifies certificates ---------------------


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost")]), critical=False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    return cert_path, key_path


@pytest.fixture
def tls_stomp_server(tmp_path: Path) -> Iterator[tuple[int, Path]]:
    """Accepts TLS connections and answers any CONNECT/STOMP frame with CONNECTED."""
    cert, key = _self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    port = listener.getsockname()[1]
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                raw, _ = listener.accept()
            except OSError:
                continue
            try:
                with context.wrap_socket(raw, server_side=True) as conn:
                    conn.settimeout(5)
                    data = b""
                    while b"\x00" not in data:
                        chunk = conn.recv(4096)
                        if not chunk:
                            break
                        data += chunk
                    if data.startswith((b"STOMP", b"CONNECT")):
                        conn.sendall(b"CONNECTED\nversion:1.2\nheart-beat:0,0\n\n\x00")
                        conn.recv(4096)  # hold the session open until the client disconnects
            except (OSError, ssl.SSLError):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield port, cert
    stop.set()
    thread.join(timeout=5)
    listener.close()


@pytest.mark.parametrize(
    ("host", "ca", "verify_message"),
    [
        # The system bundle: no public CA signed the server's self-signed certificate.
        pytest.param("localhost", "system", "self-signed certificate", id="untrusted"),
        # MQ_CA_BUNDLE names a CA, but not the one that signed the server's certificate.
        pytest.param("localhost", "other", "self-signed certificate", id="wrong-ca"),
        # The right CA, but the certificate names localhost, not the address connected to.
        pytest.param(
            "127.0.0.1", "server", "IP address mismatch, certificate is not valid for '127.0.0.1'.", id="name-mismatch"
        ),
    ],
)
def test_tls_endpoint_rejects_a_certificate_it_cannot_verify(
    tls_stomp_server: tuple[int, Path], tmp_path: Path, host: str, ca: str, verify_message: str
) -> None:
    port, cert = tls_stomp_server
    env = BASE_ENV | {"MQ_ENDPOINTS": f"stomp+ssl://{host}:{port}", "MQ_HEARTBEAT_MS": "0"}
    if ca == "other":
        other = tmp_path / "other"
        other.mkdir()
        env["MQ_CA_BUNDLE"] = str(_self_signed(other)[0])
    elif ca == "server":
        env["MQ_CA_BUNDLE"] = str(cert)
    with pytest.raises(BrokerConnectError) as info:
        connect(BrokerSettings.from_env(env), timeout=3)
    # The cause is certificate verification, not any connect failure (refused, closed, timed out, TLS protocol).
    cause = info.value.__cause__
    assert isinstance(cause, ssl.SSLCertVerificationError), repr(cause)
    assert cause.verify_message == verify_message
    assert (
        f"stomp+ssl://{host}:{port}: SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED] "
        f"certificate verify failed: {verify_message}"
    ) in str(info.value)
    assert "s3cret-value" not in str(info.value)


def test_tls_endpoint_connects_when_the_ca_is_trusted(tls_stomp_server: tuple[int, Path]) -> None:
    port, cert = tls_stomp_server
    env = BASE_ENV | {
        "MQ_ENDPOINTS": f"stomp+ssl://localhost:{port}",
        "MQ_HEARTBEAT_MS": "0",
        "MQ_CA_BUNDLE": str(cert),
    }
    conn = connect(BrokerSettings.from_env(env), timeout=3)
    try:
        assert conn.is_connected()
        assert conn.transport.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        conn.disconnect()


# --- against a real ActiveMQ -----------------------------------------------------------------


class _Collector(stomp.ConnectionListener):
    def __init__(self) -> None:
        self.bodies: list[str] = []
        self.event = threading.Event()

    def on_message(self, frame) -> None:
        self.bodies.append(frame.body)
        self.event.set()


@pytest.mark.slow
def test_connect_fails_over_to_the_next_endpoint(activemq_server) -> None:
    env = activemq_server.endpoints_env()
    env["MQ_ENDPOINTS"] = f"stomp://127.0.0.1:{free_port()},{env['MQ_ENDPOINTS']}"
    collector = _Collector()
    conn = connect(BrokerSettings.from_env(env), listener=collector, client_id="broker-test")
    try:
        queue = f"test.broker.{time.monotonic_ns()}"
        conn.subscribe(queue, id="1", ack="auto")
        conn.send(queue, "ping", headers={"persistent": "true"})
        assert collector.event.wait(10)
        assert collector.bodies == ["ping"]
        # Nagle off: a run of small frames (BEGIN, SEND, COMMIT) must not wait for delayed ACKs.
        assert conn.transport.socket.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
    finally:
        conn.disconnect()


@pytest.mark.slow
def test_wrong_password_is_reported_with_the_endpoint(activemq_server) -> None:
    env = activemq_server.endpoints_env() | {"MQ_PASSWORD": "definitely-wrong"}
    with pytest.raises(BrokerConnectError) as info:
        connect(BrokerSettings.from_env(env), timeout=5)
    # The broker's own reason (its ERROR frame), not any connect failure.
    assert str(info.value) == (
        f"could not connect to any broker endpoint: {activemq_server.stomp_url}: "
        f"User name [{env['MQ_USERNAME']}] or password is invalid."
    )
    assert "definitely-wrong" not in str(info.value)


@pytest.mark.slow
def test_a_tls_connection_to_a_broker_that_stops_answering_ends(tmp_path: Path) -> None:
    """A frozen broker (or one cut off by the network) over TLS, as Amazon MQ: the heart-beat timeout must end
    the connection so that its owner reconnects. stomp.py alone waited for ever in the TLS close handshake,
    and a worker stayed connected and ready on a dead connection."""
    server = start_activemq(tmp_path / "frozen-broker")
    disconnected = threading.Event()

    class Watcher(stomp.ConnectionListener):
        def on_disconnected(self) -> None:
            disconnected.set()

    try:
        env = server.endpoints_env() | {"MQ_HEARTBEAT_MS": "1000"}
        conn = connect(BrokerSettings.from_env(env), listener=Watcher(), timeout=10)
        assert conn.is_connected()
        assert server.process is not None
        server.process.send_signal(signal.SIGSTOP)
        try:
            # Heart-beats every second, 2.5 missed before the timeout, then the bounded close.
            assert disconnected.wait(30), "the connection to the frozen broker never ended"
        finally:
            server.process.send_signal(signal.SIGCONT)
    finally:
        server.stop()


def test_a_missing_ca_bundle_is_refused_whoever_builds_the_settings(tmp_path: Path) -> None:
    # The verify probe builds BrokerSettings itself; a missing file once sent stomp.py into an endless
    # reconnect loop (OverflowError) instead of naming the file.
    missing = str(tmp_path / "ca.pem")
    with pytest.raises(BrokerConfigError, match=f"MQ_CA_BUNDLE: {missing} is not a file"):
        BrokerSettings((Endpoint("mq", 61614, True),), "u", "p", ca_bundle=missing)
