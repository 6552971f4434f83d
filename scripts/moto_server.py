#!/usr/bin/env python3
"""Start moto server as gradestack's AWS emulator.

This is the one place that knows how moto 5.x differs from AWS for our stack;
tests, `make emulated` and the local environment's AWS stand-in all start moto
through it. Adjustments (see DESIGN.md section 5):

- AWS managed IAM policies are loaded (MOTO_IAM_LOAD_MANAGED_POLICIES) so that
  policy attachments such as AmazonECSTaskExecutionRolePolicy resolve.
- ECS services report their tasks as running (MOTO_ECS_SERVICE_RUNNING).
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

Usage: moto_server.py [--host 127.0.0.1] [--port 5000]
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any

# Debian's official AWS account (https://wiki.debian.org/Cloud/AmazonEC2Image).
DEBIAN_OWNER_ID = "136693071363"
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


def apply_emulator_settings() -> None:
    """Environment switches moto reads at import time; must run before moto is imported."""
    os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    os.environ.setdefault("MOTO_ECS_SERVICE_RUNNING", "true")
    # moto signs nothing, but boto-based code inside moto wants a region.
    os.environ.setdefault("AWS_DEFAULT_REGION", "ap-northeast-2")


def add_debian_ami() -> None:
    """Put a Debian 12 AMI into the catalogue every region's EC2 backend loads when it is first used."""
    if os.environ.get("GRADESTACK_MOTO_DEBIAN_AMI", "true").lower() in {"0", "false", "no"}:
        return
    from moto.ec2.models import amis  # noqa: PLC0415  (moto is imported only after the settings above)

    if not any(ami["ami_id"] == DEBIAN_12_AMI["ami_id"] for ami in amis.AMIS):
        amis.AMIS.append(dict(DEBIAN_12_AMI))


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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=5000)
    args = parser.parse_args()

    apply_emulator_settings()
    add_debian_ami()
    add_appautoscaling_tagging()
    add_logs_query_definitions()
    fix_ec2_round_trips()
    from moto import server  # noqa: PLC0415  (import after the environment is set)

    server.main(["--host", args.host, "--port", str(args.port)])


if __name__ == "__main__":
    main()
