#!/usr/bin/python
"""Summarise a saved Terraform plan for a human and for the destroy guard.

Reads `terraform show -json <plan>` and returns what the plan does (counts and the
addresses created, updated, replaced and destroyed), which updates are nothing but
known emulator drift (an allow-list: attributes moto does not store, so every plan
"changes" them back), and which destructive actions the guard must refuse. Values of
attributes are never returned, only names: the plan holds secrets.
"""

from __future__ import annotations

import fnmatch
import json
import os

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: terraform_plan_summary
short_description: Summarise a saved Terraform plan (counts, destructive actions, emulator drift)
options:
  project_path:
    description: The initialised Terraform working directory.
    type: path
    required: true
  plan_file:
    description: The saved plan (terraform plan -out).
    type: path
    required: true
  binary_path:
    description: The terraform binary; found on PATH when omitted.
    type: path
  ignored_drift:
    description:
      - Updates to ignore, each C({resource: <address or type glob>, attribute: <name>, reason: <why>})
        (C(resource_type) is accepted for C(resource)).
        An update all of whose changed attributes are listed is reported as drift, not as a change.
    type: list
    elements: dict
    default: []
  replace_allowed:
    description: Address or resource-type globs whose replacement is routine (e.g. aws_ecs_task_definition).
    type: list
    elements: str
    default: []
author: gradestack
"""

RETURN = r"""
has_changes:
  description: True when the plan changes anything besides ignored drift.
  type: bool
counts:
  description: Numbers of resources to add, change, replace and destroy (drift excluded).
  type: dict
destroy:
  description: Addresses to be destroyed.
  type: list
replace:
  description: Addresses to be replaced (destroyed and created again).
  type: list
refused:
  description:
    - Destroyed or replaced addresses that are not routine, and launch template AMI changes (what the guard refuses).
  type: list
ami:
  description: Launch templates whose AMI changes, as "address: old -> new" (an instance refresh replaces the hosts).
  type: list
drift:
  description: Ignored updates, as "address: attribute, ...".
  type: list
lines:
  description: The summary, one line each, for display.
  type: list
"""


def _matches(address: str, resource_type: str, pattern: str) -> bool:
    return fnmatch.fnmatchcase(address, pattern) or fnmatch.fnmatchcase(resource_type, pattern)


def changed_attributes(change: dict) -> set[str]:
    """Top-level attributes whose planned value differs from the current one (unknown counts as different)."""
    before = change.get("before") or {}
    after = change.get("after") or {}
    unknown = change.get("after_unknown") or {}
    names = {key for key in set(before) | set(after) if before.get(key) != after.get(key)}
    names |= {key for key, value in unknown.items() if _any_true(value)}
    return names


def _any_true(value: object) -> bool:
    """after_unknown mirrors the attribute's shape with booleans; any true leaf means "known after apply"."""
    if isinstance(value, dict):
        return any(_any_true(v) for v in value.values())
    if isinstance(value, list):
        return any(_any_true(v) for v in value)
    return value is True


def _only_drift(address: str, resource_type: str, change: dict, ignored_drift: list[dict], result: dict) -> bool:
    """True (and noted in result["drift"]) when every changed attribute is known emulator drift."""
    attributes = changed_attributes(change)
    ignorable = {
        rule["attribute"]
        for rule in ignored_drift
        if _matches(address, resource_type, str(rule.get("resource", rule.get("resource_type", "*"))))
    }
    if attributes and attributes <= ignorable:
        result["drift"].append(f"{address}: {', '.join(sorted(attributes))}")
        return True
    return False


def ami_change(resource_type: str, change: dict) -> str | None:
    """Return "old -> new" when a launch template's image changes (AMI ids are not secret, so they are named).

    A new AMI in the web hosts' launch template starts an instance refresh that replaces every
    web host: the summary names it and the guard treats it like a replacement.
    """
    if resource_type != "aws_launch_template":
        return None
    before = (change.get("before") or {}).get("image_id")
    after = (change.get("after") or {}).get("image_id")
    if (change.get("after_unknown") or {}).get("image_id") is True:
        after = "(known after apply)"
    if before is None or before == after:
        return None
    return f"{before} -> {after}"


def _note_ami_change(address: str, resource_type: str, change: dict, replace_allowed: list[str], result: dict) -> None:
    image = ami_change(resource_type, change)
    if not image:
        return
    result["ami"].append(f"{address}: {image}")
    if not any(_matches(address, resource_type, p) for p in replace_allowed):
        result["refused"].append(f"{address} (AMI change {image}: an instance refresh replaces every web host)")


