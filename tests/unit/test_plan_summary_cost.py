"""The plan summary's cost estimate (issue #17, finding 12): the environment's monthly cost, the plan's difference."""

from __future__ import annotations

import importlib.util
import re
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
_SPEC = importlib.util.spec_from_file_location(
    "terraform_plan_summary", REPO / "roles" / "terraform_stack" / "library" / "terraform_plan_summary.py"
)
summary = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(summary)

TABLE = REPO / "terraform" / "prices" / "ap-northeast-2.yml"
# A small table with round numbers, so that every expected figure is plain arithmetic.
PRICES = {
    "region": "ap-northeast-2",
    "date": "2026-11-30",
    "hours_per_month": 100,
    "hourly": {"nat_gateway": 1.0, "public_ipv4": 0.1, "alb": 0.5, "alb_lcu": 0.1, "interface_endpoint": 0.01,
               "fargate_vcpu": 0.04, "fargate_gb": 0.005},
    "ec2": {"t3.small": 0.02},
    "rds": {"db.t3.medium": 0.1},
    "mq": {"mq.m5.large": 0.4},
    "monthly": {"rds_storage_gb": 0.1, "ebs_gp3_gb": 0.1, "log_ingestion_gb": 0.5, "alarm": 0.1, "dashboard": 3.0,
                "kms_key": 1.0},
    "assumptions": {"alb_lcus": 2, "log_gb_per_group": 2},
}  # fmt: skip


def _resource(address: str, values: dict, before: dict | None = None, actions: list[str] | None = None) -> dict:
    rtype = re.sub(r"\[.*?\]", "", address).split(".")[-2]
    actions = actions or (["create"] if before is None else (["no-op"] if before == values else ["update"]))
    change = {"actions": actions, "before": before, "after": values, "after_unknown": {}}
    return {"address": address, "type": rtype, "mode": "managed", "change": change}


def _stack(mq_mode: str = "ACTIVE_STANDBY_MULTI_AZ") -> list[tuple[str, dict]]:
    return [
        ("module.vpc.aws_nat_gateway.this[0]", {}),
        ("module.vpc.aws_nat_gateway.this[1]", {}),
        ("module.vpc.aws_eip.nat[0]", {}),
        ("module.vpc.aws_subnet.private[0]", {}),
        ("module.vpc.aws_subnet.private[1]", {}),
        ('module.vpc.aws_vpc_endpoint.interface["ssm"]', {"vpc_endpoint_type": "Interface"}),
        ('module.vpc.aws_vpc_endpoint.gateway["s3"]', {"vpc_endpoint_type": "Gateway"}),
        ("module.compute.aws_lb.this", {}),
        ("module.compute.aws_launch_template.web",
         {"instance_type": "t3.small", "block_device_mappings": [{"ebs": [{"volume_size": 20}]}]}),
        ("module.compute.aws_autoscaling_group.web", {"desired_capacity": 2, "min_size": 2}),
        ("module.database.aws_db_instance.this",
         {"instance_class": "db.t3.medium", "multi_az": True, "allocated_storage": 20}),
        ("module.messaging.aws_mq_broker.this", {"host_instance_type": "mq.m5.large", "deployment_mode": mq_mode}),
        ("module.ecs_grading.aws_ecs_task_definition.grading", {"cpu": "1024", "memory": "2048"}),
        ("module.ecs_grading.aws_ecs_service.grading", {"desired_count": 3}),
        ("module.ecs_grading.aws_cloudwatch_log_group.grading", {}),
        ("module.monitoring.aws_cloudwatch_metric_alarm.ecs_cpu_high", {}),
        ("module.monitoring.aws_cloudwatch_dashboard.main", {}),
        ("aws_kms_key.main", {}),
        ("module.storage.aws_s3_bucket.grading", {}),
    ]  # fmt: skip


# The figures of _stack() under PRICES, by category.
EXPECTED = {
    "nat": 2 * 100 + 10,  # two gateways, one address
    "endpoints": 2 * 0.01 * 100,  # one interface endpoint in two zones (its subnets known after apply)
    "alb": (0.5 + 2 * 0.1) * 100,
    "web": 2 * (0.02 * 100 + 20 * 0.1),
    "database": 2 * (0.1 * 100 + 20 * 0.1),
    "broker": 2 * 0.4 * 100,
    "grading": 3 * (1 * 0.04 + 2 * 0.005) * 100,
    "monitoring": 2 * 0.5 + 0.1 + 3.0 + 1.0,
}


