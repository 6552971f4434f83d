"""docs/iam/deployer-policy.json: least privilege instead of the guide's service:* list, each statement explained."""

from __future__ import annotations

import json
import re

from testsupport.terraform import REPO

POLICY = REPO / "docs" / "iam" / "deployer-policy.json"
README = REPO / "docs" / "iam" / "README.md"
MANAGED_POLICY_LIMIT = 6144  # characters, whitespace excluded


def statements() -> list[dict]:
    document = json.loads(POLICY.read_text())
    assert document["Version"] == "2012-10-17"
    return document["Statement"]


def test_no_service_wide_wildcards() -> None:
    for statement in statements():
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        assert statement["Effect"] == "Allow"
        for action in actions:
            assert action != "*" and not action.endswith(":*"), f"{statement['Sid']}: {action} is service-wide"


def test_wildcard_resources_are_read_only_or_constrained() -> None:
    read_only = re.compile(r"^[a-z0-9-]+:(Describe|List|Get)[A-Za-z*]*$")
    for statement in statements():
        if statement["Resource"] != "*":
            continue
        actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
        if all(read_only.match(a) for a in actions):
            continue
        assert "Condition" in statement, f"{statement['Sid']} writes to Resource '*' without a condition"


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
