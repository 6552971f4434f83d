#!/usr/bin/env python3
"""Start moto server as gradestack's AWS emulator.

This is the one place that knows how moto 5.x differs from AWS for our stack;
tests, `make emulated` and the local environment's AWS stand-in all start moto
through it. Adjustments (see docs/ARCHITECTURE.md, "The emulated environment"):

- AWS managed IAM policies are loaded (MOTO_IAM_LOAD_MANAGED_POLICIES) so that
  policy attachments such as AmazonECSTaskExecutionRolePolicy resolve.
- ECS deployments: moto neither starts tasks nor rolls deployments (its running
  count is MOTO_ECS_SERVICE_RUNNING, a number, whatever the desired count; an
  update keeps the old deployment's task definition). Here, as ECS does for a
  healthy service, a new or updated service gets one PRIMARY deployment of its
  current task definition whose tasks all run, and a steady-state event. Fault
  injection for tests: a service tagged `gradestack:emulator-fault=never-steady`
  starts no task on its next update and reports AWS's "unable to consistently
  start tasks" event instead.
- Bucket policies: moto evaluates them on object requests but skips condition
  operators it does not know (Bool among them) and treats a statement whose
  condition does not hold as a Deny, so a TLS-only policy
  ({"Bool": {"aws:SecureTransport": "false"}}, on every bucket of ours) denies
  every object request. Here Bool is evaluated, a statement whose condition does
  not hold does not apply (as in AWS), and requests count as TLS: AWS clients
  reach AWS over TLS, the emulator on loopback stands for that.
- Bucket logging: moto's check of the target bucket's policy crashes (HTTP 500,
  Terraform retries until it times out) on a statement whose Principal is "*".
- Auto Scaling instance refresh, which moto lacks (Terraform starts one when the
  web hosts' launch template changes): a refresh completes at once.
- Application Auto Scaling answers ListTagsForResource, TagResource and
  UntagResource (moto 5.2 has no handlers for them; Terraform's
  aws_appautoscaling_target calls all three). Tags given to
  RegisterScalableTarget are recorded too.
- CloudWatch Logs answers PutQueryDefinition, DescribeQueryDefinitions and
  DeleteQueryDefinition (saved Logs Insights queries; missing in moto 5.2).
- EC2 launch templates keep only their LaunchTemplateData tag specifications
  (moto 5.2 copies the template's own "launch-template" tags into the data, which
  shows as a change on every plan and makes each apply roll the web hosts), and
  security group rules that reference a group keep their description.
- Debian's public Debian 12 AMI (owner 136693071363, the Debian cloud team's
  account) is added to moto's AMI catalogue, so that the web hosts' AMI lookup
  (terraform/modules/compute) resolves as it does on AWS. Switch off with
  GRADESTACK_MOTO_DEBIAN_AMI=false.
- An issued ACM certificate for the site stands ready in every region's ACM, under
  a fixed ARN (certificate/EMULATED_CERTIFICATE_ID; group_vars/emulated.yml's
  certificate_arn), as an operator's certificate does in a real account before
  the first deploy: moto's ALB refuses an HTTPS listener whose certificate ACM
  does not hold. Switch off with GRADESTACK_MOTO_CERTIFICATE=false.

- S3 deletes a key whose versions include a delete marker (moto 5.2 crashes on the
  marker's missing dispose(); force_destroy of a versioned bucket where verify's
  canary was deleted then never finishes).
- ECS starts no task whose image is an ECR reference
  (`<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>` or `@<digest>`) that the
  emulator's ECR does not hold: as on Fargate, the service's tasks stop at once with
  stopCode TaskFailedToStart and stoppedReason "CannotPullContainerError: ... not found",
  its running count stays 0 and its deployment does not complete. Images outside ECR
  (Docker Hub, public.ecr.aws) are taken as pullable. (RunTask is left as moto has it: its
  Fargate tasks crash moto 5.2, and the stack runs none in the emulator.) The deploy registers its images
  with ECR PutImage (roles/grading_image_publish), as a push does.
- Call log, opt-in: with GRADESTACK_MOTO_CALL_LOG=<path> (or --call-log <path>) every
  request moto authorizes appends one JSON line {"service", "action", "access_key"} to
  <path>: the IAM action (`ec2:RunInstances`, `s3:PutObject`) as moto's own IAM
  authorization computes it, and the access key id that signed the request, so that a
  test can evaluate a policy against the calls one principal made
  (tests/aws, testsupport/iam_policy.py). SSM requests add "parameters", the names or the
  path they read or write (tests/local/test_web_boot.py: what a web host reads).
- S3 requests are authorized (and logged) under their IAM actions: moto 5.2 names some
  by API operations that are no IAM actions (HeadBucket for s3:ListBucket) and authorizes
  sub-resources it does not know (encryption, ownershipControls, ...) as the method's
  default (CreateBucket for a PUT), so a policy lacking their actions would go unnoticed.

Usage: moto_server.py [--host 127.0.0.1] [--port 5000] [--call-log PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from typing import Any

# Debian's official AWS account (https://wiki.debian.org/Cloud/AmazonEC2Image).
DEBIAN_OWNER_ID = "136693071363"
FAULT_TAG = "gradestack:emulator-fault"
SECURE_CONTEXT = {"aws:SecureTransport": "true"}
DEBIAN_12_AMI: dict[str, Any] = {
    "ami_id": "ami-0de0b1a9e12b00001",
    "name": "debian-12-amd64-20260101-2345",
    "description": "Debian 12 (20260101-2345) (emulated by gradestack's moto launcher)",
    "owner_id": DEBIAN_OWNER_ID,
    "public": True,
    "virtualization_type": "hvm",
    "architecture": "x86_64",
    "state": "available",
    "platform": None,
    "image_type": "machine",
    "hypervisor": "xen",
    "root_device_name": "/dev/xvda",
    "root_device_type": "ebs",
    "sriov": "simple",
    "creation_date": "2026-01-01T23:45:00.000Z",
}


# The emulated site's certificate: group_vars/emulated.yml names this id.
EMULATED_CERTIFICATE_ID = "0e1a7ed0-5173-4c3e-8a1f-000000000443"
EMULATED_CERTIFICATE_DOMAIN = "gradestack.emulated.test"


def apply_emulator_settings() -> None:
    """Environment switches moto reads at import time; must run before moto is imported."""
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    # moto signs nothing, but boto-based code inside moto wants a region.
    os.environ.setdefault("AWS_DEFAULT_REGION", "ap-northeast-2")


# SigV4 signing names that differ from the service's IAM action prefix.
IAM_PREFIX_OF_SIGNING_NAME = {"monitoring": "cloudwatch"}
CALL_LOG_ENV = "GRADESTACK_MOTO_CALL_LOG"
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/[^/]+/[^/]+/([^/,\s]+)/")


def call_record(authorization: str, fallback_service: str, operation: str) -> dict[str, str]:
    """The IAM action of one request and the access key id that signed it.

    As moto's IAM authorization (moto/iam/access_control.py, IAMRequestBase) does: the service is the
    SigV4 credential scope's signing name, the action the operation moto dispatches (for query and JSON
    protocols the Action parameter or X-Amz-Target; for REST services the operation its router matched;
    for S3 the IAM action moto/s3/responses.py's ACTION_MAP gives the method and sub-resource).
    An unsigned request has no access key: "" (no principal's policy applies to it).
    """
    match = _CREDENTIAL.search(authorization)
    access_key, signing_name = (match.group(1), match.group(2)) if match else ("", fallback_service)
    service = IAM_PREFIX_OF_SIGNING_NAME.get(signing_name, signing_name)
    return {"service": service, "action": f"{service}:{operation}", "access_key": access_key}


# IAM actions of S3 requests that moto 5.2's ACTION_MAP (moto/s3/responses.py) names by an API operation
# that is no IAM action (HeadBucket, GetPublicAccessBlock: it also looks the sub-resource up under a key,
# public_access_block, that no request carries) or does not list, so that the sub-resource falls to the
# method's default (PUT ?encryption authorized as CreateBucket). From AWS's "Actions, resources, and
# condition keys for Amazon S3": a DELETE of a bucket configuration needs its Put action.
S3_IAM_ACTIONS: dict[str, dict[str, dict[str, str]]] = {
    "BUCKET": {
        "HEAD": {"DEFAULT": "ListBucket"},
        "GET": {
            "publicAccessBlock": "GetBucketPublicAccessBlock",
            "encryption": "GetEncryptionConfiguration",
            "ownershipControls": "GetBucketOwnershipControls",
            "replication": "GetReplicationConfiguration",
            "object-lock": "GetBucketObjectLockConfiguration",
            "requestPayment": "GetBucketRequestPayment",
            "intelligent-tiering": "GetIntelligentTieringConfiguration",
            "inventory": "GetInventoryConfiguration",
            "analytics": "GetAnalyticsConfiguration",
            "metrics": "GetMetricsConfiguration",
        },
        "PUT": {
            "publicAccessBlock": "PutBucketPublicAccessBlock",
            "encryption": "PutEncryptionConfiguration",
            "ownershipControls": "PutBucketOwnershipControls",
            "replication": "PutReplicationConfiguration",
            "object-lock": "PutBucketObjectLockConfiguration",
            "requestPayment": "PutBucketRequestPayment",
            "intelligent-tiering": "PutIntelligentTieringConfiguration",
            "inventory": "PutInventoryConfiguration",
            "analytics": "PutAnalyticsConfiguration",
            "metrics": "PutMetricsConfiguration",
        },
        "DELETE": {
            "publicAccessBlock": "PutBucketPublicAccessBlock",
            "encryption": "PutEncryptionConfiguration",
            "ownershipControls": "PutBucketOwnershipControls",
            "replication": "PutReplicationConfiguration",
            "intelligent-tiering": "PutIntelligentTieringConfiguration",
            "inventory": "PutInventoryConfiguration",
            "analytics": "PutAnalyticsConfiguration",
            "metrics": "PutMetricsConfiguration",
        },
    },
    "KEY": {"DELETE": {"tagging": "DeleteObjectTagging"}},
}


def fix_s3_iam_actions() -> None:
    """S3 requests are authorized (and logged) under their IAM actions (see S3_IAM_ACTIONS)."""
    from moto.s3.responses import ACTION_MAP  # noqa: PLC0415  (moto is imported only after the settings)

    for resource, methods in S3_IAM_ACTIONS.items():
        for method, actions in methods.items():
            ACTION_MAP[resource][method].pop("public_access_block", None)
            ACTION_MAP[resource][method].update(actions)


def ssm_parameters(response: Any) -> list[str]:
    """The parameter names (or the path) an SSM request names: what its IAM resources are built from."""
    names = [response._get_param("Name"), response._get_param("Path"), *(response._get_param("Names") or [])]
    return [name for name in names if isinstance(name, str)]


def add_call_log(path: str) -> None:
    """Append every request's IAM action to ``path`` (JSON lines; see the module docstring).

    The hook is moto's authorization step, which every dispatched request passes (before IAM
    authentication starts counting, too), so the action is the one moto would authorize.
    """
    import threading  # noqa: PLC0415

    from moto.core.authorization import ActionAuthenticatorMixin  # noqa: PLC0415

    if getattr(ActionAuthenticatorMixin, "_gradestack_call_log", None):
        return
    original = ActionAuthenticatorMixin._authenticate_and_authorize_action
    lock = threading.Lock()  # the server is threaded: one line per request, never interleaved

    def authorize(self: Any, iam_request_cls: type, resource: str = "*") -> None:
        operation = self._get_action()
        if operation:
            action = operation[0] if isinstance(operation, list) else operation
            record: dict[str, Any] = call_record(self.headers.get("Authorization", ""), self.service_name or "", action)
            if record["service"] == "ssm":
                record["parameters"] = ssm_parameters(self)
            with lock, open(path, "a", encoding="utf-8") as log:
                log.write(json.dumps(record) + "\n")
        original(self, iam_request_cls, resource)

    ActionAuthenticatorMixin._authenticate_and_authorize_action = authorize
    ActionAuthenticatorMixin._gradestack_call_log = path


def add_debian_ami() -> None:
    """Put a Debian 12 AMI into the catalogue every region's EC2 backend loads when it is first used."""
    if os.environ.get("GRADESTACK_MOTO_DEBIAN_AMI", "true").lower() in {"0", "false", "no"}:
        return
    from moto.ec2.models import amis  # noqa: PLC0415  (moto is imported only after the settings above)

    if not any(ami["ami_id"] == DEBIAN_12_AMI["ami_id"] for ami in amis.AMIS):
        amis.AMIS.append(dict(DEBIAN_12_AMI))


