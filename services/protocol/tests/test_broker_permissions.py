"""The broker accounts' permissions (group_vars mq_users / mq_authorization) on a real ActiveMQ.

The tests' broker (testsupport/activemq.py) gets the same accounts and authorization map
as the Amazon MQ broker and the local one. Each client's account can do what its
component does (web: send requests, consume results, dead-letter a malformed result;
workers: consume and re-send requests, send results, dead-letter a request; verifier: a
temporary queue of its own) and is refused the rest.
"""

from __future__ import annotations

import queue
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import stomp
from gradestack_protocol.broker import BrokerSettings, connect
from gradestack_protocol.messages import DEAD_LETTER_QUEUE, REQUEST_QUEUE, RESULT_QUEUE

from testsupport.activemq import ActiveMQServer, start_activemq

RESULT_DLQ = f"ActiveMQ.DLQ.{RESULT_QUEUE}"
WAIT_S = 15.0


class _Client(stomp.ConnectionListener):
    """A connection as one account: each SEND and SUBSCRIBE waits for its receipt or the broker's ERROR."""

    def __init__(self, server: ActiveMQServer, user: str | None) -> None:
        self.outcomes: dict[str, str] = {}
        self.settled = threading.Condition()
        self.messages: queue.Queue[str] = queue.Queue()
        self.conn = connect(BrokerSettings.from_env(server.endpoints_env(user=user)), listener=self)

    def on_receipt(self, frame) -> None:
        with self.settled:
            self.outcomes[frame.headers["receipt-id"]] = "ok"
            self.settled.notify_all()

    def on_error(self, frame) -> None:
        # ActiveMQ names the refused request's receipt in its ERROR frame.
        with self.settled:
            self.outcomes[frame.headers.get("receipt-id", "?")] = frame.headers.get("message", frame.body)
            self.settled.notify_all()

    def on_message(self, frame) -> None:
        self.messages.put(frame.body)

    def _outcome(self, receipt: str) -> str:
        with self.settled:
            assert self.settled.wait_for(lambda: receipt in self.outcomes, WAIT_S), "no receipt and no ERROR frame"
            return self.outcomes[receipt]

    def send(self, destination: str, body: str = "{}") -> str:
        """'ok', or the broker's reason for refusing the message."""
        receipt = uuid.uuid4().hex
        self.conn.send(destination, body, headers={"persistent": "true", "receipt": receipt})
        return self._outcome(receipt)

    def subscribe(self, destination: str) -> str:
        receipt = uuid.uuid4().hex
        self.conn.subscribe(destination, id=receipt, ack="auto", headers={"receipt": receipt})
        return self._outcome(receipt)

    def close(self) -> None:
        if self.conn.is_connected():
            self.conn.disconnect()


@pytest.fixture(scope="module")
def broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ActiveMQServer]:
    # A broker of its own: the allowed sends leave messages on the real queue names.
    server = start_activemq(Path(tmp_path_factory.mktemp("permissions-amq")))
    yield server
    server.stop()


@pytest.fixture
def client(broker: ActiveMQServer) -> Iterator:
    opened: list[_Client] = []

    def open_as(user: str | None) -> _Client:
        opened.append(_Client(broker, user))
        return opened[-1]

    yield open_as
    for each in opened:
        each.close()


def test_a_request_travels_from_the_web_account_to_a_worker_and_its_result_back(client) -> None:
    web, worker = client("web"), client("worker")
    assert worker.subscribe(REQUEST_QUEUE) == "ok"
    assert web.subscribe(RESULT_QUEUE) == "ok"
    token = uuid.uuid4().hex
    assert web.send(REQUEST_QUEUE, token) == "ok"
    assert worker.messages.get(timeout=WAIT_S) == token
    # A worker's counted retry sends the request again.
    assert worker.send(REQUEST_QUEUE, token + "-retry") == "ok"
    assert worker.messages.get(timeout=WAIT_S) == token + "-retry"
    assert worker.send(RESULT_QUEUE, token + "-result") == "ok"
    assert web.messages.get(timeout=WAIT_S) == token + "-result"


def test_each_client_may_dead_letter_what_it_consumes(client) -> None:
    assert client("worker").send(DEAD_LETTER_QUEUE) == "ok"
    assert client("web").send(RESULT_DLQ) == "ok"


def test_the_verifier_round_trips_on_a_temporary_queue(client) -> None:
    verify = client("verify")
    destination = f"/temp-queue/gradestack.verify.{uuid.uuid4().hex[:12]}"
    assert verify.subscribe(destination) == "ok"
    assert verify.send(destination, "ping") == "ok"
    assert verify.messages.get(timeout=WAIT_S) == "ping"


@pytest.mark.parametrize(
    ("user", "action", "destination"),
    [
        # The web app must not take grading jobs nor forge verdicts.
        ("web", "subscribe", REQUEST_QUEUE),
        ("web", "send", RESULT_QUEUE),
        ("web", "send", DEAD_LETTER_QUEUE),
        # A worker must not read other results nor touch the web app's dead letters.
        ("worker", "subscribe", RESULT_QUEUE),
        ("worker", "send", RESULT_DLQ),
        # Nobody's client reads a dead-letter queue.
        ("web", "subscribe", RESULT_DLQ),
        ("worker", "subscribe", DEAD_LETTER_QUEUE),
        # The verifier only has its temporary queue.
        ("verify", "send", REQUEST_QUEUE),
        ("verify", "subscribe", RESULT_QUEUE),
        # Temporary queues are the verifier's only.
        ("web", "subscribe", "/temp-queue/gradestack.web-probe"),
        ("worker", "subscribe", "/temp-queue/gradestack.worker-probe"),
        # A destination the map does not name is nobody's.
        ("web", "send", "grading.elsewhere"),
        ("worker", "subscribe", "grading.elsewhere"),
    ],
)
def test_an_account_is_refused_what_its_client_does_not_do(client, user: str, action: str, destination: str) -> None:
    outcome = getattr(client(user), action)(destination)
    assert outcome != "ok", f"{user} may {action} {destination}"
    assert "not authorized" in outcome, outcome


def test_every_account_of_the_map_exists_with_its_own_password(broker: ActiveMQServer) -> None:
    passwords = [password for _, password in broker.users.values()]
    assert set(broker.users) == {"web", "worker", "verify"}
    assert len(set(passwords)) == len(passwords)
    config = (broker.base / "conf" / "activemq.xml").read_text()
    for username, _ in broker.users.values():
        assert f'username="{username}"' in config
    assert "<authorizationPlugin>" in config
