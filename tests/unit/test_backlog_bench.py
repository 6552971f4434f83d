"""The backlog per task the grading autoscaler tracks: bench/backlog_bench.py's function against the Terraform policy.

The pure tests pin what the function does with each input; the Terraform tests render the
policy's metric-math expression and metric ids, and the dashboard widget that shows "the
autoscaler's figure", with Terraform itself (``terraform console``) for one broker instance
and for an active/standby pair, evaluate the rendered expression as
CloudWatch evaluates metric math (standard operator precedence, FILL, IF, no value where an
operand has none), and check that the function gives the same figure on the same inputs, so
that the two cannot drift apart.
"""

from __future__ import annotations

import ast
import importlib.util
import json
import math
import operator
import re
import sys
from pathlib import Path

import hcl2
import pytest

from testsupport.terraform import console, make_cli

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("backlog_bench", REPO / "bench" / "backlog_bench.py")
assert _spec is not None and _spec.loader is not None
backlog_bench = importlib.util.module_from_spec(_spec)
sys.modules["backlog_bench"] = backlog_bench  # dataclasses look their module up there
_spec.loader.exec_module(backlog_bench)
backlog_per_task = backlog_bench.backlog_per_task
ECS_GRADING = REPO / "terraform" / "modules" / "ecs-grading" / "main.tf"
MONITORING = REPO / "terraform" / "modules" / "monitoring" / "main.tf"


# --- the function on its own --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("queue_sizes", "running_tasks", "expected"),
    [
        ([[40.0]], [4.0], 10.0),  # one broker, one datapoint each
        ([[30.0, 50.0]], [2.0, 6.0], 10.0),  # Average over the period of each metric, then the division
        ([[40.0], []], [4.0], 10.0),  # the standby publishes nothing: FILL(..., 0)
        ([[], [40.0]], [4.0], 10.0),  # after a failover the other instance is the active one
        ([[8.0], [32.0]], [4.0], 10.0),  # both instances counted, then divided (a failover inside the period)
        ([[12.0]], [0.0], 12.0),  # no running task: the whole backlog, so that it scales out from nothing
        ([[]], [3.0], 0.0),  # no QueueSize datapoint at all: an empty queue
        ([[0.0]], [0.0], 0.0),
    ],
)
def test_backlog_per_task(queue_sizes, running_tasks, expected):
    assert backlog_per_task(queue_sizes, running_tasks) == pytest.approx(expected)


def test_without_a_running_task_count_there_is_no_value():
    assert backlog_per_task([[40.0]], []) is None


def test_queue_size_counts_from_send_to_ack():
    sent = [10.0, 10.0, 11.0]
    acked = [12.0, 13.0, 14.0]
    assert [backlog_bench.queue_size_at(t, sent, acked) for t in (9.9, 10.0, 11.5, 12.0, 13.5, 14.0)] == [
        0,
        2,
        3,
        2,
        1,
        0,
    ]


def test_per_period_averages_the_samples_of_each_epoch_aligned_minute():
    sample = backlog_bench.Sample
    samples = [
        sample(119.0, None, 4, 100),  # minute [60, 120)
        sample(120.0, None, 4, 80),  # minute [120, 180): average 60 queued over average 3 tasks
        sample(150.0, None, 2, 40),
        sample(240.0, None, 0, 7),  # no running worker: divided by 1
    ]
    assert backlog_bench.per_period(samples) == [(60, 25.0, 1), (120, 20.0, 2), (240, 7.0, 1)]


# --- against the Terraform policy ---------------------------------------------------------------


def _policy_metrics() -> tuple[dict, dict, list[dict]]:
    """The policy's expression query, its RunningTaskCount query and its per-broker QueueSize query template."""
    resources = hcl2.load(ECS_GRADING.open())["resource"]
    policy = next(
        r['"aws_appautoscaling_policy"']['"backlog"'] for r in resources if '"aws_appautoscaling_policy"' in r
    )
    config = policy["target_tracking_scaling_policy_configuration"][0]
    assert config["target_value"] == "${var.backlog_per_task}"
    spec = config["customized_metric_specification"][0]
    expression = next(m for m in spec["metrics"] if "expression" in m)
    tasks = next(m for m in spec["metrics"] if "metric_stat" in m)
    dynamic = spec["dynamic"][0]['"metrics"']
    assert dynamic["for_each"] == "${var.mq_metric_broker_names}"
    return expression, tasks, dynamic["content"]


