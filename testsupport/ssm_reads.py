"""What each principal inside an AWS environment reads from SSM, relative to the parameter prefix.

One list per reader, held against both sides. moto enforces no IAM, so a read the policy
forbids would otherwise fail only in AWS:

- the web hosts' boot script (terraform/modules/compute/templates/user_data.sh.tftpl):
  tests/local/test_web_boot.py records a real boot's reads in moto's call log and compares;
- the scheduled verifier (verify.yml with verify_vantage=network): tests/aws records its
  reads (a subset there: against the emulator it skips the broker and database logins);

and tests/terraform/test_emulator.py checks that each applied role policy allows exactly its
reader's list among every parameter under the prefix.
"""

from __future__ import annotations

from collections.abc import Iterable

WEB_HOST_SSM_READS = frozenset(
    {
        ("ssm:GetParameter", "web/release"),
        ("ssm:GetParametersByPath", "db"),
        ("ssm:GetParametersByPath", "mq/web"),
        ("ssm:GetParametersByPath", "web/settings"),
        ("ssm:GetParameters", "mq/endpoints"),
        ("ssm:GetParameters", "web_secret_key"),
    }
)

# amazon.aws.ssm_parameter looks each name up with GetParameter.
VERIFIER_SSM_READS = frozenset(
    {
        ("ssm:GetParameter", "verify/stack"),
        ("ssm:GetParameter", "mq_verify_password"),
        ("ssm:GetParameter", "db_password"),
        ("ssm:GetParameter", "verify_api_token"),
    }
)


def ssm_reads(calls: Iterable[dict], prefix: str) -> set[tuple[str, str]]:
    """(action, name relative to ``prefix``) of every SSM read below ``prefix`` among call-log records."""
    prefix = prefix.rstrip("/") + "/"
    return {
        (call["action"], name.removeprefix(prefix))
        for call in calls
        if call["action"].startswith("ssm:Get")
        for name in call.get("parameters", [])
        if name.startswith(prefix)
    }
