#!/usr/bin/env python3
"""The emulated environment's AWS: scripts/moto_server.py plus the adjustments the AWS path needs.

Every adjustment of scripts/moto_server.py applies (it is loaded and run as is). The four
below make moto behave like AWS where the deploy depends on it; each is applied only
while moto_server.py does not provide it (they belong there; see the AWS-path report):

- Bucket policies: moto evaluates them on object requests but skips condition operators
  it does not know (Bool among them) and treats a statement whose condition does not hold
  as a Deny, so a TLS-only policy ({"Bool": {"aws:SecureTransport": "false"}}, on every
  bucket of ours) denies every object request. Here Bool is evaluated, a statement whose
  condition does not hold does not apply (as in AWS), and requests count as TLS: AWS
  clients reach AWS over TLS, the emulator on loopback stands for that.
- ECS deployments: moto neither starts tasks nor rolls deployments (its running count is
  MOTO_ECS_SERVICE_RUNNING, read as a number, whatever the desired count; an update keeps
  the old deployment's task definition). Here, as ECS does for a healthy service, a new
  or updated service gets one PRIMARY deployment of its current task definition whose
  tasks all run, and a steady-state event. Fault injection for tests: a service tagged
  `gradestack:emulator-fault=never-steady` starts no task on its next update and reports
  AWS's "unable to consistently start tasks" event instead.
- Bucket logging: moto's check of the target bucket's policy crashes (HTTP 500, Terraform
  retries until it times out) on a statement whose Principal is the string "*".
- Instance refresh: moto has no StartInstanceRefresh (Terraform starts one when the web
  hosts' launch template changes); here a refresh completes at once.

Usage: emulated_moto.py --port N   (listens on 127.0.0.1)
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import sys
from pathlib import Path
from typing import Any

LAUNCHER = Path(__file__).resolve().parent / "moto_server.py"
FAULT_TAG = "gradestack:emulator-fault"
SECURE_CONTEXT = {"aws:SecureTransport": "true"}


def load_launcher() -> Any:
    spec = importlib.util.spec_from_file_location("gradestack_moto_launcher", LAUNCHER)
    launcher = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(launcher)
    return launcher


def add_secure_transport() -> None:
    from moto.iam import policy_conditions  # noqa: PLC0415  (moto only after the launcher's settings)
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult  # noqa: PLC0415
    from moto.s3.models import FakeBucket  # noqa: PLC0415

    def bool_equals(expected: Any, actual: str) -> bool:
        wanted = expected if isinstance(expected, list) else [expected]
        return str(actual).lower() in {str(value).lower() for value in wanted}

    policy_conditions.CONDITION_OPERATIONS.setdefault("Bool", bool_equals)

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return PermissionResult.NEUTRAL
        statements = json.loads(self.policy.decode())["Statement"]
        permitted = False
        for data in statements if isinstance(statements, list) else [statements]:
            statement = IAMPolicyStatement(data)
            if not statement._check_conditions(SECURE_CONTEXT):
                continue  # the condition does not hold: the statement does not apply
            result = statement.is_action_permitted(action, resource, None, SECURE_CONTEXT)
            if result == PermissionResult.DENIED:
                return result
            permitted = permitted or result == PermissionResult.PERMITTED
        return PermissionResult.PERMITTED if permitted else PermissionResult.NEUTRAL

    FakeBucket.get_permission = get_permission


def add_tolerant_log_delivery_check() -> None:
    """moto's check of a log target bucket's policy crashes on a statement whose Principal is "*" (a string).

    Every bucket of ours has such a statement (the TLS-only Deny), so PutBucketLogging failed with a 500
    and Terraform retried it until its timeout. Statements without a dict Principal cannot grant the log
    delivery service anything, so they are left out of the check.
    """
    from types import SimpleNamespace  # noqa: PLC0415

    from moto.s3.models import FakeBucket  # noqa: PLC0415

    original = FakeBucket._log_permissions_enabled_policy

    def check(target_bucket: Any, target_prefix: str | None) -> bool:
        if not target_bucket.policy:
            return False
        document = json.loads(target_bucket.policy.decode())
        statements = document.get("Statement", [])
        statements = statements if isinstance(statements, list) else [statements]
        document["Statement"] = [s for s in statements if isinstance(s.get("Principal"), dict)]
        view = SimpleNamespace(
            policy=json.dumps(document).encode(), partition=target_bucket.partition, name=target_bucket.name
        )
        return original(view, target_prefix)

    FakeBucket._log_permissions_enabled_policy = staticmethod(check)


def add_instance_refresh() -> None:
    """Auto Scaling instance refresh, which moto lacks (Terraform starts one when the launch template changes).

    moto's instances are records, so a refresh has nothing to replace: it completes at once.
    """
    from moto.autoscaling.responses import AutoScalingResponse  # noqa: PLC0415
    from moto.core.responses import ActionResult  # noqa: PLC0415
    from moto.core.utils import utcnow  # noqa: PLC0415
    from moto.moto_api._internal import mock_random  # noqa: PLC0415

    if hasattr(AutoScalingResponse, "start_instance_refresh"):
        return
    refreshes: dict[tuple[str, str, str], list[dict[str, Any]]] = {}

    def _key(self: Any) -> tuple[str, str, str]:
        return (self.current_account, self.region, self._get_param("AutoScalingGroupName"))

    def start_instance_refresh(self: Any) -> ActionResult:
        refresh_id, now = str(mock_random.uuid4()), utcnow()
        record = {
            "InstanceRefreshId": refresh_id,
            "AutoScalingGroupName": self._get_param("AutoScalingGroupName"),
            "Status": "Successful",
            "StatusReason": "The emulator's instances are records: nothing to replace.",
            "PercentageComplete": 100,
            "InstancesToUpdate": 0,
            "StartTime": now,
            "EndTime": now,
        }
        refreshes.setdefault(_key(self), []).insert(0, record)
        return ActionResult({"InstanceRefreshId": refresh_id})

    def describe_instance_refreshes(self: Any) -> ActionResult:
        return ActionResult({"InstanceRefreshes": refreshes.get(_key(self), [])})

    def cancel_instance_refresh(self: Any) -> ActionResult:
        from moto.autoscaling.exceptions import AutoscalingClientError  # noqa: PLC0415

        raise AutoscalingClientError(
            "ActiveInstanceRefreshNotFound", "No in progress or pending Instance Refresh found"
        )

    AutoScalingResponse.start_instance_refresh = start_instance_refresh
    AutoScalingResponse.describe_instance_refreshes = describe_instance_refreshes
    AutoScalingResponse.cancel_instance_refresh = cancel_instance_refresh


def _roll(service: Any) -> Any:
    """Give ``service`` one PRIMARY deployment of its task definition, like ECS after a rollout."""
    from moto.core.utils import utcnow  # noqa: PLC0415
    from moto.moto_api._internal import mock_random  # noqa: PLC0415

    if service.deployment_controller.get("type") != "ECS":
        return service
    stuck = any(t.get("key") == FAULT_TAG and t.get("value") == "never-steady" for t in service.tags or [])
    running = 0 if stuck else service.desired_count
    service.running_count, service.pending_count = running, service.desired_count - running
    deployment_id = f"ecs-svc/{mock_random.randint(0, 32**12)}"
    previous = service.deployments[0] if service.deployments else {}
    now = utcnow()
    service.deployments = [
        {
            **previous,
            "id": deployment_id,
            "status": "PRIMARY",
            "taskDefinition": service.task_definition,
            "desiredCount": service.desired_count,
            "runningCount": running,
            "pendingCount": service.desired_count - running,
            "failedTasks": 0,
            "rolloutState": "IN_PROGRESS" if stuck else "COMPLETED",
            "rolloutStateReason": f"ECS deployment {deployment_id} {'in progress' if stuck else 'completed'}.",
            "createdAt": now,
            "updatedAt": now,
        }
    ]
    message = (
        f"(service {service.name}) is unable to consistently start tasks successfully."
        if stuck
        else f"(service {service.name}) has reached a steady state."
    )
    service.events.insert(0, {"id": str(mock_random.uuid4()), "createdAt": now, "message": message})
    return service


def add_ecs_deployments() -> None:
    from moto.ecs.models import EC2ContainerServiceBackend  # noqa: PLC0415

    create, update = EC2ContainerServiceBackend.create_service, EC2ContainerServiceBackend.update_service

    def create_service(self: Any, *args: Any, **kwargs: Any) -> Any:
        return _roll(create(self, *args, **kwargs))

    def update_service(self: Any, service_properties: dict[str, Any]) -> Any:
        return _roll(update(self, service_properties))

    EC2ContainerServiceBackend.create_service = create_service
    EC2ContainerServiceBackend.update_service = update_service


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    launcher = load_launcher()
    launcher.apply_emulator_settings()  # before moto is imported: it reads these at import time
    if not hasattr(launcher, "add_secure_transport"):
        add_secure_transport()
    if not hasattr(launcher, "add_ecs_deployments"):
        add_ecs_deployments()
    if not hasattr(launcher, "add_tolerant_log_delivery_check"):
        add_tolerant_log_delivery_check()
    if not hasattr(launcher, "add_instance_refresh"):
        add_instance_refresh()
    sys.argv = [str(LAUNCHER), "--host", "127.0.0.1", "--port", str(args.port)]
    launcher.main()


if __name__ == "__main__":
    main()
