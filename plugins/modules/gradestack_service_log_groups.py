#!/usr/bin/python
"""Ansible module: bring the log groups an AWS service creates by itself under the stack's settings.

Amazon MQ writes its broker logs to /aws/amazonmq/broker/<broker id>/general and /audit, log
groups it creates itself when the broker is created. Terraform cannot own them: their names
contain the broker id, known only after CreateBroker, by which time the groups exist (a Terraform
resource would fail with ResourceAlreadyExistsException, and an import block needs the id at plan
time). Left alone they never expire, are not encrypted with the stack's key and survive a destroy.
The provision stage therefore adopts them right after the apply (retention, KMS key, tags) and the
destroy stage deletes them after the broker is gone (terraform/modules/messaging/README.md).
"""

from __future__ import annotations

from typing import Any

DOCUMENTATION = r"""
---
module: gradestack_service_log_groups
short_description: Adopt the CloudWatch log groups a service creates (retention, KMS key, tags), or delete them
description:
  - With I(state=present), each named log group gets the retention, the KMS key and the tags given; a group that does
    not exist yet is created with them (the service writes into it when it starts logging).
  - A group already encrypted with another key is re-associated with the one given (logs:AssociateKmsKey); the key
    policy must let CloudWatch Logs use the key for that group (terraform/main.tf, statement CloudWatchLogs).
  - With I(state=absent), each named group (or each group under I(prefix) carrying I(tags)) is deleted; a missing
    one is not an error.
  - Idempotent; check mode reports what would change and changes nothing.
  - Endpoint, region and credentials are taken like the amazon.aws modules (C(endpoint_url) reaches moto).
options:
  names:
    type: list
    elements: str
    description: The log group names.
  prefix:
    type: str
    description:
      - With I(state=absent) and no I(names), every group whose name starts with this prefix and that carries all of
        I(tags) is deleted (a destroy, when the broker and its id are gone already).
  state:
    type: str
    choices: [present, absent]
    default: present
    description: Whether the groups are kept under the settings below or deleted.
  retention_days:
    type: int
    description: Retention in days (a value CloudWatch Logs accepts); required with I(state=present).
  kms_key_arn:
    type: str
    description: ARN of the KMS key that encrypts the groups; required with I(state=present).
  tags:
    type: dict
    default: {}
    description: Tags the groups carry (others the groups have are kept); with I(prefix), the tags that select them.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Adopt the broker's log groups
  gradestack_service_log_groups:
    names:
      - /aws/amazonmq/broker/b-1234/general
      - /aws/amazonmq/broker/b-1234/audit
    retention_days: 365
    kms_key_arn: arn:aws:kms:ap-northeast-2:123456789012:key/abcd
    tags: {Project: gradestack, Environment: production}
    region: ap-northeast-2
"""

RETURN = r"""
changes:
  description: What was (or, in check mode, would be) done, one line per change, e.g. "<group> retention".
  returned: always
  type: list
  elements: str
"""

RETENTIONS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653)


def planned_changes(
    found: dict[str, Any] | None,
    found_tags: dict[str, str],
    *,
    retention_days: int,
    kms_key_arn: str,
    tags: dict[str, str],
) -> list[str]:
    """What brings one group (``found``: its DescribeLogGroups entry, or None) to the settings:
    ``create``, or any of ``retention``, ``kms key`` and ``tags``."""
    if found is None:
        return ["create"]
    changes = []
    if found.get("retentionInDays") != retention_days:
        changes.append("retention")
    if found.get("kmsKeyId") != kms_key_arn:
        changes.append("kms key")
    if any(found_tags.get(key) != value for key, value in tags.items()):
        changes.append("tags")
    return changes


def _describe(client: Any, name: str) -> dict[str, Any] | None:
    paginator = client.get_paginator("describe_log_groups")
    for page in paginator.paginate(logGroupNamePrefix=name):
        for group in page["logGroups"]:
            if group["logGroupName"] == name:
                return group
    return None


def _apply(
    client: Any, name: str, changes: list[str], *, retention_days: int, kms_key_arn: str, tags: dict[str, str]
) -> None:
    if "create" in changes:
        client.create_log_group(logGroupName=name, kmsKeyId=kms_key_arn, tags=tags)
    if "create" in changes or "retention" in changes:
        client.put_retention_policy(logGroupName=name, retentionInDays=retention_days)
    if "kms key" in changes:
        client.associate_kms_key(logGroupName=name, kmsKeyId=kms_key_arn)
    if "tags" in changes:
        client.tag_log_group(logGroupName=name, tags=tags)


def _tagged_under(client: Any, prefix: str, tags: dict[str, str]) -> list[str]:
    """The groups under ``prefix`` that carry every tag of ``tags`` (the ones this stack adopted)."""
    names = []
    for page in client.get_paginator("describe_log_groups").paginate(logGroupNamePrefix=prefix):
        for group in page["logGroups"]:
            found_tags = client.list_tags_log_group(logGroupName=group["logGroupName"])["tags"]
            if all(found_tags.get(key) == value for key, value in tags.items()):
                names.append(group["logGroupName"])
    return names


def main() -> None:
    # Imported here so that the pure function above can be unit tested without the collection.
    from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: PLC0415

    module = AnsibleAWSModule(
        argument_spec={
            "names": {"type": "list", "elements": "str"},
            "prefix": {"type": "str"},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "retention_days": {"type": "int"},
            "kms_key_arn": {"type": "str", "no_log": False},
            "tags": {"type": "dict", "default": {}},
        },
        required_if=[("state", "present", ("names", "retention_days", "kms_key_arn"))],
        required_one_of=[("names", "prefix")],
        supports_check_mode=True,
    )
    params = module.params
    if params["state"] == "present" and params["retention_days"] not in RETENTIONS:
        module.fail_json(
            msg=f"retention_days {params['retention_days']} is not a retention CloudWatch Logs accepts: {RETENTIONS}"
        )
    tags = {str(key): str(value) for key, value in params["tags"].items()}
    if not params["names"] and not tags:
        module.fail_json(
            msg="prefix selects the groups to delete by their tags: give the tags (e.g. Project, Environment)"
        )
    client = module.client("logs")
    changes: list[str] = []
    try:
        names = params["names"] or _tagged_under(client, params["prefix"], tags)
        for name in names:
            found = _describe(client, name)
            if params["state"] == "absent":
                if found is not None:
                    changes.append(f"{name} delete")
                    if not module.check_mode:
                        client.delete_log_group(logGroupName=name)
                continue
            found_tags = client.list_tags_log_group(logGroupName=name)["tags"] if found else {}
            settings = {"retention_days": params["retention_days"], "kms_key_arn": params["kms_key_arn"], "tags": tags}
            group_changes = planned_changes(found, found_tags, **settings)
            changes += [f"{name} {change}" for change in group_changes]
            if not module.check_mode:
                _apply(client, name, group_changes, **settings)
    except Exception as exc:
        module.fail_json_aws(
            exc, msg=f"could not bring the log groups under the stack's settings: {changes[-1:] or params['names']}"
        )
    module.exit_json(changed=bool(changes), changes=changes)


if __name__ == "__main__":
    main()
