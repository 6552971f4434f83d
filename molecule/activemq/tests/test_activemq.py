"""roles/activemq: the broker runs, answers STOMP with authentication, keeps messages
across a restart and dead-letters a message after the configured redeliveries."""

import uuid
from pathlib import Path

import pytest

APP = ("gradestack-app", "molecule-app-secret")
ADMIN = ("admin", "molecule-admin-secret")
PROBE = "/tmp/stomp_probe.py"
CONF = "/etc/activemq/instances-available/main/activemq.xml"


@pytest.fixture(scope="module", autouse=True)
def probe(host):
    source = (Path(__file__).parent / "stomp_probe.py").read_text()
    host.check_output(f"cat > {PROBE} <<'PROBE_EOF'\n{source}\nPROBE_EOF")


def stomp(host, account: tuple[str, str], *args: str) -> str:
    return host.check_output(" ".join(["python3", PROBE, *account, *args])).strip()


def wait_for_stomp(host) -> None:
    host.check_output("timeout 120 sh -c 'until ss -ltn | grep -q :61613; do sleep 1; done'")


def test_service_running_and_enabled(host):
    service = host.service("activemq")
    assert service.is_running
    assert service.is_enabled


def test_stomp_listens_on_the_network(host):
    assert host.socket("tcp://0.0.0.0:61613").is_listening


def test_config_has_the_amazon_mq_policy(host):
    conf = host.file(CONF)
    assert conf.mode == 0o640
    text = conf.content_string
    assert 'maximumRedeliveries="3"' in text
    assert 'initialRedeliveryDelay="1000"' in text
    # The same back-off as terraform/modules/messaging/templates/activemq.xml.tftpl.
    assert 'useExponentialBackOff="true" backOffMultiplier="2"' in text
    assert 'individualDeadLetterStrategy queuePrefix="ActiveMQ.DLQ."' in text
    assert 'anonymousAccessAllowed="false"' in text
    assert "<kahaDB" in text


@pytest.mark.parametrize("account", [APP, ADMIN], ids=["app", "admin"])
def test_connect_answers_connected(host, account):
    assert stomp(host, account, "connect").startswith("CONNECTED")


def test_wrong_password_is_refused(host):
    assert stomp(host, ("gradestack-app", "wrong"), "connect").startswith("ERROR")


def test_persistent_message_survives_a_restart(host):
    body = f"persisted-{uuid.uuid4().hex}"
    assert stomp(host, APP, "send", "molecule.persist", body) == "RECEIPT"
    host.check_output("systemctl restart activemq")
    wait_for_stomp(host)
    assert stomp(host, APP, "receive", "molecule.persist") == body


def test_nacked_message_goes_to_its_dead_letter_queue(host):
    body = f"poison-{uuid.uuid4().hex}"
    assert stomp(host, APP, "send", "molecule.poison", body) == "RECEIPT"
    # The first delivery plus maximumRedeliveries redeliveries, then the DLQ.
    assert stomp(host, APP, "nack-all", "molecule.poison") == "4"
    assert stomp(host, APP, "receive", "ActiveMQ.DLQ.molecule.poison") == body
