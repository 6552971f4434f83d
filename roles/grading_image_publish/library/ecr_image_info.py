#!/usr/bin/python
"""Does an ECR repository exist, and does it already hold an image tag?

Image tags are immutable git commits, so "the tag exists" means "this exact build
was pushed before": the deploy then neither rebuilds nor pushes. Credentials,
region and endpoint come from the usual AWS settings (AWS_ENDPOINT_URL for an
emulator).
"""

from __future__ import annotations

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: ecr_image_info
short_description: Whether an ECR repository exists and holds an image tag
options:
  repository:
    description: Repository name.
    type: str
    required: true
  tag:
    description: Image tag to look for.
    type: str
    required: true
  region:
    description: AWS region.
    type: str
    required: true
author: gradestack
"""

RETURN = r"""
repository_exists: {description: The repository exists., type: bool}
repository_uri: {description: URI of the repository (empty when missing)., type: str}
image_exists: {description: The tag exists in the repository., type: bool}
image_digest: {description: Digest of the tagged image (empty when missing)., type: str}
"""


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "repository": {"type": "str", "required": True},
            "tag": {"type": "str", "required": True},
            "region": {"type": "str", "required": True},
        },
        supports_check_mode=True,
    )
    try:
        import boto3  # noqa: PLC0415  (reported as a module failure, not an import crash)
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415
    except ImportError:
        module.fail_json(msg="boto3 is required on the control node (pip install boto3)")
    client = boto3.client("ecr", region_name=module.params["region"])
    name, tag = module.params["repository"], module.params["tag"]
    result = {
        "changed": False,
        "repository_exists": False,
        "repository_uri": "",
        "image_exists": False,
        "image_digest": "",
    }
    try:
        repositories = client.describe_repositories(repositoryNames=[name])["repositories"]
        result.update(repository_exists=True, repository_uri=repositories[0]["repositoryUri"])
        images = client.describe_images(repositoryName=name, imageIds=[{"imageTag": tag}])["imageDetails"]
        if images:
            result.update(image_exists=True, image_digest=images[0].get("imageDigest", ""))
    except ClientError as error:
        code = error.response.get("Error", {}).get("Code", "")
        if code not in {"RepositoryNotFoundException", "ImageNotFoundException"}:
            module.fail_json(msg=f"ECR describe failed for {name}:{tag}: {error}")
    except BotoCoreError as error:
        module.fail_json(msg=f"ECR describe failed for {name}:{tag}: {error}")
    module.exit_json(**result)


if __name__ == "__main__":
    main()
