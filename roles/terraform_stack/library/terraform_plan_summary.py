#!/usr/bin/python
"""Summarise a saved Terraform plan for a human and for the destroy guard.

Reads `terraform show -json <plan>` and returns what the plan does (counts and the
addresses created, updated, replaced and destroyed), which updates are nothing but
known emulator drift (an allow-list: attributes moto does not store, so every plan
"changes" them back), which destructive actions the guard must refuse, and the
estimated monthly cost of the environment before and after the plan (from a dated
price table, terraform/prices/<region>.yml). Values of attributes are never returned,
only names, sizes and counts: the plan holds secrets.
"""

from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Callable

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
  prices:
    description:
      - The price table (terraform/prices/<region>.yml, read by the role); empty: no cost estimate.
    type: dict
    default: {}
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
cost:
  description: Estimated monthly cost in USD, C({before, after, categories_before, categories_after, unpriced}).
  type: dict
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


# --- Cost ---------------------------------------------------------------------------------------

CATEGORIES = {
    "broker": "broker",
    "database": "database",
    "grading": "grading tasks",
    "endpoints": "VPC endpoints",
    "nat": "NAT gateways",
    "web": "web hosts",
    "alb": "load balancer",
    "monitoring": "logs/alarms/keys",
}


def _first(resources: list[tuple[str, str, dict]], resource_type: str) -> dict:
    return next((values for _, rtype, values in resources if rtype == resource_type), {})


def _count_private_subnets(resources: list[tuple[str, str, dict]]) -> int:
    return sum(1 for address, rtype, _ in resources if rtype == "aws_subnet" and ".private" in address)


def _hours(prices: dict, *names: str) -> float:
    return sum(prices["hourly"][name] for name in names) * prices["hours_per_month"]


def _web_hosts(values: dict, resources: list[tuple[str, str, dict]], prices: dict) -> float:
    template = _first(resources, "aws_launch_template")
    count = values.get("desired_capacity") or values.get("min_size") or 0
    gib = sum((d.get("ebs") or [{}])[0].get("volume_size") or 0 for d in template.get("block_device_mappings") or [])
    instance = prices["ec2"][template["instance_type"]] * prices["hours_per_month"]
    return count * (instance + gib * prices["monthly"]["ebs_gp3_gb"])


def _database(values: dict, _resources: list, prices: dict) -> float:
    copies = 2 if values.get("multi_az") else 1
    instance = prices["rds"][values["instance_class"]] * prices["hours_per_month"]
    return copies * (instance + (values.get("allocated_storage") or 0) * prices["monthly"]["rds_storage_gb"])


def _broker(values: dict, _resources: list, prices: dict) -> float:
    # Active/standby runs (and bills) two broker instances.
    copies = 2 if values.get("deployment_mode") == "ACTIVE_STANDBY_MULTI_AZ" else 1
    return copies * prices["mq"][values["host_instance_type"]] * prices["hours_per_month"]


def _grading(values: dict, resources: list[tuple[str, str, dict]], prices: dict) -> float:
    task = _first(resources, "aws_ecs_task_definition")
    vcpu, gib = int(task["cpu"]) / 1024, int(task["memory"]) / 1024
    hourly = prices["hourly"]
    per_task = (vcpu * hourly["fargate_vcpu"] + gib * hourly["fargate_gb"]) * prices["hours_per_month"]
    return (values.get("desired_count") or 0) * per_task


def _endpoint(values: dict, resources: list[tuple[str, str, dict]], prices: dict) -> float:
    if values.get("vpc_endpoint_type") != "Interface":
        return 0.0  # gateway endpoints (S3) are free
    # The subnets are known after apply on a first plan: one per private subnet, as the module places them.
    zones = len(values.get("subnet_ids") or []) or _count_private_subnets(resources)
    return zones * _hours(prices, "interface_endpoint")


def _monthly(name: str, factor: str | None = None) -> Callable[[dict, list, dict], float]:
    def cost(_values: dict, _resources: list, prices: dict) -> float:
        return prices["monthly"][name] * (prices["assumptions"][factor] if factor else 1)

    return cost