def add_emulated_certificate() -> None:
    """Every region's ACM backend starts with the site's issued certificate under its fixed ARN."""
    if os.environ.get("GRADESTACK_MOTO_CERTIFICATE", "true").lower() in {"0", "false", "no"}:
        return
    from moto.acm import models  # noqa: PLC0415  (moto is imported only after the settings above)

    original_init = models.AWSCertificateManagerBackend.__init__

    def init(self: Any, region_name: str, account_id: str) -> None:
        original_init(self, region_name, account_id)
        bundle = models.CertBundle.generate_cert(EMULATED_CERTIFICATE_DOMAIN, account_id, region_name)
        bundle.arn = f"arn:aws:acm:{region_name}:{account_id}:certificate/{EMULATED_CERTIFICATE_ID}"
        bundle.status = "ISSUED"  # validated, as the operator's certificate is before a deploy
        self._certificates[bundle.arn] = bundle

    models.AWSCertificateManagerBackend.__init__ = init


def add_appautoscaling_tagging() -> None:
    """Give moto's Application Auto Scaling the three tagging operations AWS has and moto 5.2 lacks.

    Tags live in a dict keyed by (account, region, resource ARN); moto's reset API does not clear
    it, which is harmless because scalable-target ARNs are random per registration.
    """
    from moto.applicationautoscaling import responses  # noqa: PLC0415

    cls = responses.ApplicationAutoScalingResponse
    if getattr(cls, "_gradestack_tagging", False):
        return
    store: dict[tuple[str, str, str], dict[str, str]] = {}

    def _key(self: Any, arn: str) -> tuple[str, str, str]:
        return (self.current_account, self.region, arn)

    def list_tags_for_resource(self: Any) -> str:
        arn = self._get_param("ResourceARN")
        return json.dumps({"Tags": dict(store.get(_key(self, arn), {}))})

    def tag_resource(self: Any) -> str:
        arn = self._get_param("ResourceARN")
        store.setdefault(_key(self, arn), {}).update(self._get_param("Tags") or {})
        return json.dumps({})

    def untag_resource(self: Any) -> str:
        arn = self._get_param("ResourceARN")
        tags = store.get(_key(self, arn), {})
        for name in self._get_param("TagKeys") or []:
            tags.pop(name, None)
        return json.dumps({})

    original_register = cls.register_scalable_target

    def register_scalable_target(self: Any) -> str:
        body = original_register(self)
        tags = self._get_param("Tags")
        if tags:
            arn = json.loads(body)["ScalableTargetARN"]
            store.setdefault(_key(self, arn), {}).update(tags)
        return body

    cls.list_tags_for_resource = list_tags_for_resource
    cls.tag_resource = tag_resource
    cls.untag_resource = untag_resource
    cls.register_scalable_target = register_scalable_target
    cls._gradestack_tagging = True


