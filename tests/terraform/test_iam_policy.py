"""docs/iam/: the deployer's least-privilege policy and the permissions boundary of every role it creates.

The deployer policy replaces the guide's service:* list, each statement explained; it must not
offer any known way to escalate privileges (issue #17): new users or credentials, policy
versions, trust policy changes, or a role with permissions beyond the boundary.
"""

from __future__ import annotations

import fnmatch
import json
import re
from pathlib import Path

import yaml

from testsupport.terraform import REPO

POLICY = REPO / "docs" / "iam" / "deployer-policy.json"
BOUNDARY = REPO / "docs" / "iam" / "permissions-boundary.json"
README = REPO / "docs" / "iam" / "README.md"
MANAGED_POLICY_LIMIT = 6144  # characters, whitespace excluded
BOUNDARY_NAME = "gradestack-permissions-boundary"
BOUNDARY_ARN = f"arn:aws:iam::*:policy/{BOUNDARY_NAME}"
OUR_ROLES = "arn:aws:iam::*:role/gradestack-*"

# Never granted, whatever the resource or condition: each is a known way to gain permissions.
FORBIDDEN = (
    "iam:CreateUser", "iam:CreateAccessKey", "iam:UpdateAccessKey", "iam:CreateLoginProfile",
    "iam:UpdateLoginProfile", "iam:AttachUserPolicy", "iam:PutUserPolicy", "iam:AddUserToGroup",
    "iam:AttachGroupPolicy", "iam:PutGroupPolicy", "iam:CreatePolicy", "iam:CreatePolicyVersion",
    "iam:SetDefaultPolicyVersion", "iam:DeletePolicyVersion", "iam:UpdateAssumeRolePolicy",
    "iam:DeleteRolePermissionsBoundary", "iam:DeleteUserPermissionsBoundary", "iam:PutUserPermissionsBoundary",
    "iam:CreateServiceSpecificCredential", "iam:UploadSSHPublicKey", "iam:CreateSAMLProvider",
    "iam:CreateOpenIDConnectProvider", "sts:AssumeRole", "lambda:CreateFunction", "lambda:UpdateFunctionCode",
    "cloudformation:CreateStack", "cloudformation:UpdateStack", "glue:CreateDevEndpoint",
    "codebuild:CreateProject", "sagemaker:CreateNotebookInstance", "datapipeline:CreatePipeline",
)  # fmt: skip
# Granted only for our roles and only when the role's boundary is (or becomes) ours.
NEED_BOUNDARY = (
    "iam:CreateRole", "iam:PutRolePolicy", "iam:AttachRolePolicy", "iam:PutRolePermissionsBoundary",
    "iam:DeleteRolePolicy", "iam:DetachRolePolicy",
)  # fmt: skip


def document(path: Path = POLICY) -> dict:
    data = json.loads(path.read_text())
    assert data["Version"] == "2012-10-17"
    return data


def statements(path: Path = POLICY) -> list[dict]:
    return document(path)["Statement"]


def as_list(value: object) -> list:
    return value if isinstance(value, list) else [value]


def grants(statement: dict, action: str) -> bool:
    """True when one of the statement's action patterns (IAM wildcards, case-insensitive) covers action."""
    return any(fnmatch.fnmatchcase(action.lower(), pattern.lower()) for pattern in as_list(statement["Action"]))


def allows(action: str, path: Path = POLICY) -> list[dict]:
    return [s for s in statements(path) if s["Effect"] == "Allow" and grants(s, action)]


def boundary_condition(statement: dict) -> list[str]:
    """The iam:PermissionsBoundary values a statement requires (StringEquals/StringLike/ArnEquals/ArnLike)."""
    values: list[str] = []
    for operator, keys in statement.get("Condition", {}).items():
        if operator in ("StringEquals", "StringLike", "ArnEquals", "ArnLike"):
            values += as_list(keys.get("iam:PermissionsBoundary", []))
    return values


def test_no_service_wide_wildcards() -> None:
    for statement in statements():
        actions = as_list(statement["Action"])
        assert statement["Effect"] in ("Allow", "Deny")
        if statement["Effect"] == "Deny":
            continue  # a broad deny only takes away
        for action in actions:
            assert action != "*" and not action.endswith(":*"), f"{statement['Sid']}: {action} is service-wide"


def test_wildcard_resources_are_read_only_or_constrained() -> None:
    read_only = re.compile(r"^[a-z0-9-]+:(Describe|List|Get)[A-Za-z*]*$")
    for statement in statements():
        if statement["Resource"] != "*" or statement["Effect"] == "Deny":
            continue
        actions = as_list(statement["Action"])
        if all(read_only.match(a) for a in actions):
            continue
        assert "Condition" in statement, f"{statement['Sid']} writes to Resource '*' without a condition"


