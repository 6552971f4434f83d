"""roles/terraform_stack's plan summary names an AMI change of the web hosts and the guard refuses it (issue #17)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
_SPEC = importlib.util.spec_from_file_location(
    "terraform_plan_summary", REPO / "roles" / "terraform_stack" / "library" / "terraform_plan_summary.py"
)
summary = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(summary)

TEMPLATE = "module.compute.aws_launch_template.web"


def _plan(before: str, after: str | None, unknown: bool = False) -> dict:
    change = {
        "actions": ["update"],
        "before": {"image_id": before, "user_data": "same"},
        "after": {"image_id": after, "user_data": "same"},
        "after_unknown": {"image_id": True} if unknown else {},
    }
    item = {"address": TEMPLATE, "type": "aws_launch_template", "mode": "managed", "change": change}
    return {"resource_changes": [item]}


def test_an_ami_change_is_named_and_refused() -> None:
    result = summary.summarise(_plan("ami-0aaa1111", "ami-0bbb2222"), [], ["aws_ecs_task_definition"])
    assert result["ami"] == [f"{TEMPLATE}: ami-0aaa1111 -> ami-0bbb2222"]
    assert any("AMI change: " in line and "ami-0bbb2222" in line for line in result["lines"])
    assert result["refused"] == [
        f"{TEMPLATE} (AMI change ami-0aaa1111 -> ami-0bbb2222: an instance refresh replaces every web host)"
    ]


def test_an_image_known_only_after_apply_counts_as_a_change() -> None:
    result = summary.summarise(_plan("ami-0aaa1111", None, unknown=True), [], [])
    assert result["ami"] == [f"{TEMPLATE}: ami-0aaa1111 -> (known after apply)"]


def test_other_launch_template_updates_are_not_ami_changes() -> None:
    result = summary.summarise(_plan("ami-0aaa1111", "ami-0aaa1111"), [], [])
    assert result["ami"] == [] and result["refused"] == []