def add_logs_query_definitions() -> None:
    """Saved Logs Insights queries (aws_cloudwatch_query_definition), kept per account and region."""
    import uuid  # noqa: PLC0415

    from moto.logs import responses  # noqa: PLC0415

    cls = responses.LogsResponse
    if getattr(cls, "_gradestack_query_definitions", False):
        return
    store: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}

    def _definitions(self: Any) -> dict[str, dict[str, Any]]:
        return store.setdefault((self.current_account, self.region), {})

    def put_query_definition(self: Any) -> str:
        definitions = _definitions(self)
        definition_id = self._get_param("queryDefinitionId") or str(uuid.uuid4())
        definitions[definition_id] = {
            "queryDefinitionId": definition_id,
            "name": self._get_param("name"),
            "queryString": self._get_param("queryString"),
            "logGroupNames": self._get_param("logGroupNames") or [],
            "lastModified": int(time.time() * 1000),
        }
        return json.dumps({"queryDefinitionId": definition_id})

    def describe_query_definitions(self: Any) -> str:
        prefix = self._get_param("queryDefinitionNamePrefix") or ""
        found = [d for d in _definitions(self).values() if d["name"].startswith(prefix)]
        return json.dumps({"queryDefinitions": sorted(found, key=lambda d: d["name"])})

    def delete_query_definition(self: Any) -> str:
        removed = _definitions(self).pop(self._get_param("queryDefinitionId"), None)
        return json.dumps({"success": removed is not None})

    cls.put_query_definition = put_query_definition
    cls.describe_query_definitions = describe_query_definitions
    cls.delete_query_definition = delete_query_definition
    cls._gradestack_query_definitions = True


