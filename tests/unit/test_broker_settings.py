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


def test_both_brokers_take_user_and_policy_from_the_same_group_vars_keys():
    shared = _yaml("group_vars/all/main.yml")
    assert shared["mq_maximum_redeliveries"] == 3
    assert shared["mq_redelivery_delay_ms"] == 5000
    local = _yaml("group_vars/local.yml")
    for key in ("db_name", "db_username", "mq_username", "mq_maximum_redeliveries", "mq_redelivery_delay_ms"):
        assert key not in local, f"{key} has its one home in group_vars/all/main.yml"
    # The local site playbook passes them to the broker role, by the same keys Terraform reads.
    (broker,) = [
        task["vars"]
        for play in _yaml("playbooks/local/provision.yml")
        for task in play.get("tasks", [])
        if task.get("ansible.builtin.include_role", {}).get("name") == "activemq"
    ]
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
