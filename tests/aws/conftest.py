"""Fixtures of the AWS-path tests: the emulated environment's AWS (moto through scripts/moto_server.py)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from testsupport.ansible import playbook_env, run_playbook
from testsupport.moto import start_moto

REGION = "ap-northeast-2"
SECRETS = {
    "db_password": "Emu-db-Passw0rd-1234",
    "mq_admin_password": "Emu-mq-Passw0rd-5678",
    "web_secret_key": "Emu-web-Secret-Key-0123456789abcdef-XYZ",
    "verify_api_token": "Emu-verify-Api-Token-0123456789abcdef-XYZ",
}


@dataclass
class EmulatedAws:
    """A running emulator, the environment to reach it, and a state directory private to the tests."""

    endpoint: str
    state_dir: Path
    process: subprocess.Popen
    log_path: Path

    def client_env(self) -> dict[str, str]:
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
        }

    def client(self, service: str):
        env = self.client_env()
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )

    def run(self, playbook: str, *args: str, extra_vars: dict | None = None, env: dict | None = None):
        """ansible-playbook <playbook> -i inventories/emulated, as scripts/emulated.sh runs it."""
        return run_playbook(
            playbook,
            inventory="inventories/emulated",
            extra_vars={"gradestack_state_dir": str(self.state_dir), **(extra_vars or {})},
            args=list(args),
            env=env if env is not None else playbook_env(aws=self.client_env()),
            timeout=2400,
        )


@pytest.fixture(scope="module")
def emulated_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedAws]:
    """The emulated environment's AWS for one test module, with the secrets stored in its SSM.

    A moto server of its own (scripts/moto_server.py, as `scripts/emulated.sh` starts it), not the
    session's shared one: these tests deploy, break and destroy a whole account.
    """
    directory = tmp_path_factory.mktemp("emulated")
    server = start_moto(directory)
    aws = EmulatedAws(server.endpoint, directory / "state", server.process, server.log_path)
    ssm = aws.client("ssm")
    for name, value in SECRETS.items():
        ssm.put_parameter(Name=f"/gradestack/emulated/{name}", Value=value, Type="SecureString")
    yield aws
    server.stop()