def add_logs_kms_association() -> None:
    """AssociateKmsKey on a log group (moto has none): the provision stage encrypts the log groups
    Amazon MQ creates by itself with the stack's key (plugins/modules/gradestack_service_log_groups.py)."""
    from moto.logs import responses  # noqa: PLC0415

    cls = responses.LogsResponse
    if getattr(cls, "_gradestack_kms_association", False):
        return

    def associate_kms_key(self: Any) -> str:
        name = self._get_param("logGroupName")
        group = self.logs_backend.groups.get(name)
        if group is None:
            from moto.logs.exceptions import ResourceNotFoundException  # noqa: PLC0415

            raise ResourceNotFoundException()
        group.kms_key_id = self._get_param("kmsKeyId")
        return ""

    cls.associate_kms_key = associate_kms_key
    cls._gradestack_kms_association = True


def fix_ec2_round_trips() -> None:
    """Two moto 5.2 EC2 bugs that turn every re-apply into an update (see the module docstring)."""
    from moto.ec2.models.launch_templates import LaunchTemplateBackend  # noqa: PLC0415
    from moto.ec2.models.security_groups import SecurityGroupRule  # noqa: PLC0415

    if getattr(LaunchTemplateBackend, "_gradestack_fixed", False):
        return
    original_create = LaunchTemplateBackend.create_launch_template

    def create_launch_template(
        self: Any, name: str, description: str, template_data: dict[str, Any], tag_spec: dict[str, Any]
    ) -> Any:
        specs = template_data.get("TagSpecifications")
        if specs:
            template_data["TagSpecifications"] = [s for s in specs if s.get("ResourceType") != "launch-template"]
        return original_create(self, name, description, template_data, tag_spec)

    def description(self: Any) -> str | None:
        return self.ip_range.get("Description") or (self.source_group or {}).get("Description")

    LaunchTemplateBackend.create_launch_template = create_launch_template
    SecurityGroupRule.description = property(description)
    LaunchTemplateBackend._gradestack_fixed = True


