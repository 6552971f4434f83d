"""roles/activemq: the broker runs, answers STOMP with authentication, applies group_vars'
authorization map, keeps messages across a restart and dead-letters a message after the
configured redeliveries."""

import uuid
from pathlib import Path

import pytest

# converge.yml: the accounts of group_vars mq_users, plus the probes' own (molecule.* queues).
PROBE_ACCOUNT = ("molecule", "molecule-probe-secret")
WEB = ("gradestack-web", "molecule-web-secret")
WORKER = ("gradestack-worker", "molecule-worker-secret")
VERIFY = ("gradestack-verify", "molecule-verify-secret")
APP = PROBE_ACCOUNT
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


@pytest.mark.parametrize("account", [WEB, WORKER, VERIFY], ids=["web", "worker", "verify"])
def test_connect_answers_connected(host, account):
    assert stomp(host, account, "connect").startswith("CONNECTED")


@pytest.mark.parametrize("account", [("gradestack-web", "wrong"), ("admin", "admin")], ids=["wrong", "no-admin"])
def test_wrong_password_and_the_old_admin_account_are_refused(host, account):
    assert stomp(host, account, "connect").startswith("ERROR")


def test_config_has_the_authorization_map(host):
    text = host.file(CONF).content_string
    assert "<authorizationPlugin>" in text
    assert '<authorizationEntry queue="grading.requests" read="gradestack-workers"' in text
    assert '<tempDestinationAuthorizationEntry read="gradestack-verifiers"' in text


def test_a_request_goes_from_the_web_account_to_the_workers(host):
    body = f"request-{uuid.uuid4().hex}"
    assert stomp(host, WEB, "send", "grading.requests", body) == "RECEIPT"
    assert stomp(host, WORKER, "receive", "grading.requests") == body


@pytest.mark.parametrize(
    ("account", "action", "queue"),
    [(WEB, "receive", "grading.requests"), (WEB, "send", "grading.results"), (VERIFY, "send", "grading.requests")],
    ids=["web-takes-jobs", "web-forges-results", "verifier-sends-jobs"],
)
def test_an_account_is_refused_what_its_client_does_not_do(host, account, action, queue):
    args = [action, queue] + (["forged"] if action == "send" else [])
    assert stomp(host, account, *args) == "ERROR"


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
