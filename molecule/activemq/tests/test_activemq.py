"""roles/activemq: the broker runs, answers STOMP over TLS only (with the certificate of the scenario's CA
for `mq`) with authentication, applies group_vars' authorization map, keeps messages across a restart,
dead-letters a message after the configured redeliveries and serves a new key store after the role installs it."""

import json
import os
import uuid
from pathlib import Path

import pytest

from testsupport.molecule_scenario import run_playbook

# converge.yml: the accounts of group_vars mq_users, plus the probes' own (molecule.* queues).
PROBE_ACCOUNT = ("molecule", "molecule-probe-secret")
WEB = ("gradestack-web", "molecule-web-secret")
WORKER = ("gradestack-worker", "molecule-worker-secret")
VERIFY = ("gradestack-verify", "molecule-verify-secret")
APP = PROBE_ACCOUNT
PROBE = "/tmp/stomp_probe.py"
CA_IN_CONTAINER = "/tmp/mq-ca.pem"
CONF = "/etc/activemq/instances-available/main/activemq.xml"
KEYSTORE = "/etc/activemq/instances-available/main/broker.p12"
CONVERGE = Path(__file__).resolve().parents[1] / "converge.yml"


def tls_dir() -> Path:
    """Where converge's first play made the CA, the certificate and the key store (the control node)."""
    return Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "tls"


def install_ca(host) -> None:
    """The scenario's CA where the probe trusts it: what MQ_CA_BUNDLE names for the app's clients."""
    ca = (tls_dir() / "ca.pem").read_text()
    host.check_output(f"cat > {CA_IN_CONTAINER} <<'CA_EOF'\n{ca}\nCA_EOF")


@pytest.fixture(scope="module", autouse=True)
def probe(host):
    source = (Path(__file__).parent / "stomp_probe.py").read_text()
    host.check_output(f"cat > {PROBE} <<'PROBE_EOF'\n{source}\nPROBE_EOF")
    install_ca(host)


def stomp(host, account: tuple[str, str], *args: str, options: tuple[str, ...] = ()) -> str:
    return host.check_output(" ".join(["python3", PROBE, *options, *account, *args])).strip()


def served_certificate(host) -> dict:
    return json.loads(stomp(host, ("-", "-"), "certificate"))


def wait_for_stomp(host) -> None:
    host.check_output("timeout 120 sh -c 'until ss -ltn | grep -q :61614; do sleep 1; done'")


def test_service_running_and_enabled(host):
    service = host.service("activemq")
    assert service.is_running
    assert service.is_enabled


def test_stomp_ssl_listens_on_the_network_and_plain_stomp_nowhere(host):
    assert host.socket("tcp://0.0.0.0:61614").is_listening
    # As Amazon MQ: no plain STOMP port for clients; the TCP connection itself is refused.
    assert not host.socket("tcp://0.0.0.0:61613").is_listening
    assert stomp(host, APP, "connect", options=("--plain", "61613")) == "REFUSED"


def test_the_broker_presents_the_cas_certificate_for_mq(host):
    served = served_certificate(host)
    assert served["subject"]["commonName"] == "mq"
    assert served["san"] == ["mq"]
    assert served["issuer"]["commonName"] == "gradestack local CA"
    assert served["version"] in ("TLSv1.2", "TLSv1.3")
    # The probe verified the chain against ca.pem alone; the same certificate the key store holds.
    local = (tls_dir() / "broker.pem").read_text()
    in_container = host.check_output(
        "python3 -c \"import ssl; print(ssl.get_server_certificate(('127.0.0.1', 61614)))\""
    )
    assert in_container.split() == local.split()


def test_a_client_without_the_ca_is_refused(host):
    # The system trust store (what a client gets without MQ_CA_BUNDLE) does not know the local CA.
    out = stomp(host, APP, "connect", options=("--ca", "system"))
    assert out == "TLS-ERROR CERTIFICATE_VERIFY_FAILED"


def test_the_key_store_is_the_brokers_alone(host):
    keystore = host.file(KEYSTORE)
    assert (keystore.user, keystore.group, keystore.mode) == ("activemq", "activemq", 0o600)
    text = host.file(CONF).content_string
    assert f'keyStore="file:{KEYSTORE}"' in text
    assert 'keyStorePassword="molecule-keystore-secret"' in text
    assert "transport.needClientAuth=false" in text
    for name, mode in [("ca.key", 0o600), ("broker.key", 0o600), ("broker.p12", 0o600), ("ca.pem", 0o644)]:
        assert (tls_dir() / name).stat().st_mode & 0o777 == mode, name


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


def test_a_new_key_store_restarts_the_broker_with_it(host):
    before = served_certificate(host)
    # A new broker key and certificate from the same CA: converge makes and installs them, and
    # the handler restarts the broker, which then serves the new certificate.
    for name in ("broker.key", "broker.pem", "broker.p12"):
        (tls_dir() / name).unlink()
    result = run_playbook(CONVERGE)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "RUNNING HANDLER [activemq : Restart activemq]" in result.stdout
    assert "molecule-keystore-secret" not in result.stdout
    wait_for_stomp(host)
    after = served_certificate(host)
    assert after["serial"] != before["serial"]
    assert after["subject"]["commonName"] == "mq"
    # The CA stayed: clients that trust it still connect.
    assert stomp(host, APP, "connect").startswith("CONNECTED")
