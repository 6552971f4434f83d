"""One home per setting: the broker's accounts, their permissions and the redelivery policy come
from group_vars, and the local ActiveMQ applies the same policy as the Amazon MQ configuration
Terraform renders."""

from __future__ import annotations

import re
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
AMAZON_MQ = REPO / "terraform/modules/messaging/templates/activemq.xml.tftpl"
LOCAL_MQ = REPO / "roles/activemq/templates/activemq.xml.j2"


def _yaml(path: str) -> dict:
    return yaml.safe_load((REPO / path).read_text())


def _redelivery_policy(path: Path) -> dict[str, str]:
    """The attributes of the one <redeliveryPolicy .../> element, values as written."""
    (element,) = re.findall(r"<redeliveryPolicy\s(.*?)/>", path.read_text(), re.DOTALL)
    return dict(re.findall(r'(\w+)="([^"]*)"', element))


def test_local_broker_applies_the_amazon_mq_redelivery_policy():
    amazon, local = _redelivery_policy(AMAZON_MQ), _redelivery_policy(LOCAL_MQ)
    assert set(amazon) == set(local)
    assert amazon["useExponentialBackOff"] == local["useExponentialBackOff"] == "true"
    assert amazon["backOffMultiplier"] == local["backOffMultiplier"] == "2"
    assert amazon["maximumRedeliveries"] == "${maximum_redeliveries}"
    assert local["maximumRedeliveries"] == "{{ activemq_max_redeliveries }}"
    for name in ("initialRedeliveryDelay", "redeliveryDelay"):
        assert amazon[name] == "${redelivery_delay_ms}"
        assert local[name] == "{{ activemq_redelivery_delay_ms }}"


def _broker_vars(tasks_from: str = "main") -> dict:
    """The vars the local provision stage gives roles/activemq's entry point ``tasks_from``."""
    (found,) = [
        task["vars"]
        for play in _yaml("playbooks/local/provision.yml")
        for task in play.get("tasks", [])
        if task.get("ansible.builtin.include_role", {}).get("name") == "activemq"
        and task["ansible.builtin.include_role"].get("tasks_from", "main") == tasks_from
    ]
    return found


def test_both_brokers_take_user_and_policy_from_the_same_group_vars_keys():
    shared = _yaml("group_vars/all/main.yml")
    assert shared["mq_maximum_redeliveries"] == 3
    assert shared["mq_redelivery_delay_ms"] == 5000
    local = _yaml("group_vars/local.yml")
    access = ("mq_users", "mq_authorization", "mq_temp_destination_authorization")
    for key in ("db_name", "db_username", *access, "mq_maximum_redeliveries", "mq_redelivery_delay_ms"):
        assert key not in local, f"{key} has its one home in group_vars/all/main.yml"
    # The local site playbook passes them to the broker role, by the same keys Terraform reads.
    broker = _broker_vars()
    assert broker["activemq_users"] == "{{ mq_users }}"
    assert broker["activemq_passwords"] == "{{ mq_passwords }}"
    assert broker["activemq_authorization"] == "{{ mq_authorization }}"
    assert broker["activemq_temp_destination_authorization"] == "{{ mq_temp_destination_authorization }}"
    assert broker["activemq_max_redeliveries"] == "{{ mq_maximum_redeliveries }}"
    assert broker["activemq_redelivery_delay_ms"] == "{{ mq_redelivery_delay_ms }}"
    # Alignment aside (terraform fmt aligns the = of a block).
    main_tf = re.sub(r"[ ]+=[ ]+", " = ", (REPO / "terraform/main.tf").read_text())
    for line in (
        "users = var.mq_users",
        "passwords = var.mq_passwords",
        "authorization = var.mq_authorization",
        "temp_destination_authorization = var.mq_temp_destination_authorization",
        "maximum_redeliveries = var.mq_maximum_redeliveries",
        "redelivery_delay_ms = var.mq_redelivery_delay_ms",
        "database_name = var.db_name",
        "username = var.db_username",
    ):
        assert line in main_tf


