#!/usr/bin/python
"""Ansible module: what the AWS verify checks read that no amazon.aws/community.aws module returns.

ECS tasks that stopped recently (ListTasks/DescribeTasks), whether a CloudWatch
dashboard exists (GetDashboard), and the latest AWS/AmazonMQ QueueSize of a queue
(GetMetricStatistics). Read-only.
"""

from __future__ import annotations

import datetime
from typing import Any

DOCUMENTATION = r"""
---
module: gradestack_verify_aws_info
short_description: Read ECS stopped tasks, a CloudWatch dashboard and Amazon MQ queue depths for gradestack's verify
description:
  - C(ecs_stopped_tasks) lists the tasks of an ECS service that stopped within C(window_minutes), with their stop code
    and reason; C(errors) keeps those that stopped with an error (failed to start, an essential container exited, a
    container exit code other than 0, or a reason that says it failed), not a deployment or scale-in replacing them.
  - C(dashboard) says whether a CloudWatch dashboard exists.
  - C(queue_size) returns the latest C(QueueSize) datapoint (Maximum) of a queue of each broker in the window,
    from AWS/AmazonMQ with the Broker and Queue dimensions, as the stack's alarms read it.
  - Read-only; never changes anything.
options:
  kind:
    type: str
    required: true
    choices: [ecs_stopped_tasks, dashboard, queue_size]
    description: What to read.
  cluster: {type: str, description: ECS cluster (ecs_stopped_tasks).}
  service: {type: str, description: ECS service (ecs_stopped_tasks).}
  dashboard_name: {type: str, description: The dashboard (dashboard).}
  brokers: {type: list, elements: str, default: [], description: Broker dimension values (queue_size).}
  queue: {type: str, description: Queue dimension value (queue_size).}
  window_minutes: {type: int, default: 15, description: How far back to look.}
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Tasks of the grading service that stopped in the last 15 minutes
  gradestack_verify_aws_info:
    kind: ecs_stopped_tasks
    cluster: gradestack-production
    service: gradestack-production-grading
    window_minutes: 15
  register: stopped
"""

RETURN = r"""
stopped:
  description: ecs_stopped_tasks, every task stopped in the window (task_arn, stopped_at, stop_code, stopped_reason).
  returned: kind is ecs_stopped_tasks
  type: list
  elements: dict
errors:
  description: ecs_stopped_tasks, those of C(stopped) that stopped with an error.
  returned: kind is ecs_stopped_tasks
  type: list
  elements: dict
exists:
  description: dashboard, whether the dashboard exists.
  returned: kind is dashboard
  type: bool
depths:
  description: queue_size, broker to the latest QueueSize in the window (null when the broker published none).
  returned: kind is queue_size
  type: dict
"""

# Words of ECS stop reasons that mean something went wrong ("Task failed ELB health checks",
# "CannotPullContainerError", "OutOfMemoryError", "Essential container in task exited" with a failing code).
ERROR_WORDS = ("fail", "error", "unhealthy", "outofmemory")


def is_error(task: dict[str, Any]) -> bool:
    """A deployment or scale-in replacing a task (its containers exiting 0) is routine; anything else is an error."""
    if task.get("stopCode", "") in ("TaskFailedToStart", "EssentialContainerExited"):
        return True
    if any(c.get("exitCode") not in (None, 0) for c in task.get("containers", [])):
        return True
    reason = task.get("stoppedReason", "").lower()
    return any(word in reason for word in ERROR_WORDS)


def ecs_stopped_tasks(client, cluster: str, service: str, window_minutes: int) -> dict[str, Any]:
    since = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=window_minutes)
    arns: list[str] = []
    for page in client.get_paginator("list_tasks").paginate(
        cluster=cluster, serviceName=service, desiredStatus="STOPPED"
    ):
        arns.extend(page.get("taskArns", []))
    stopped: list[dict[str, Any]] = []
    # DescribeTasks takes at most 100 tasks at a time.
    for start in range(0, len(arns), 100):
        for task in client.describe_tasks(cluster=cluster, tasks=arns[start : start + 100]).get("tasks", []):
            at = task.get("stoppedAt") or task.get("stoppingAt")
            if at is None or at < since:
                continue
            stopped.append(
                {
                    "task_arn": task["taskArn"],
                    "stopped_at": at.isoformat(),
                    "stop_code": task.get("stopCode", ""),
                    "stopped_reason": task.get("stoppedReason", ""),
                    "error": is_error(task),
                }
            )
    return {"stopped": stopped, "errors": [t for t in stopped if t["error"]]}


def dashboard(client, name: str) -> dict[str, Any]:
    from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code  # noqa: PLC0415

    try:
        client.get_dashboard(DashboardName=name)
    except is_boto3_error_code("ResourceNotFound"):
        return {"exists": False}
    return {"exists": True}


def queue_size(client, brokers: list[str], queue: str, window_minutes: int) -> dict[str, Any]:
    end = datetime.datetime.now(datetime.UTC)
    start = end - datetime.timedelta(minutes=window_minutes)
    depths: dict[str, float | None] = {}
    for broker in brokers:
        points = client.get_metric_statistics(
            Namespace="AWS/AmazonMQ",
            MetricName="QueueSize",
            Dimensions=[{"Name": "Broker", "Value": broker}, {"Name": "Queue", "Value": queue}],
            StartTime=start,
            EndTime=end,
            Period=60,
            Statistics=["Maximum"],
        ).get("Datapoints", [])
        latest = max(points, key=lambda p: p["Timestamp"], default=None)
        depths[broker] = latest["Maximum"] if latest else None
    return {"depths": depths}


def main() -> None:
    from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: PLC0415

    module = AnsibleAWSModule(
        argument_spec={
            "kind": {"type": "str", "required": True, "choices": ["ecs_stopped_tasks", "dashboard", "queue_size"]},
            "cluster": {"type": "str"},
            "service": {"type": "str"},
            "dashboard_name": {"type": "str"},
            "brokers": {"type": "list", "elements": "str", "default": []},
            "queue": {"type": "str"},
            "window_minutes": {"type": "int", "default": 15},
        },
        required_if=[
            ("kind", "ecs_stopped_tasks", ("cluster", "service")),
            ("kind", "dashboard", ("dashboard_name",)),
            ("kind", "queue_size", ("brokers", "queue")),
        ],
        supports_check_mode=True,
    )
    p = module.params
    try:
        if p["kind"] == "ecs_stopped_tasks":
            result = ecs_stopped_tasks(module.client("ecs"), p["cluster"], p["service"], p["window_minutes"])
        elif p["kind"] == "dashboard":
            result = dashboard(module.client("cloudwatch"), p["dashboard_name"])
        else:
            result = queue_size(module.client("cloudwatch"), p["brokers"], p["queue"], p["window_minutes"])
    except Exception as exc:  # botocore's errors and connection failures alike: the check reports the cause
        module.fail_json_aws(exc, msg=f"could not read {p['kind']}")
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
