"""One home per setting: the broker's user and redelivery policy come from group_vars, and the
local ActiveMQ applies the same policy as the Amazon MQ configuration Terraform renders."""

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
    for key in ("db_name", "db_username", "mq_username", "mq_maximum_redeliveries", "mq_redelivery_delay_ms"):
        assert key not in local, f"{key} has its one home in group_vars/all/main.yml"
    # The local site playbook passes them to the broker role, by the same keys Terraform reads.
    broker = _broker_vars()
    assert broker["activemq_app_username"] == "{{ mq_username }}"
    assert broker["activemq_max_redeliveries"] == "{{ mq_maximum_redeliveries }}"
    assert broker["activemq_redelivery_delay_ms"] == "{{ mq_redelivery_delay_ms }}"
    main_tf = (REPO / "terraform/main.tf").read_text()
    for line in (
        "username             = var.mq_username",
        "maximum_redeliveries = var.mq_maximum_redeliveries",
        "redelivery_delay_ms  = var.mq_redelivery_delay_ms",
        "database_name         = var.db_name",
        "username              = var.db_username",
    ):
        assert line in main_tf


def test_the_local_admin_account_cannot_take_the_application_users_name():
    admin = _yaml("roles/activemq/defaults/main.yml")["activemq_admin_username"]
    assert _yaml("group_vars/all/main.yml")["mq_username"] != admin
    validate = (REPO / "roles/activemq/tasks/validate.yml").read_text()
    assert "activemq_admin_username != activemq_app_username" in validate


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
    (grading,) = [task["vars"] for play in _yaml("playbooks/local/grading.yml") for task in play["tasks"]]
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