# Resource type -> (category, USD per month of one resource from its planned values).
COSTS: dict[str, tuple[str, Callable[[dict, list, dict], float]]] = {
    "aws_nat_gateway": ("nat", lambda _v, _r, p: _hours(p, "nat_gateway")),
    "aws_eip": ("nat", lambda _v, _r, p: _hours(p, "public_ipv4")),
    "aws_lb": ("alb", lambda _v, _r, p: _hours(p, "alb") + _hours(p, "alb_lcu") * p["assumptions"]["alb_lcus"]),
    "aws_autoscaling_group": ("web", _web_hosts),
    "aws_db_instance": ("database", _database),
    "aws_mq_broker": ("broker", _broker),
    "aws_ecs_service": ("grading", _grading),
    "aws_vpc_endpoint": ("endpoints", _endpoint),
    "aws_cloudwatch_log_group": ("monitoring", _monthly("log_ingestion_gb", "log_gb_per_group")),
    "aws_cloudwatch_metric_alarm": ("monitoring", _monthly("alarm")),
    "aws_cloudwatch_dashboard": ("monitoring", _monthly("dashboard")),
    "aws_kms_key": ("monitoring", _monthly("kms_key")),
}


def monthly_cost(resources: list[tuple[str, str, dict]], prices: dict) -> tuple[dict[str, float], list[str]]:
    """USD per month by category of (address, type, values) resources, and the addresses the table cannot price."""
    categories: dict[str, float] = {}
    unpriced: list[str] = []
    for address, rtype, values in resources:
        if rtype not in COSTS:
            continue  # free by itself, or usage-based (S3, traffic)
        category, cost = COSTS[rtype]
        try:
            amount = cost(values, resources, prices)
        except (KeyError, TypeError, ValueError):
            unpriced.append(address)
            continue
        if amount:
            categories[category] = categories.get(category, 0.0) + amount
    return categories, unpriced


def estimate(plan: dict, prices: dict) -> dict:
    """The environment's monthly cost now (the plan's prior values) and after the plan."""
    before: list[tuple[str, str, dict]] = []
    after: list[tuple[str, str, dict]] = []
    for item in plan.get("resource_changes", []):
        if item.get("mode") == "data":
            continue
        change = item.get("change", {})
        if change.get("before") is not None:
            before.append((item["address"], item.get("type", ""), change["before"]))
        if change.get("after") is not None and change.get("actions") != ["delete"]:
            after.append((item["address"], item.get("type", ""), change["after"]))
    categories_before, _ = monthly_cost(before, prices)
    categories_after, unpriced = monthly_cost(after, prices)
    return {
        "before": round(sum(categories_before.values()), 2),
        "after": round(sum(categories_after.values()), 2),
        "categories_before": {k: round(v, 2) for k, v in categories_before.items()},
        "categories_after": {k: round(v, 2) for k, v in categories_after.items()},
        "unpriced": unpriced,
    }


def cost_lines(cost: dict, prices: dict) -> list[str]:
    difference = cost["after"] - cost["before"]
    lines = [
        f"Estimated monthly cost: ${cost['after']:,.0f} after this plan, ${cost['before']:,.0f} now "
        f"({'+' if difference >= 0 else '-'}${abs(difference):,.0f}); {prices['region']} on-demand prices of "
        f"{prices['date']} (terraform/prices/{prices['region']}.yml), usage (traffic, S3) excluded"
    ]
    by_size = sorted(cost["categories_after"].items(), key=lambda item: -item[1])
    lines.append("  " + ", ".join(f"{CATEGORIES.get(k, k)} ${v:,.0f}" for k, v in by_size))
    changed = sorted(set(cost["categories_after"]) | set(cost["categories_before"]))
    for key in changed:
        old, new = cost["categories_before"].get(key, 0.0), cost["categories_after"].get(key, 0.0)
        if round(old) != round(new) and cost["before"]:
            lines.append(f"  {CATEGORIES.get(key, key)}: ${old:,.0f} -> ${new:,.0f} a month")
    if cost["unpriced"]:
        lines.append(f"  not in the price table (add them): {', '.join(cost['unpriced'])}")
    return lines


def summarise(plan: dict, ignored_drift: list[dict], replace_allowed: list[str], prices: dict | None = None) -> dict:
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
    cost = estimate(plan, prices) if prices else {}
    lines += cost_lines(cost, prices) if cost else []
    return {
        **result,
        "counts": counts,
        "has_changes": has_changes,
        "outputs_changed": outputs_changed,
        "cost": cost,
        "lines": lines,
    }


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "project_path": {"type": "path", "required": True},
            "plan_file": {"type": "path", "required": True},
            "binary_path": {"type": "path"},
            "ignored_drift": {"type": "list", "elements": "dict", "default": []},
            "replace_allowed": {"type": "list", "elements": "str", "default": []},
            "prices": {"type": "dict", "default": {}},
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
    summary = summarise(
        json.loads(out), module.params["ignored_drift"], module.params["replace_allowed"], module.params["prices"]
    )
    module.exit_json(changed=False, **summary)


if __name__ == "__main__":
    main()
