"""testsupport.activemq, which other suites rely on: authentication, persistence settings and
the individual dead-letter policy (a message NACKed past the redelivery limit ends in
ActiveMQ.DLQ.<queue>)."""

from __future__ import annotations

import threading
import uuid

import pytest
import stomp
from gradestack_protocol.broker import BrokerConnectError, BrokerSettings, connect

pytestmark = pytest.mark.slow


class _Nacker(stomp.ConnectionListener):
    def __init__(self) -> None:
        self.conn: stomp.Connection12 | None = None
        self.deliveries = 0
        self.dead = threading.Event()
        self.dead_headers: dict[str, str] = {}

    def on_message(self, frame) -> None:
        if frame.headers["subscription"] == "dlq":
            self.dead_headers = dict(frame.headers)
            self.dead.set()
            return
        self.deliveries += 1
        assert self.conn is not None
        self.conn.nack(frame.headers["ack"])


def test_nacked_message_ends_in_its_own_dead_letter_queue(activemq_server) -> None:
    queue = f"test.fixture.{uuid.uuid4().hex[:8]}"
    listener = _Nacker()
    conn = connect(BrokerSettings.from_env(activemq_server.endpoints_env()), listener=listener)
    listener.conn = conn
    try:
        conn.subscribe(f"ActiveMQ.DLQ.{queue}", id="dlq", ack="auto")
        conn.subscribe(queue, id="main", ack="client-individual")
        conn.send(queue, "poison", headers={"persistent": "true"})
        assert listener.dead.wait(60), f"not dead-lettered after {listener.deliveries} deliveries"
        assert listener.deliveries == 4  # the first delivery and 3 redeliveries
        assert listener.dead_headers["original-destination"] == f"/queue/{queue}"
    finally:
        conn.disconnect()


def test_anonymous_and_wrong_credentials_are_refused(activemq_server) -> None:
    env = activemq_server.endpoints_env() | {"MQ_USERNAME": "guest", "MQ_PASSWORD": "guest"}
    with pytest.raises(BrokerConnectError):
        connect(BrokerSettings.from_env(env), timeout=5)


def test_endpoints_env_is_complete(activemq_server) -> None:
    env = activemq_server.endpoints_env()
    assert env["MQ_ENDPOINTS"] == f"stomp+ssl://127.0.0.1:{activemq_server.stomp_ssl_port}"
    assert env["MQ_CA_BUNDLE"] == str(activemq_server.tls.ca_bundle)
    assert env["MQ_USERNAME"] == activemq_server.username
    assert env["MQ_PASSWORD"] == activemq_server.password
    assert (activemq_server.base / "conf" / "activemq.xml").read_text().count("@") == 0


def test_the_broker_speaks_tls_with_a_certificate_of_the_tests_own_ca(activemq_server) -> None:
    """As Amazon MQ: STOMP over TLS, and a client that does not trust the issuer gets no connection."""
    env = activemq_server.endpoints_env()
    assert env["MQ_ENDPOINTS"].startswith("stomp+ssl://")
    connect(BrokerSettings.from_env(env), timeout=10).disconnect()
    system_trust = env | {"MQ_CA_BUNDLE": "/etc/ssl/certs/ca-certificates.crt"}
    with pytest.raises(BrokerConnectError) as info:
        connect(BrokerSettings.from_env(system_trust), timeout=10)
    assert "certificate verify failed" in str(info.value).lower(), info.value
