"""Fixtures of the AWS-path tests: the emulated environment's AWS (moto through scripts/emulated.sh)."""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from testsupport.ansible import REPO, playbook_env, run_playbook
from testsupport.ports import free_port, wait_for_port

REGION = "ap-northeast-2"
SECRETS = {
    "db_password": "Emu-db-Passw0rd-1234",
    "mq_admin_password": "Emu-mq-Passw0rd-5678",
    "web_secret_key": "Emu-web-Secret-Key-0123456789abcdef-XYZ",
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


def entry(name: str) -> str:
    """The root entry playbook once it runs the AWS stages; until then the AWS path's own aggregate."""
    root = REPO / name
    if root.exists() and "aws/" in root.read_text():
        return name
    return f"playbooks/aws/{name}"


@pytest.fixture(scope="module")
def emulated_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedAws]:
    """The emulated environment's AWS for one test module, with the secrets stored in its SSM."""
    directory = tmp_path_factory.mktemp("emulated")
    port = free_port()
    log_path = directory / "moto.log"
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            ["bash", str(REPO / "scripts" / "emulated.sh"), "serve", "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
        )
    try:
        wait_for_port(port, timeout=90, process=process)
    except Exception:
        process.kill()
        raise RuntimeError(f"the emulator did not start:\n{log_path.read_text()[-3000:]}") from None
    aws = EmulatedAws(f"http://127.0.0.1:{port}", directory / "state", process, log_path)
    ssm = aws.client("ssm")
    for name, value in SECRETS.items():
        ssm.put_parameter(Name=f"/gradestack/emulated/{name}", Value=value, Type="SecureString")
    yield aws
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        process.kill()
