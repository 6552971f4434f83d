#!/usr/bin/python
"""One look at an ECS service: is its rollout finished, failed, or still going?

Steady means what AWS's `services-stable` waiter means, and a little more: one
deployment left, it is the PRIMARY one running the expected task definition, and as
many tasks run as are desired. Rolled back means the deployment circuit breaker gave up
(rolloutState FAILED) or already rolled the service back to another task definition.
The service's recent events come back in every case, for the report.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: ecs_service_state
short_description: Report whether an ECS service's rollout is steady or failed, with its recent events
options:
  cluster: {description: Cluster name or ARN., type: str, required: true}
  service: {description: Service name or ARN., type: str, required: true}
  region: {description: AWS region., type: str, required: true}
  task_definition:
    description: Task definition ARN the rollout must end on; empty accepts the service's current one.
    type: str
    default: ""
  events: {description: How many recent service events to return., type: int, default: 10}
author: gradestack
"""

RETURN = r"""
steady: {description: The rollout is complete., type: bool}
rolled_back: {description: The circuit breaker failed or rolled back the rollout., type: bool}
progress: {description: One line for humans (counts and rollout state)., type: str}
events: {description: Recent service events, newest first, as "time message"., type: list}
"""


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "cluster": {"type": "str", "required": True},
            "service": {"type": "str", "required": True},
            "region": {"type": "str", "required": True},
            "task_definition": {"type": "str", "default": ""},
            "events": {"type": "int", "default": 10},
        },
        supports_check_mode=True,
    )
    try:
        import boto3  # noqa: PLC0415
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415
    except ImportError:
        module.fail_json(msg="boto3 is required on the control node (pip install boto3)")
    params = module.params
    try:
        response = boto3.client("ecs", region_name=params["region"]).describe_services(
            cluster=params["cluster"], services=[params["service"]]
        )
    except (BotoCoreError, ClientError) as error:
        module.fail_json(msg=f"ecs:DescribeServices failed for {params['service']}: {error}")
    services = [s for s in response.get("services", []) if s.get("status") != "INACTIVE"]
    if not services:
        module.fail_json(msg=f"ECS service {params['service']} not found in cluster {params['cluster']}")
    service = services[0]
    deployments = service.get("deployments", [])
    primary = next((d for d in deployments if d.get("status") == "PRIMARY"), {})
    wanted = params["task_definition"] or service.get("taskDefinition", "")
    desired, running = service.get("desiredCount", 0), service.get("runningCount", 0)
    rollout = primary.get("rolloutState", "")
    rolled_back = bool(primary) and primary.get("taskDefinition") != wanted and rollout == "COMPLETED"
    broken = rollout == "FAILED" or rolled_back
    steady = not broken and len(deployments) == 1 and primary.get("taskDefinition") == wanted and running == desired
    reason = primary.get("rolloutStateReason", "")
    if rolled_back:
        reason = f"the circuit breaker rolled back to {primary.get('taskDefinition')}; {reason}"
    progress = (
        f"{running}/{desired} tasks running, {service.get('pendingCount', 0)} pending, "
        f"{len(deployments)} deployment(s), rollout {rollout or 'unknown'}" + (f": {reason}" if reason else "")
    )
    events = [
        f"{event.get('createdAt')} {event.get('message')}" for event in service.get("events", [])[: params["events"]]
    ]
    module.exit_json(
        changed=False,
        steady=steady,
        rolled_back=broken,
        progress=progress,
        events=events,
        desired_count=desired,
        running_count=running,
        task_definition=primary.get("taskDefinition", ""),
    )


if __name__ == "__main__":
    main()
