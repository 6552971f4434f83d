#!/usr/bin/python
"""An ECR registry login (user AWS, a 12-hour token) for `podman login` / `docker login`.

Use with no_log: the returned password is a credential.
"""

from __future__ import annotations

import base64

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: ecr_login_token
short_description: Get an ECR authorization token (registry, username, password)
options:
  region:
    description: AWS region of the registry.
    type: str
    required: true
author: gradestack
"""

RETURN = r"""
registry: {description: Registry host (account.dkr.ecr.region.amazonaws.com)., type: str}
username: {description: Login user (AWS)., type: str}
password: {description: The token; a credential., type: str}
"""


def main() -> None:
    module = AnsibleModule(argument_spec={"region": {"type": "str", "required": True}}, supports_check_mode=True)
    try:
        import boto3  # noqa: PLC0415
        from botocore.exceptions import BotoCoreError, ClientError  # noqa: PLC0415
    except ImportError:
        module.fail_json(msg="boto3 is required on the control node (pip install boto3)")
    try:
        data = boto3.client("ecr", region_name=module.params["region"]).get_authorization_token()["authorizationData"][
            0
        ]
    except (BotoCoreError, ClientError) as error:
        module.fail_json(msg=f"ecr:GetAuthorizationToken failed: {error}")
    username, _, password = base64.b64decode(data["authorizationToken"]).decode().partition(":")
    registry = data["proxyEndpoint"].removeprefix("https://")
    module.exit_json(changed=False, registry=registry, username=username, password=password)


if __name__ == "__main__":
    main()