def _unquote(value: str) -> str:
    assert value.startswith('"') and value.endswith('"'), value
    return value[1:-1]


def test_the_policy_reads_the_metrics_the_function_takes():
    expression, tasks, [queue] = _policy_metrics()
    assert expression["return_data"] is True and tasks["return_data"] is False and queue["return_data"] is False
    for query, namespace, name, dimensions in (
        (tasks, "ECS/ContainerInsights", "RunningTaskCount", ["ClusterName", "ServiceName"]),
        (queue, "AWS/AmazonMQ", "QueueSize", ["Broker", "Queue"]),
    ):
        [stat] = query["metric_stat"]
        # The function takes each metric's Average over the period; no period is set, so it is the policy's 60 s.
        assert _unquote(stat["stat"]) == "Average" and "period" not in stat and "period" not in query
        [metric] = stat["metric"]
        assert (_unquote(metric["namespace"]), _unquote(metric["metric_name"])) == (namespace, name)
        assert [_unquote(d["name"]) for d in metric["dimensions"]] == dimensions
    assert queue["metric_stat"][0]["metric"][0]["dimensions"][1]["value"] == "${var.requests_queue}"


def _console(broker_names: list[str], tmp_path: Path, local_values: dict[str, str]) -> dict:
    """``local_values`` (name to raw HCL) evaluated by Terraform itself, for these broker instance names."""
    locals_block = "".join(f"  {name} = {value}\n" for name, value in local_values.items())
    (tmp_path / "main.tf").write_text(
        f'variable "mq_metric_broker_names" {{\n  type = list(string)\n}}\nlocals {{\n{locals_block}}}\n'
    )
    (tmp_path / "brokers.tfvars.json").write_text(json.dumps({"mq_metric_broker_names": broker_names}))
    expression = "jsonencode({" + ", ".join(f"{name} = local.{name}" for name in local_values) + "})"
    return json.loads(json.loads(console(make_cli(), tmp_path, expression, "-var-file=brokers.tfvars.json")))


def _render_policy(broker_names: list[str], tmp_path: Path) -> tuple[str, list[str]]:
    """The policy's expression and its QueueSize queries' ids, as Terraform renders them."""
    expression, _, [queue] = _policy_metrics()
    assert _unquote(expression["id"]) == "backlog"
    # The raw HCL of the attributes (python-hcl2 keeps their quotes); the dynamic block's
    # iterator (metrics.key: the list index) becomes a for expression's.
    queue_id = queue["id"].replace("metrics.key", "k").replace("metrics.value", "v")
    rendered = _console(
        broker_names,
        tmp_path,
        {
            "expression": expression["expression"],
            "queue_ids": f"[for k, v in var.mq_metric_broker_names : {queue_id}]",
        },
    )
    return rendered["expression"], rendered["queue_ids"]


def _render_dashboard(broker_names: list[str], tmp_path: Path) -> tuple[str, list[str]]:
    """The dashboard's "the autoscaler's figure" widget: its expression and QueueSize ids, rendered."""
    text = MONITORING.read_text()
    brokers = re.search(r"^\s*brokers\s*=\s*(\{.*\})\s*$", text, re.MULTILINE)
    widget = re.search(r'title\s*=\s*"Grading backlog per task[^"]*"(?P<body>.*?)annotations', text, re.DOTALL)
    assert brokers and widget, "the monitoring module's backlog widget or its local.brokers moved"
    body = widget["body"]
    # CloudWatch's 1-minute Average, as the policy's metrics.
    assert re.search(r"\bperiod\s*=\s*60\b", body) and re.search(r'\bstat\s*=\s*"Average"', body)
    expression = re.search(r'id = "backlog", expression = (".*?"), label', body)
    assert expression and '"QueueSize"' in body and "{ id = k, visible = false }" in body
    assert '"RunningTaskCount"' in body and '{ id = "tasks", visible = false }' in body
    rendered = _console(
        broker_names,
        tmp_path,
        {"brokers": brokers[1], "expression": expression[1], "queue_ids": "keys(local.brokers)"},
    )
    return rendered["expression"], rendered["queue_ids"]