def test_first_apply_costs_everything_it_creates() -> None:
    plan = {"resource_changes": [_resource(address, values) for address, values in _stack()]}
    result = summary.summarise(plan, [], [], PRICES)
    assert result["cost"]["categories_after"] == pytest.approx(EXPECTED)
    total = sum(EXPECTED.values())
    assert result["cost"]["before"] == 0 and result["cost"]["after"] == pytest.approx(total)
    assert result["cost"]["unpriced"] == []
    line = next(line for line in result["lines"] if line.startswith("Estimated monthly cost: "))
    assert line.startswith(f"Estimated monthly cost: ${total:,.0f} after this plan, $0 now (+${total:,.0f}); ")
    assert "ap-northeast-2 on-demand prices of 2026-11-30" in line
    # The largest item first.
    assert result["lines"][result["lines"].index(line) + 1] == (
        "  NAT gateways $210, broker $80, load balancer $70, database $24, grading tasks $15, web hosts $8, "
        "logs/alarms/keys $5, VPC endpoints $2"
    )


def test_a_cheaper_broker_shows_the_difference() -> None:
    before = dict(_stack())
    after = dict(_stack(mq_mode="SINGLE_INSTANCE"))
    plan = {"resource_changes": [_resource(a, after[a], before=before[a]) for a in after]}
    result = summary.summarise(plan, [], [], PRICES)
    assert result["cost"]["before"] - result["cost"]["after"] == pytest.approx(40)
    assert "  broker: $80 -> $40 a month" in result["lines"]
    assert any(re.match(r"Estimated monthly cost: \$[\d,]+ after this plan, \$[\d,]+ now \(-\$40\)", line)
               for line in result["lines"])  # fmt: skip


def test_destroyed_resources_leave_the_estimate() -> None:
    stack = dict(_stack())
    changes = [_resource(a, v, before=v) for a, v in stack.items() if "aws_nat_gateway" not in a]
    changes.append(
        {"address": "module.vpc.aws_nat_gateway.this[1]", "type": "aws_nat_gateway", "mode": "managed",
         "change": {"actions": ["delete"], "before": {}, "after": None}}
    )  # fmt: skip
    result = summary.summarise({"resource_changes": changes}, [], [], PRICES)
    assert result["cost"]["categories_after"]["nat"] == pytest.approx(10)
    assert result["cost"]["categories_before"]["nat"] == pytest.approx(110)


def test_an_unknown_size_is_named_not_guessed() -> None:
    stack = dict(_stack())
    stack["module.messaging.aws_mq_broker.this"] = {"host_instance_type": "mq.m7.huge", "deployment_mode": "X"}
    result = summary.summarise({"resource_changes": [_resource(a, v) for a, v in stack.items()]}, [], [], PRICES)
    assert result["cost"]["unpriced"] == ["module.messaging.aws_mq_broker.this"]
    assert "  not in the price table (add them): module.messaging.aws_mq_broker.this" in result["lines"]


def test_no_table_no_estimate() -> None:
    plan = {"resource_changes": [_resource(address, values) for address, values in _stack()]}
    result = summary.summarise(plan, [], [])
    assert result["cost"] == {} and not [line for line in result["lines"] if "cost" in line]


@pytest.mark.parametrize("environment", ["dev", "staging", "production"])
def test_the_table_prices_every_size_the_environments_choose(environment: str) -> None:
    """A size changed in group_vars without its price would leave the estimate short: the table must follow."""
    table = yaml.safe_load(TABLE.read_text())
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", table["date"])
    settings: dict = {}
    for path in [*sorted((REPO / "group_vars" / "all").glob("*.yml")), REPO / "group_vars" / f"{environment}.yml"]:
        settings.update(yaml.safe_load(path.read_text()) or {})
    assert settings["db_instance_class"] in table["rds"]
    assert settings["mq_instance_type"] in table["mq"]
    web_type = settings.get("web_instance_type", "t3.small")
    assert web_type in table["ec2"]