# Services with one endpoint, in us-east-1: their requests carry aws:RequestedRegion = us-east-1 whatever the
# stack's region (IAM user guide, "Denies access to AWS based on the requested Region").
GLOBAL_SERVICES = ("iam", "cloudfront", "route53", "organizations", "support", "budgets", "globalaccelerator", "waf")


def test_global_service_actions_are_not_limited_to_the_stacks_region() -> None:
    """An allow of an IAM action under aws:RequestedRegion = <the stack's region> never matches in AWS (moto does not
    evaluate policies: only this test catches it)."""
    for statement in statements():
        if statement["Effect"] != "Allow":
            continue
        regions = [
            value
            for operator, keys in statement.get("Condition", {}).items()
            for value in as_list(keys.get("aws:RequestedRegion", []))
        ]
        if not regions or "us-east-1" in regions:
            continue
        global_actions = [a for a in as_list(statement["Action"]) if a.split(":")[0] in GLOBAL_SERVICES]
        assert not global_actions, f"{statement['Sid']}: {global_actions} are always requested in us-east-1"


def test_every_statement_is_explained() -> None:
    sids = [s["Sid"] for s in statements()]
    assert len(sids) == len(set(sids)), "statement ids must be unique"
    readme = README.read_text()
    for sid in sids:
        assert re.search(rf"^\| `{sid}` \| .{{20,}} \|$", readme, re.MULTILINE), f"README gives no reason for {sid}"


def test_documented_split_fits_managed_policy_limits() -> None:
    parts = [slice(0, 11), slice(11, 26), slice(26, None)]
    assert "for range in 0:11 11:26 26:" in README.read_text()
    covered = []
    for part in parts:
        chunk = statements()[part]
        covered += chunk
        size = len(json.dumps({"Version": "2012-10-17", "Statement": chunk}, separators=(",", ":")))
        assert size <= MANAGED_POLICY_LIMIT, f"part {part} is {size} characters"
    assert covered == statements()


# --- Privilege escalation (issue #17) ---------------------------------------------------------


def test_no_known_escalation_path_is_granted() -> None:
    for action in FORBIDDEN:
        granted = [s["Sid"] for s in allows(action)]
        assert not granted, f"{action} is a privilege escalation path, granted by {granted}"
    for statement in statements():
        if statement["Effect"] == "Allow":
            assert not any(grants(statement, a) for a in ("iam:*", "sts:*")), statement["Sid"]


def test_role_permissions_require_the_boundary_and_our_roles() -> None:
    for action in NEED_BOUNDARY:
        granting = allows(action)
        assert granting, f"{action} is needed by Terraform for the stack's roles"
        for statement in granting:
            scope = as_list(statement["Resource"])
            assert scope == [OUR_ROLES], f"{statement['Sid']}: {action} not limited to our roles"
            assert boundary_condition(statement) == [BOUNDARY_ARN], (
                f"{statement['Sid']}: {action} without the condition iam:PermissionsBoundary = {BOUNDARY_ARN}"
            )


def test_explicit_denies_hold_even_if_other_policies_allow_more() -> None:
    denies = [s for s in statements() if s["Effect"] == "Deny"]
    unbounded = [s for s in denies if s.get("Condition", {}).get("StringNotLike", {}).get("iam:PermissionsBoundary")]
    assert unbounded and unbounded[0]["Resource"] == "*"
    assert unbounded[0]["Condition"]["StringNotLike"]["iam:PermissionsBoundary"] == BOUNDARY_ARN
    for action in NEED_BOUNDARY:
        assert grants(unbounded[0], action), f"{action} is not denied for roles without the boundary"
    unconditional = [s for s in denies if "Condition" not in s and s["Resource"] == "*"]
    for action in ("iam:DeleteRolePermissionsBoundary", "iam:CreatePolicyVersion", "iam:SetDefaultPolicyVersion",
                   "iam:UpdateAssumeRolePolicy", "iam:DeletePolicy"):  # fmt: skip
        assert any(grants(s, action) for s in unconditional), f"{action} is not explicitly denied"


def test_pass_role_is_scoped_to_our_roles_and_services() -> None:
    granting = allows("iam:PassRole")
    assert granting
    for statement in granting:
        assert as_list(statement["Resource"]) == [OUR_ROLES], statement["Sid"]
        services = statement.get("Condition", {}).get("StringEquals", {}).get("iam:PassedToService")
        assert services and "*" not in "".join(as_list(services)), f"{statement['Sid']}: PassRole to any service"


