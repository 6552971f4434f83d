"""plugins/modules/gradestack_service_log_groups.py against a moto server: the log groups Amazon MQ creates
by itself get the stack's retention, KMS key and tags, a second run changes nothing, and destroy deletes them."""

from __future__ import annotations

import importlib.util
import json
import secrets

import pytest

from testsupport.ansible import REPO, run_tasks, save

_spec = importlib.util.spec_from_file_location(
    "service_log_groups", REPO / "plugins/modules/gradestack_service_log_groups.py"
)
service_log_groups = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(service_log_groups)

KEY = "arn:aws:kms:ap-northeast-2:123456789012:key/11111111-2222-3333-4444-555555555555"


def test_changes_name_only_what_differs():
    settings = {"retention_days": 365, "kms_key_arn": KEY, "tags": {"Project": "p"}}
    group = {"logGroupName": "g", "retentionInDays": 365, "kmsKeyId": KEY}
    assert service_log_groups.planned_changes(group, {"Project": "p"}, **settings) == []
    assert service_log_groups.planned_changes(None, {}, **settings) == ["create"]
    unmanaged = {"logGroupName": "g"}  # as Amazon MQ creates it: no retention, no key
    assert service_log_groups.planned_changes(unmanaged, {}, **settings) == ["retention", "kms key", "tags"]
    assert service_log_groups.planned_changes(group | {"retentionInDays": 30}, {"Project": "p"}, **settings) == [
        "retention"
    ]


@pytest.fixture
def logs(moto_server):
    return moto_server.client("logs")


def test_adopts_the_groups_the_broker_created_then_deletes_them(tmp_path, moto_server, logs):
    broker = f"b-{secrets.token_hex(6)}"
    general, audit = f"/aws/amazonmq/broker/{broker}/general", f"/aws/amazonmq/broker/{broker}/audit"
    logs.create_log_group(logGroupName=general)  # what Amazon MQ does at CreateBroker
    aws = {
        "endpoint_url": moto_server.endpoint,
        "region": "ap-northeast-2",
        "access_key": "testing",
        "secret_key": "testing",
    }

    def adopt(state: str = "present", args: tuple[str, ...] = ()) -> dict:
        settings = (
            {"retention_days": 365, "kms_key_arn": KEY, "tags": {"Project": "gradestack"}} if state == "present" else {}
        )
        task = {
            "gradestack_service_log_groups": {"names": [general, audit], "state": state, **settings, **aws},
            "register": "adopted",
        }
        result = run_tasks(tmp_path, [task, save("adopted")], args=list(args))
        assert result.returncode == 0, result.stdout[-3000:]
        return json.loads((tmp_path / "adopted.json").read_text())

    checked = adopt(args=("--check",))
    assert checked["changed"] and len(checked["changes"]) == 4, checked
    assert [
        g["logGroupName"]
        for g in logs.describe_log_groups(logGroupNamePrefix=f"/aws/amazonmq/broker/{broker}/")["logGroups"]
    ] == [general]

    first = adopt()
    assert first["changed"] and first["changes"] == [
        f"{general} retention", f"{general} kms key", f"{general} tags", f"{audit} create",
    ], first  # fmt: skip
    groups = {
        g["logGroupName"]: g
        for g in logs.describe_log_groups(logGroupNamePrefix=f"/aws/amazonmq/broker/{broker}/")["logGroups"]
    }
    assert set(groups) == {general, audit}
    for name, group in groups.items():
        assert group["retentionInDays"] == 365 and group["kmsKeyId"] == KEY, group
        assert logs.list_tags_log_group(logGroupName=name)["tags"]["Project"] == "gradestack"

    second = adopt()
    assert not second["changed"] and second["changes"] == [], second

    # Destroy: the broker (and its id) are gone; the groups the stack adopted are found by their tags, a
    # group of the same prefix without them (another stack's) stays.
    other = f"/aws/amazonmq/broker/{broker}-other/general"
    logs.create_log_group(logGroupName=other, tags={"Project": "someone-else"})
    destroy = {"state": "absent", "prefix": "/aws/amazonmq/broker/", "tags": {"Project": "gradestack"}, **aws}
    gone = run_tasks(tmp_path, [{"gradestack_service_log_groups": destroy, "register": "gone"}, save("gone")])
    assert gone.returncode == 0, gone.stdout[-3000:]
    changes = json.loads((tmp_path / "gone.json").read_text())["changes"]
    assert {f"{general} delete", f"{audit} delete"} <= set(changes) and f"{other} delete" not in changes, changes
    left = logs.describe_log_groups(logGroupNamePrefix=f"/aws/amazonmq/broker/{broker}")["logGroups"]
    assert [g["logGroupName"] for g in left] == [other]
    assert not adopt("absent")["changed"]
