#!/usr/bin/python
"""Ansible module: does a customer managed IAM policy exist (by name or ARN)?

Preflight asks it about the permissions boundary every role of the stack carries
(`iam_permissions_boundary`). An administrator creates that policy once per account; the deployer
may not. Without it, Terraform fails half-way through the first apply on the first role it
creates, after the network and the buckets exist; asked before the apply, the missing policy is
one clear line with the command that creates it. amazon.aws has no info module for managed
policies, hence this one.
"""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: gradestack_iam_policy_info
short_description: Whether a customer managed IAM policy exists, by name or ARN
description:
  - Reads the policy with iam:GetPolicy. A policy name is taken as a customer managed policy at the account's root
    path (C(arn:<partition>:iam::<account>:policy/<name>)); the account and partition come from
    sts:GetCallerIdentity.
  - A missing policy is not an error (I(exists=false)); any other error (e.g. AccessDenied) fails the task.
  - Reads only; supports check mode.
  - Endpoint, region and credentials are taken like the amazon.aws modules (C(endpoint_url) reaches moto).
options:
  policy:
    type: str
    required: true
    description: The policy's name or its full ARN.
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Look up the permissions boundary
  gradestack_iam_policy_info:
    policy: gradestack-permissions-boundary
    region: ap-northeast-2
  register: boundary
"""

RETURN = r"""
arn:
  description: The ARN looked up.
  returned: always
  type: str
exists:
  description: Whether the policy exists.
  returned: always
  type: bool
"""


def policy_arn(policy: str, caller_arn: str, account: str) -> str:
    """``policy`` as an ARN: a name is a customer managed policy of the caller's account and partition."""
    if policy.startswith("arn:"):
        return policy
    partition = caller_arn.split(":")[1]
    return f"arn:{partition}:iam::{account}:policy/{policy}"


def main() -> None:
    # Imported here so that the pure function above can be unit tested without the collection.
    from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code  # noqa: PLC0415
    from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: PLC0415

    module = AnsibleAWSModule(argument_spec={"policy": {"type": "str", "required": True}}, supports_check_mode=True)
    arn = module.params["policy"]
    try:
        if not arn.startswith("arn:"):
            identity = module.client("sts").get_caller_identity()
            arn = policy_arn(arn, identity["Arn"], identity["Account"])
        module.client("iam").get_policy(PolicyArn=arn)
    except is_boto3_error_code("NoSuchEntity"):
        module.exit_json(changed=False, arn=arn, exists=False)
    except Exception as exc:
        module.fail_json_aws(exc, msg=f"could not read the IAM policy {arn}")
    module.exit_json(changed=False, arn=arn, exists=True)


if __name__ == "__main__":
    main()
