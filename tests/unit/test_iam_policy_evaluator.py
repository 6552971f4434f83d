"""testsupport/iam_policy.py: which actions a policy allows at all (Action/NotAction wildcards, Deny)."""

from __future__ import annotations

import json

import pytest

from testsupport.iam_policy import allows, not_allowed
from testsupport.terraform import REPO


def policy(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action: object, **extra: object) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": "*", **extra}


def deny(action: object, **extra: object) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": "*", **extra}


@pytest.mark.parametrize(
    ("pattern", "action", "expected"),
    [
        ("ec2:RunInstances", "ec2:RunInstances", True),
        ("ec2:RunInstances", "ec2:RunInstance", False),
        ("ec2:Describe*", "ec2:DescribeVpcs", True),
        ("ec2:Describe*", "ec2:CreateVpc", False),
        ("s3:GetBucket*", "s3:GetBucketPolicy", True),
        ("s3:GetBucket*", "s3:GetObject", False),
        ("ecs:List*", "ecs:ListTasks", True),
        ("kms:ReEncrypt?rom", "kms:ReEncryptFrom", True),
        ("kms:ReEncrypt?rom", "kms:ReEncryptTo", False),
        ("*", "iam:CreateUser", True),
        ("ec2:*", "ecs:ListTasks", False),  # the service prefix is part of the name
        ("ec2:describevpcs", "ec2:DescribeVpcs", True),  # IAM compares action names case-insensitively
        ("sqs:Send.Message", "sqs:SendXMessage", False),  # "." is not a wildcard
    ],
)
def test_action_wildcards(pattern: str, action: str, expected: bool):
    assert allows(policy(allow(pattern)), action) is expected


def test_a_list_of_actions_and_a_single_statement_object():
    document = {"Version": "2012-10-17", "Statement": allow(["ssm:GetParameter", "ssm:PutParameter"])}
    assert allows(document, "ssm:PutParameter")
    assert not allows(document, "ssm:DeleteParameter")


def test_nothing_is_allowed_without_an_allow():
    assert not allows(policy(), "sts:GetCallerIdentity")
    assert not allows(policy(deny("*")), "sts:GetCallerIdentity")


def test_an_unconditional_deny_on_every_resource_wins():
    document = policy(allow("iam:*"), deny(["iam:DeletePolicy", "iam:CreatePolicyVersion"]))
    assert not allows(document, "iam:DeletePolicy")
    assert not allows(document, "iam:createpolicyversion")
    assert allows(document, "iam:GetRole")


def test_a_deny_that_may_not_apply_leaves_the_action_allowed():
    conditional = deny("iam:CreateRole", Condition={"StringNotLike": {"iam:PermissionsBoundary": "arn:x"}})
    scoped = {"Effect": "Deny", "Action": "iam:DeleteRole", "Resource": "arn:aws:iam::*:role/admin"}
    not_resource = {"Effect": "Deny", "Action": "iam:TagRole", "NotResource": "arn:aws:iam::*:role/gradestack-*"}
    document = policy(allow("iam:*"), conditional, scoped, not_resource)
    assert allows(document, "iam:CreateRole")
    assert allows(document, "iam:DeleteRole")
    assert allows(document, "iam:TagRole")


def test_not_action_allows_everything_but_what_it_names():
    document = policy({"Effect": "Allow", "NotAction": ["iam:*", "sts:AssumeRole"], "Resource": "*"})
    assert allows(document, "ec2:RunInstances")
    assert not allows(document, "iam:CreateUser")
    assert not allows(document, "sts:AssumeRole")
    assert allows(document, "sts:GetCallerIdentity")


def test_not_action_deny_denies_everything_but_what_it_names():
    document = policy(allow("*"), {"Effect": "Deny", "NotAction": "s3:Get*", "Resource": "*"})
    assert allows(document, "s3:GetObject")
    assert not allows(document, "s3:PutObject")


def test_a_statement_without_action_is_an_error():
    with pytest.raises(ValueError, match="neither Action nor NotAction"):
        allows(policy({"Effect": "Allow", "Sid": "Broken", "Resource": "*"}), "s3:GetObject")


def test_not_allowed_lists_each_missing_action_once_sorted():
    document = policy(allow(["ec2:Describe*", "s3:GetObject"]), deny("s3:GetObject"))
    calls = ["s3:PutObject", "ec2:DescribeVpcs", "s3:GetObject", "s3:PutObject", "ec2:CreateVpc"]
    assert not_allowed(document, calls) == ["ec2:CreateVpc", "s3:GetObject", "s3:PutObject"]


def test_the_deployer_policy_allows_a_deploy_call_and_denies_the_escalations():
    document = json.loads((REPO / "docs" / "iam" / "deployer-policy.json").read_text())
    assert allows(document, "ec2:RunInstances")
    assert allows(document, "s3:GetBucketVersioning")
    assert allows(document, "iam:CreateRole")  # allowed within the boundary (its condition is not evaluated here)
    assert not allows(document, "iam:CreatePolicyVersion")  # DenyEscapingTheBoundary
    assert not allows(document, "iam:CreateUser")  # never granted