_ARITHMETIC = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv}
_COMPARE = {ast.Gt: operator.gt, ast.GtE: operator.ge, ast.Lt: operator.lt, ast.LtE: operator.le}


def evaluate(expression: str, values: dict[str, float | None]) -> float | None:
    """One period of CloudWatch metric math, for the operators and functions the policy uses.

    Standard precedence (Python's, for these operators); an operand without a value at the
    timestamp makes the operation's result have none; FILL(x, v) gives v where x has none;
    IF(c, a, b). Anything else fails the test rather than being guessed.
    """

    def value(node: ast.AST) -> float | None:
        match node:
            case ast.Constant(value=int() | float() as number):
                return float(number)
            case ast.Name(id=name):
                return values[name]
            case ast.BinOp(left=left, op=op, right=right) if type(op) in _ARITHMETIC:
                a, b = value(left), value(right)
                return None if a is None or b is None else _ARITHMETIC[type(op)](a, b)
            case ast.Compare(left=left, ops=[op], comparators=[right]) if type(op) in _COMPARE:
                a, b = value(left), value(right)
                return None if a is None or b is None else float(_COMPARE[type(op)](a, b))
            case ast.Call(func=ast.Name(id="FILL"), args=[series, fill]):
                filled = value(series)
                return value(fill) if filled is None else filled
            case ast.Call(func=ast.Name(id="IF"), args=[condition, then, otherwise]):
                test = value(condition)
                return None if test is None else value(then if test else otherwise)
        raise AssertionError(f"metric math this test does not know: {ast.unparse(node)}")

    return value(ast.parse(expression, mode="eval").body)


def _mean(points: list[float]) -> float | None:
    return sum(points) / len(points) if points else None


# (datapoints of each broker instance's QueueSize, datapoints of RunningTaskCount) in one period.
CASES = [
    ([[40.0], []], [4.0]),
    ([[], [40.0]], [4.0]),
    ([[8.0], [32.0]], [4.0]),
    ([[30.0, 50.0], []], [2.0, 6.0]),
    ([[12.0], []], [0.0]),
    ([[], []], [3.0]),
    ([[40.0], []], []),
    ([[7.0], [5.0]], [1.0]),
]


SINGLE = ["gradestack-production-mq-1"]
PAIR = ["gradestack-production-mq-1", "gradestack-production-mq-2"]


def _check(expression: str, queue_ids: list[str], broker_names: list[str]) -> None:
    assert len(queue_ids) == len(broker_names)
    for all_queue_points, task_points in CASES:
        queue_points = all_queue_points[: len(broker_names)]
        values = {queue_id: _mean(points) for queue_id, points in zip(queue_ids, queue_points, strict=True)}
        values["tasks"] = _mean(task_points)
        expected = evaluate(expression, values)
        got = backlog_per_task(queue_points, task_points)
        assert (got is None) == (expected is None), (expression, queue_points, task_points, got, expected)
        if expected is not None:
            assert math.isclose(got, expected), (expression, queue_points, task_points, got, expected)


@pytest.mark.terraform
@pytest.mark.parametrize(
    "broker_names",
    [
        pytest.param(SINGLE, id="single-instance"),
        pytest.param(PAIR, id="active-standby"),
    ],
)
def test_the_function_computes_what_the_scaling_policy_does(broker_names, tmp_path):
    _check(*_render_policy(broker_names, tmp_path), broker_names)


@pytest.mark.terraform
@pytest.mark.parametrize(
    "broker_names", [pytest.param(SINGLE, id="single-instance"), pytest.param(PAIR, id="active-standby")]
)
def test_the_function_computes_what_the_dashboard_shows_as_the_autoscalers_figure(broker_names, tmp_path):
    _check(*_render_dashboard(broker_names, tmp_path), broker_names)
