"""Whether an IAM policy document allows an action at all, from its Action/NotAction patterns and effects.

Resource- and condition-agnostic on purpose: an action is allowed when some Allow statement names it
(by Action or NotAction, with IAM's `*` and `?` wildcards, case-insensitively as IAM compares action
names) and no Deny statement that applies to every request names it: a Deny that is unconditional and
whose Resource is "*" (a conditional Deny, or one scoped to some resources, may not apply to the call).
This answers "can the principal make this call for some resource, in some context?", which catches the
common break, an action missing from the policy; whether its resources and conditions fit is what
tests/terraform/test_iam_policy.py checks statement by statement.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

Statement = Mapping[str, Any]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@cache
def _pattern(wildcard: str) -> re.Pattern[str]:
    """IAM's action wildcards: `*` any run of characters, `?` one character; nothing else is special."""
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in wildcard)
    return re.compile(regex, re.IGNORECASE)


def names(statement: Statement, action: str) -> bool:
    """Does the statement's Action (or NotAction) cover ``action`` (`service:Operation`)?"""
    if "Action" in statement:
        return any(_pattern(p).fullmatch(action) for p in _as_list(statement["Action"]))
    if "NotAction" in statement:
        return not any(_pattern(p).fullmatch(action) for p in _as_list(statement["NotAction"]))
    raise ValueError(f"statement {statement.get('Sid', '?')} has neither Action nor NotAction")


def _denies_every_request(statement: Statement) -> bool:
    return (
        statement.get("Effect") == "Deny"
        and not statement.get("Condition")
        and "NotResource" not in statement
        and "*" in _as_list(statement.get("Resource", "*"))
    )


def statements(policy: Mapping[str, Any]) -> list[Statement]:
    return _as_list(policy["Statement"])


def allows(policy: Mapping[str, Any], action: str) -> bool:
    """Is ``action`` allowed at all by ``policy`` (resource- and condition-agnostic, see the module docstring)?"""
    granted = any(s.get("Effect") == "Allow" and names(s, action) for s in statements(policy))
    return granted and not any(_denies_every_request(s) and names(s, action) for s in statements(policy))


def not_allowed(policy: Mapping[str, Any], actions: Iterable[str]) -> list[str]:
    """Every distinct action of ``actions`` that ``policy`` does not allow at all, sorted."""
    return sorted({action for action in actions if not allows(policy, action)})


def _resource_matches(statement: Statement, resource: str) -> bool:
    """IAM's resource wildcards (`*`, `?`; ARNs compare case-sensitively); a NotResource statement inverts."""
    if "NotResource" in statement:
        patterns = _as_list(statement["NotResource"])
        return not any(re.fullmatch(_pattern(p).pattern, resource) for p in patterns)
    return any(re.fullmatch(_pattern(p).pattern, resource) for p in _as_list(statement.get("Resource", "*")))


def allows_on(policy: Mapping[str, Any], action: str, resource: str) -> bool:
    """Is ``action`` on ``resource`` allowed by ``policy``, ignoring conditions?

    Unlike allows(), a Deny counts whenever it names the action and the resource: a conditional Deny
    is taken to apply, so the answer errs towards "not allowed" (for checks that a principal can reach
    what it needs, and no more, through unconditional statements).
    """
    matching = [s for s in statements(policy) if names(s, action) and _resource_matches(s, resource)]
    return any(s.get("Effect") == "Allow" for s in matching) and not any(s.get("Effect") == "Deny" for s in matching)
