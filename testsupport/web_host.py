"""What an AWS web host reads from SSM at boot, relative to the environment's parameter prefix.

One list for the two tests that hold the boot script (terraform/modules/compute/templates/
user_data.sh.tftpl) and the web hosts' instance role together: tests/local/test_web_boot.py
records the reads of a real boot in moto's call log and compares them with this list;
tests/terraform/test_emulator.py checks that the applied instance-role policy allows each of
them. moto enforces no IAM, so neither test alone would catch a read the policy forbids.
"""

from __future__ import annotations

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
