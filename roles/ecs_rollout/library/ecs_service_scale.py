#!/usr/bin/python
"""Set an ECS service's desired task count (the gradual rollback: to 0, then back).

Terraform ignores the service's desired count (autoscaling owns it), so the count
is set through the ECS API; the autoscaling bounds are set through Terraform.
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: ecs_service_scale
short_description: Set the desired count of an ECS service
options:
  cluster: {description: Cluster name or ARN., type: str, required: true}
  service: {description: Service name or ARN., type: str, required: true}
  region: {description: AWS region., type: str, required: true}
  desired_count: {description: Tasks to run., type: int, required: true}
author: gradestack
"""

RETURN = r"""
previous_count: {description: The desired count before., type: int}
"""


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "cluster": {"type": "str", "required": True},
            "service": {"type": "str", "required": True},
            "region": {"type": "str", "required": True},
            "desired_count": {"type": "int", "required": True},
        },
        supports_check_mode=True,
    )
    try:
        import boto3  # noqa: PLC0415
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415
    except ImportError:
        module.fail_json(msg="boto3 is required on the control node (pip install boto3)")
    params = module.params
    client = boto3.client("ecs", region_name=params["region"])
    try:
        services = client.describe_services(cluster=params["cluster"], services=[params["service"]])["services"]
        if not services:
            module.fail_json(msg=f"ECS service {params['service']} not found in cluster {params['cluster']}")
        previous = services[0].get("desiredCount", 0)
        changed = previous != params["desired_count"]
        if changed and not module.check_mode:
            client.update_service(
                cluster=params["cluster"], service=params["service"], desiredCount=params["desired_count"]
            )
    except (BotoCoreError, ClientError) as error:
        module.fail_json(msg=f"ecs:UpdateService failed for {params['service']}: {error}")
    module.exit_json(changed=changed, previous_count=previous)


if __name__ == "__main__":
    main()