def add_secure_transport() -> None:
    """Bucket policies evaluated as AWS does for a TLS request (see the module docstring)."""
    from moto.iam import policy_conditions  # noqa: PLC0415  (moto only after the launcher's settings)
    from moto.iam.access_control import IAMPolicyStatement, PermissionResult  # noqa: PLC0415
    from moto.s3.models import FakeBucket  # noqa: PLC0415

    if getattr(FakeBucket, "_gradestack_secure_transport", False):
        return

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
    FakeBucket._gradestack_secure_transport = True


def add_tolerant_log_delivery_check() -> None:
    """moto's check of a log target bucket's policy crashes on a statement whose Principal is "*" (a string).

    Every bucket of ours has such a statement (the TLS-only Deny), so PutBucketLogging failed with a 500
    and Terraform retried it until its timeout. Statements without a dict Principal cannot grant the log
    delivery service anything, so they are left out of the check.
    """
    from types import SimpleNamespace  # noqa: PLC0415

    from moto.s3.models import FakeBucket  # noqa: PLC0415

    if getattr(FakeBucket, "_gradestack_log_delivery", False):
        return
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
    FakeBucket._gradestack_log_delivery = True


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


# An image in a private ECR registry: <account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag][@digest].
ECR_IMAGE = re.compile(
    r"^(?P<account>\d{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.amazonaws\.com/(?P<repository>[^:@]+)"
    r"(?::(?P<tag>[^@]+))?(?:@(?P<digest>sha256:[0-9a-f]+))?$"
)