def summarise(plan: dict, ignored_drift: list[dict], replace_allowed: list[str]) -> dict:
    result: dict = {key: [] for key in ("create", "update", "replace", "destroy", "drift", "refused", "ami")}
    result["attributes"] = {}
    for item in plan.get("resource_changes", []):
        if item.get("mode") == "data":
            continue
        address, resource_type = item["address"], item.get("type", "")
        actions = item.get("change", {}).get("actions", [])
        if actions in (["no-op"], ["read"]):
            continue
        if actions == ["create"]:
            result["create"].append(address)
        elif actions == ["delete"]:
            result["destroy"].append(address)
            if not any(_matches(address, resource_type, p) for p in replace_allowed):
                result["refused"].append(f"{address} (destroy)")
        elif sorted(actions) == ["create", "delete"]:
            if _only_drift(address, resource_type, item["change"], ignored_drift, result):
                continue
            result["replace"].append(address)
            result["attributes"][address] = sorted(changed_attributes(item["change"]))
            if not any(_matches(address, resource_type, p) for p in replace_allowed):
                reasons = [".".join(str(p) for p in path) for path in item.get("change", {}).get("replace_paths", [])]
                why = f" because of {', '.join(reasons)}" if reasons else ""
                result["refused"].append(f"{address} (replace{why})")
        elif actions == ["update"] and not _only_drift(address, resource_type, item["change"], ignored_drift, result):
            result["update"].append(address)
            result["attributes"][address] = sorted(changed_attributes(item["change"]))
            _note_ami_change(address, resource_type, item["change"], replace_allowed, result)
    outputs_changed = [
        name
        for name, change in (plan.get("output_changes") or {}).items()
        if change.get("actions") not in (["no-op"], None)
    ]
    counts = {
        "add": len(result["create"]),
        "change": len(result["update"]),
        "replace": len(result["replace"]),
        "destroy": len(result["destroy"]),
    }
    has_changes = any(counts.values()) or bool(outputs_changed)
    lines = [
        f"Plan: {counts['add']} to add, {counts['change']} to change, {counts['replace']} to replace, "
        f"{counts['destroy']} to destroy"
        + (f", {len(outputs_changed)} output(s) to update" if outputs_changed else "")
        + (f" ({len(result['drift'])} known emulator drift update(s) ignored)" if result["drift"] else "")
    ]
    lines += [f"  destroy: {a}" for a in result["destroy"]]
    attributes = result["attributes"]
    lines += [f"  replace: {a} ({', '.join(attributes.get(a, []))})" for a in result["replace"]]
    lines += [f"  update:  {a} ({', '.join(attributes.get(a, []))})" for a in result["update"]]
    if len(result["create"]) <= 20:
        lines += [f"  create:  {a}" for a in result["create"]]
    else:
        lines.append(f"  create:  {len(result['create'])} resources (first apply?)")
    lines += [f"  drift (ignored): {d}" for d in result["drift"]]
    lines += [f"  AMI change: {a} (every web host will be replaced; pin web_ami_id)" for a in result["ami"]]
    return {**result, "counts": counts, "has_changes": has_changes, "outputs_changed": outputs_changed, "lines": lines}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "project_path": {"type": "path", "required": True},
            "plan_file": {"type": "path", "required": True},
            "binary_path": {"type": "path"},
            "ignored_drift": {"type": "list", "elements": "dict", "default": []},
            "replace_allowed": {"type": "list", "elements": "str", "default": []},
        },
        supports_check_mode=True,
    )
    binary = module.params["binary_path"] or module.get_bin_path("terraform", required=True)
    plan_file = module.params["plan_file"]
    if not os.path.isfile(plan_file):
        module.fail_json(msg=f"saved plan {plan_file} does not exist")
    for rule in module.params["ignored_drift"]:
        if not rule.get("attribute") or not rule.get("reason"):
            module.fail_json(msg=f"every ignored_drift entry needs an attribute and a reason: {rule}")
    rc, out, err = module.run_command(
        [binary, "show", "-no-color", "-json", plan_file], cwd=module.params["project_path"]
    )
    if rc != 0:
        module.fail_json(msg=f"terraform show -json {plan_file} failed: {err.strip()}")
    summary = summarise(json.loads(out), module.params["ignored_drift"], module.params["replace_allowed"])
    module.exit_json(changed=False, **summary)


if __name__ == "__main__":
    main()
