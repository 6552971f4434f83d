#!/usr/bin/python
"""Ansible module: register an image manifest under a tag in an ECR repository (ECR PutImage).

A registry push ends with PutImage after the layers are uploaded; this is that last step alone, for
an emulator (moto) that keeps manifests but has no registry to upload layers to, so that the
emulator's ECS can tell an image that was published from one that was not. Idempotent: a tag that
exists is left as it is (the stack's tags are immutable).
"""

from __future__ import annotations

import json
from typing import Any

DOCUMENTATION = r"""
---
module: gradestack_ecr_put_image
short_description: Register an image manifest under a tag in an ECR repository (PutImage), unless the tag exists
description:
  - Calls ECR PutImage with the manifest of an image, the last step of a registry push. Used against the AWS emulator,
    which keeps manifests but receives no layers; against AWS the image is pushed with the container engine.
  - The manifest is either given (I(manifest)) or described from a local image (I(local_image)) as a Docker image
    manifest v2, schema 2, whose config digest is the local image's id and whose layers are its root filesystem
    layers (their uncompressed digests, as the emulator stores no blobs to compress).
  - Idempotent, with check mode; a tag that already exists is not changed, whatever manifest it holds.
options:
  repository: {type: str, required: true, description: Repository name.}
  tag: {type: str, required: true, description: Image tag to register.}
  manifest:
    type: str
    description: The image manifest (JSON). Exactly one of I(manifest) and I(local_image).
  local_image:
    type: str
    description: A local image (name:tag) to describe the manifest from, with I(engine) image inspect.
  engine:
    type: str
    default: podman
    choices: [podman, docker]
    description: Container engine that holds I(local_image).
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
author: gradestack
"""

EXAMPLES = r"""
- name: Register the grading image with the emulator's ECR
  gradestack_ecr_put_image:
    repository: gradestack-emulated-grading
    tag: 0123456789ab
    local_image: localhost/gradestack-grading:0123456789ab
    region: ap-northeast-2
"""

RETURN = r"""
image_digest:
  description: Digest of the image the tag names (after the put, or the existing one); empty in check mode.
  type: str
  returned: success
registered:
  description: Whether this run registered the tag (false when it existed).
  type: bool
  returned: success
"""

MANIFEST_V2 = "application/vnd.docker.distribution.manifest.v2+json"
CONFIG_V1 = "application/vnd.docker.container.image.v1+json"
LAYER = "application/vnd.docker.image.rootfs.diff.tar"


def sha256(digest: str) -> str:
    return digest if digest.startswith("sha256:") else f"sha256:{digest}"


def manifest_of(inspected: dict[str, Any]) -> str:
    """A schema 2 manifest describing an image as `<engine> image inspect` reports it."""
    return json.dumps(
        {
            "schemaVersion": 2,
            "mediaType": MANIFEST_V2,
            "config": {"mediaType": CONFIG_V1, "size": 0, "digest": sha256(inspected["Id"])},
            "layers": [
                {"mediaType": LAYER, "size": 0, "digest": sha256(layer)}
                for layer in (inspected.get("RootFS") or {}).get("Layers") or []
            ],
        },
        sort_keys=True,
    )


def existing_digest(client: Any, repository: str, tag: str) -> str | None:
    from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code  # noqa: PLC0415

    try:
        images = client.describe_images(repositoryName=repository, imageIds=[{"imageTag": tag}])["imageDetails"]
    except is_boto3_error_code("ImageNotFoundException"):
        return None
    return images[0]["imageDigest"] if images else None


def main() -> None:
    from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code  # noqa: PLC0415
    from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: PLC0415
    from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415  (amazon.aws requires botocore)

    module = AnsibleAWSModule(
        argument_spec={
            "repository": {"type": "str", "required": True},
            "tag": {"type": "str", "required": True},
            "manifest": {"type": "str"},
            "local_image": {"type": "str"},
            "engine": {"type": "str", "default": "podman", "choices": ["podman", "docker"]},
        },
        mutually_exclusive=[("manifest", "local_image")],
        required_one_of=[("manifest", "local_image")],
        supports_check_mode=True,
    )
    p = module.params
    client = module.client("ecr")
    try:
        digest = existing_digest(client, p["repository"], p["tag"])
    except is_boto3_error_code("RepositoryNotFoundException"):
        module.fail_json(msg=f"ECR repository {p['repository']} does not exist: create it before registering images")
    except (BotoCoreError, ClientError) as error:  # pylint: disable=duplicate-except
        module.fail_json_aws(error, msg=f"ECR DescribeImages failed for {p['repository']}:{p['tag']}")
    if digest is not None:
        module.exit_json(changed=False, registered=False, image_digest=digest)

    manifest = p["manifest"]
    if p["local_image"]:
        rc, out, err = module.run_command(
            [module.get_bin_path(p["engine"], required=True), "image", "inspect", p["local_image"]]
        )
        if rc != 0:
            module.fail_json(msg=f"{p['engine']} image inspect {p['local_image']} failed: {err.strip() or out.strip()}")
        manifest = manifest_of(json.loads(out)[0])
    else:
        try:
            json.loads(manifest)
        except ValueError as error:
            module.fail_json(msg=f"manifest is not JSON: {error}")
    if module.check_mode:
        module.exit_json(changed=True, registered=True, image_digest="")
    try:
        image = client.put_image(repositoryName=p["repository"], imageTag=p["tag"], imageManifest=manifest)["image"]
    except is_boto3_error_code("ImageAlreadyExistsException"):  # registered by a concurrent run since we looked
        module.exit_json(
            changed=False, registered=False, image_digest=existing_digest(client, p["repository"], p["tag"])
        )
    except (BotoCoreError, ClientError) as error:  # pylint: disable=duplicate-except
        module.fail_json_aws(error, msg=f"ECR PutImage failed for {p['repository']}:{p['tag']}")
    module.exit_json(changed=True, registered=True, image_digest=image["imageId"]["imageDigest"])


if __name__ == "__main__":
    main()