def test_every_client_has_an_account_of_its_own_with_a_password_and_no_console():
    shared = _yaml("group_vars/all/main.yml")
    users = shared["mq_users"]
    assert set(users) == {"web", "worker", "verify"}
    assert len({user["username"] for user in users.values()}) == len(users)
    # One secret per account, named after its key; mq_passwords maps the keys to them.
    assert shared["mq_passwords"] == {key: "{{ mq_" + key + "_password }}" for key in users}
    for key in users:
        assert f"/mq_{key}_password'" in shared[f"mq_{key}_password"], "an SSM SecureString in cloud environments"
        assert f"/mq_{key}_password'" in _yaml("group_vars/local.yml")[f"mq_{key}_password"], "generated locally"
    # Every group the map grants is some account's: a typo would silently grant nobody.
    groups = {group for user in users.values() for group in user["groups"]}
    entries = [*shared["mq_authorization"], shared["mq_temp_destination_authorization"]]
    granted = {g for entry in entries for right in ("read", "write", "admin") for g in entry.get(right, [])}
    assert granted <= groups
    # No account gets console access, nor an admin account next to them.
    messaging = (REPO / "terraform/modules/messaging/main.tf").read_text()
    assert "console_access = false" in messaging and "var.console_access" not in messaging
    local = LOCAL_MQ.read_text()
    assert "activemq_admin" not in local and "admins" not in local
    assert re.findall(r"<authenticationUser [^>]*>", local) == [
        '<authenticationUser username="{{ user.username | e }}" password="{{ activemq_passwords[key] | e }}"'
        " groups=\"{{ user.groups | join(',') | e }}\"/>"
    ], "the local broker's only accounts are mq_users'"


def test_each_client_connects_with_its_own_account():
    # (S105: the values compared are templates naming a secret, not passwords)
    assert _yaml("group_vars/web.yml")["web_mq_password"] == "{{ mq_web_password }}"  # noqa: S105
    assert _yaml("group_vars/aws_web.yml")["web_mq_password"] == "{{ mq_web_password }}"  # noqa: S105
    (grading,) = [
        task["vars"]
        for play in _yaml("playbooks/local/grading.yml")
        for task in play.get("tasks", [])
        if task.get("ansible.builtin.include_role", {}).get("name") == "grading_service"
    ]
    assert grading["grading_service_mq_password"] == "{{ mq_worker_password }}"  # noqa: S105
    main_tf = (REPO / "terraform/main.tf").read_text()
    assert "mq_password_parameter_arn = module.messaging.parameter_arns.worker_password" in main_tf
    user_data = (REPO / "terraform/modules/compute/templates/user_data.sh.tftpl").read_text()
    assert '"mq/web/password": "web_mq_password"' in user_data


def test_the_local_broker_speaks_stomp_over_tls_only_as_amazon_mq():
    local = _yaml("group_vars/local.yml")
    assert local["mq_endpoints"] == "stomp+ssl://mq:61614"
    # The broker opens the port of mq_endpoints (one home), with the certificate the control node made.
    broker, certificate = _broker_vars(), _broker_vars("certificate")
    assert broker["activemq_stomp_ssl_port"] == "{{ mq_endpoints | urlsplit('port') }}"
    assert "activemq_stomp_port" not in broker
    assert _yaml("roles/activemq/defaults/main.yml")["activemq_stomp_port"] == 0
    assert broker["activemq_tls_dir"] == certificate["activemq_tls_dir"] == "{{ local_mq_tls_dir }}"
    assert broker["activemq_tls_keystore_password"] == certificate["activemq_tls_keystore_password"]
    # Every client trusts the local CA: web hosts, grading workers and the verify probes.
    assert _yaml("group_vars/web.yml")["web_mq_ca_bundle"] == "{{ lookup('ansible.builtin.file', local_mq_ca_bundle) }}"
    (grading,) = [
        task["vars"]
        for play in _yaml("playbooks/local/grading.yml")
        for task in play.get("tasks", [])
        if task.get("ansible.builtin.include_role", {}).get("name") == "grading_service"
    ]
    assert grading["grading_service_mq_ca_bundle"] == "{{ local_mq_ca_bundle }}"
    (verify,) = [
        task["vars"]
        for play in _yaml("playbooks/local/verify.yml")
        for task in play["tasks"]
        if task.get("ansible.builtin.include_role", {}).get("name") == "verify_local"
    ]
    assert "local_mq_ca_bundle" in verify["verify_local_mq"]["ca_bundle"]
    # AWS web hosts trust the system store (Amazon MQ's certificate is public): no CA is set there.
    assert "web_mq_ca_bundle" not in _yaml("group_vars/aws_web.yml")