def missing_ecr_images(images: list[str]) -> list[str]:
    """Those of ``images`` that are ECR references the emulator's ECR does not hold (others are pullable)."""
    from moto.ecr.models import ecr_backends  # noqa: PLC0415  (moto is imported only after the settings)

    missing = []
    for image in images:
        match = ECR_IMAGE.match(image)
        if not match:
            continue  # Docker Hub, public.ecr.aws, ...: outside the emulated account
        repository = ecr_backends[match["account"]][match["region"]].repositories.get(match["repository"])
        tag = match["tag"] or ("" if match["digest"] else "latest")  # no tag and no digest: Docker's default
        held = repository.images if repository else []
        if not any(
            (not tag or tag in held_image.image_tags)
            and (not match["digest"] or held_image.get_image_digest() == match["digest"])
            for held_image in held
        ):
            missing.append(image)
    return missing


def _task_definition_images(backend: Any, task_definition: str) -> list[str]:
    definition = backend.describe_task_definition(task_definition)
    return [container["image"] for container in definition.container_definitions if container.get("image")]


def _fail_to_pull(task: Any, image: str) -> None:
    """Stop ``task`` as Fargate stops a task whose image cannot be pulled."""
    from moto.core.utils import utcnow  # noqa: PLC0415

    now = utcnow()
    task.last_status = task.desired_status = "STOPPED"
    task.stop_code = "TaskFailedToStart"
    task.stopped_reason = (
        f"CannotPullContainerError: pull image manifest has been retried 5 time(s): "
        f"failed to resolve ref {image}: {image}: not found"
    )
    task.stopping_at = task.stopped_at = task.execution_stopped_at = now


def _stopped_tasks(backend: Any, service: Any, image: str, started_by: str) -> None:
    """The service's tasks, failed as Fargate fails a task whose image cannot be pulled.

    Built without a network interface: a stopped task has given its interface back (and moto 5.2's
    awsvpc task crashes on the interface's missing private_dns_name).
    """
    import copy  # noqa: PLC0415

    from moto.ecs.models import Task  # noqa: PLC0415

    cluster = backend._get_cluster(service.cluster_name)
    definition = copy.copy(backend.describe_task_definition(service.task_definition))
    definition.network_mode = "none"  # this copy only: no interface for a task that never started
    backend.tasks.setdefault(cluster.name, {})
    for _ in range(service.desired_count):
        task = Task(
            cluster,
            definition,
            None,
            None,
            backend=backend,
            group=f"service:{service.name}",
            launch_type=service.launch_type or "",
            started_by=started_by,
        )
        task.network_configuration = service.network_configuration
        _fail_to_pull(task, image)
        backend.tasks[cluster.name][task.task_arn] = task