def _denies_unless_passed_to_ecs_tasks(statement: dict, action: str) -> bool:
    """True when the deny covers action whenever the request is not a PassRole to ECS tasks.

    A negated condition holds when its key is absent (AWS: "the condition is true"), and only
    iam:PassRole carries iam:PassedToService, so such a deny is unconditional for every other action.
    """
    if statement["Effect"] != "Deny" or statement["Resource"] != "*" or not grants(statement, action):
        return False
    condition = statement.get("Condition")
    if condition is None:
        return True
    return condition == {"StringNotEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}}


def test_boundary_policy_allows_no_identity_changes() -> None:
    boundary = statements(BOUNDARY)
    for statement in boundary:
        if statement["Effect"] != "Allow":
            continue
        for action in as_list(statement["Action"]):
            assert action != "*" and not action.endswith(":*"), f"boundary {statement['Sid']}: {action} is service-wide"
            if action == "iam:PassRole":
                continue  # checked below: our roles, to ECS tasks only
            assert not action.startswith(("iam:", "sts:", "organizations:", "account:")), (
                f"boundary {statement['Sid']} allows {action}"
            )
    for action in (*FORBIDDEN, *NEED_BOUNDARY, "iam:CreateRole", "iam:PassRole", "sts:AssumeRole"):
        if not action.startswith(("iam:", "sts:")):
            continue
        assert any(_denies_unless_passed_to_ecs_tasks(s, action) for s in boundary), (
            f"the boundary does not deny {action}"
        )
    for action in ("sts:AssumeRole", "organizations:CreateAccount", "account:PutContactInformation"):
        unconditional = [s for s in boundary if s["Effect"] == "Deny" and s["Resource"] == "*" and "Condition" not in s]
        assert any(grants(s, action) for s in unconditional), f"the boundary does not always deny {action}"
    # Bucket and parameter access stays inside the project's names.
    for action, prefix in (("s3:GetObject", "arn:aws:s3:::gradestack-"), ("ssm:GetParameter", "arn:aws:ssm:")):
        for statement in allows(action, BOUNDARY):
            for resource in as_list(statement["Resource"]):
                assert resource.startswith(prefix) and ("gradestack" in resource or "AmazonCloudWatch-" in resource)


def test_boundary_lets_roles_pass_only_our_roles_to_ecs_tasks() -> None:
    """The verifier schedule's role hands the verifier's roles to ECS: the boundary's only IAM allowance."""
    granting = allows("iam:PassRole", BOUNDARY)
    assert [s["Sid"] for s in granting] == ["PassOurRolesToEcsTasks"]
    (statement,) = granting
    assert as_list(statement["Action"]) == ["iam:PassRole"]
    assert as_list(statement["Resource"]) == [OUR_ROLES]
    assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": ["ecs-tasks.amazonaws.com"]}}
    # Starting tasks: only task definitions of ours.
    (run,) = allows("ecs:RunTask", BOUNDARY)
    assert as_list(run["Resource"]) == ["arn:aws:ecs:ap-northeast-2:*:task-definition/gradestack-*:*"]


def test_boundary_lets_the_verifier_delete_only_its_canaries() -> None:
    deleting = allows("s3:DeleteObject", BOUNDARY)
    assert deleting
    for statement in deleting:
        assert as_list(statement["Resource"]) == ["arn:aws:s3:::gradestack-*/verify/*"], statement["Sid"]


def test_deployer_manages_only_the_stacks_schedules() -> None:
    for action in ("scheduler:CreateSchedule", "scheduler:UpdateSchedule", "scheduler:DeleteSchedule",
                   "scheduler:GetSchedule"):  # fmt: skip
        granting = allows(action)
        assert granting, f"{action} is needed for the verifier schedule"
        for statement in granting:
            assert as_list(statement["Resource"]) == [
                "arn:aws:scheduler:ap-northeast-2:*:schedule/default/gradestack-*"
            ]
    # Nothing else of EventBridge Scheduler (schedule groups, tags, other accounts' targets).
    for statement in statements():
        if statement["Effect"] == "Allow":
            for action in as_list(statement["Action"]):
                if action.startswith("scheduler:"):
                    assert action.endswith("Schedule"), f"{statement['Sid']}: {action}"
    # The schedule's role may be passed to EventBridge Scheduler, and only our roles are passable.
    services = [
        service
        for statement in allows("iam:PassRole")
        for service in as_list(statement["Condition"]["StringEquals"]["iam:PassedToService"])
    ]
    assert "scheduler.amazonaws.com" in services


def test_boundary_name_matches_group_vars_and_the_readme() -> None:
    settings = yaml.safe_load((REPO / "group_vars" / "all" / "aws_stack.yml").read_text())
    assert settings["iam_permissions_boundary"] == BOUNDARY_NAME
    readme = README.read_text()
    assert f"--policy-name {BOUNDARY_NAME}" in readme and "permissions-boundary.json" in readme
    text = POLICY.read_text()
    assert text.count(BOUNDARY_ARN) >= 3