def _roll(backend: Any, service: Any) -> Any:
    """Give ``service`` one PRIMARY deployment of its task definition, like ECS after a rollout."""
    from moto.core.utils import utcnow  # noqa: PLC0415
    from moto.moto_api._internal import mock_random  # noqa: PLC0415

    if service.deployment_controller.get("type") != "ECS":
        return service
    stuck = any(t.get("key") == FAULT_TAG and t.get("value") == "never-steady" for t in service.tags or [])
    unpullable = missing_ecr_images(_task_definition_images(backend, service.task_definition))
    running = 0 if stuck or unpullable else service.desired_count
    # Tasks that cannot pull their image stop at once: none is pending, each one failed.
    pending = 0 if unpullable else service.desired_count - running
    failed = service.desired_count if unpullable else 0
    service.running_count, service.pending_count = running, pending
    deployment_id = f"ecs-svc/{mock_random.randint(0, 32**12)}"
    previous = service.deployments[0] if service.deployments else {}
    now = utcnow()
    steady = not (stuck or unpullable)
    service.deployments = [
        {
            **previous,
            "id": deployment_id,
            "status": "PRIMARY",
            "taskDefinition": service.task_definition,
            "desiredCount": service.desired_count,
            "runningCount": running,
            "pendingCount": pending,
            "failedTasks": failed,
            "rolloutState": "COMPLETED" if steady else "IN_PROGRESS",
            "rolloutStateReason": f"ECS deployment {deployment_id} {'completed' if steady else 'in progress'}.",
            "createdAt": now,
            "updatedAt": now,
        }
    ]
    if unpullable:
        _stopped_tasks(backend, service, unpullable[0], deployment_id)
    message = (
        f"(service {service.name}) has reached a steady state."
        if steady
        else f"(service {service.name}) is unable to consistently start tasks successfully."
    )
    service.events.insert(0, {"id": str(mock_random.uuid4()), "createdAt": now, "message": message})
    return service


def add_ecs_deployments() -> None:
    """Services roll to their current task definition and run their desired count if ECR holds their images."""
    from moto.ecs.models import EC2ContainerServiceBackend  # noqa: PLC0415

    if getattr(EC2ContainerServiceBackend, "_gradestack_deployments", False):
        return
    create, update = EC2ContainerServiceBackend.create_service, EC2ContainerServiceBackend.update_service

    def create_service(self: Any, *args: Any, **kwargs: Any) -> Any:
        return _roll(self, create(self, *args, **kwargs))

    def update_service(self: Any, service_properties: dict[str, Any]) -> Any:
        return _roll(self, update(self, service_properties))

    EC2ContainerServiceBackend.create_service = create_service
    EC2ContainerServiceBackend.update_service = update_service
    EC2ContainerServiceBackend._gradestack_deployments = True


def fix_delete_marker_disposal() -> None:
    """Deleting a key whose versions include a delete marker (a deleted object, e.g. verify's
    canary) from a bucket whose versioning is suspended (Terraform's destroy suspends it before
    force_destroy empties the bucket) crashes moto 5.2 with HTTP 500: its key store disposes of
    every version and FakeDeleteMarker has no dispose(). Terraform's force_destroy then retries
    until it times out. A marker holds no data: nothing to free."""
    from moto.s3.models import FakeDeleteMarker  # noqa: PLC0415  (moto is imported only after the settings)

    if not hasattr(FakeDeleteMarker, "dispose"):
        FakeDeleteMarker.dispose = lambda self, garbage=False: None  # type: ignore[attr-defined]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    parser.add_argument(
        "--call-log",
        default=os.environ.get(CALL_LOG_ENV, ""),
        help=f"append each request's IAM action here (${CALL_LOG_ENV})",
    )
    args = parser.parse_args()

    apply_emulator_settings()
    add_debian_ami()
    add_emulated_certificate()
    add_appautoscaling_tagging()
    add_logs_query_definitions()
    add_logs_kms_association()
    fix_ec2_round_trips()
    add_ecs_deployments()
    add_secure_transport()
    add_tolerant_log_delivery_check()
    add_instance_refresh()
    fix_delete_marker_disposal()
    fix_s3_iam_actions()
    if args.call_log:
        add_call_log(args.call_log)
    from moto import server  # noqa: PLC0415  (import after the environment is set)

    server.main(["--host", args.host, "--port", str(args.port)])


if __name__ == "__main__":
    main()
