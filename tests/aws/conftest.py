"""Fixtures of the AWS-path tests: the emulated environment's AWS (moto through scripts/moto_server.py)."""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import pytest

from testsupport.ansible import playbook_env, run_playbook
from testsupport.moto import create_permissions_boundary, read_call_log, start_moto
from testsupport.ssm_reads import ssm_reads

REGION = "ap-northeast-2"
# Who signs a request to the emulator: moto accepts any key, and its call log (scripts/moto_server.py)
# records the signing key with each call, so that each principal's calls can be told apart.
DEPLOYER_KEY = "AKIAGRADESTACKDEPLOY"  # deploy.yml, rollback.yml, destroy.yml: the deploying principal
VERIFIER_KEY = "AKIAGRADESTACKVERIFY"  # verify.yml on its own, from the operator's vantage
VERIFIER_TASK_KEY = "AKIAGRADESTACKVTASK0"  # verify.yml with verify_vantage=network: the verifier task's role
HARNESS_KEY = "AKIAGRADESTACKHARNES"  # the tests' own boto3 clients and Terraform commands (setup, faults)
SECRETS = {
    "db_password": "Emu-db-Passw0rd-1234",
    "mq_web_password": "Emu-mq-Web-Passw0rd-5678",
    "mq_worker_password": "Emu-mq-Worker-Passw0rd-9012",
    "mq_verify_password": "Emu-mq-Verify-Passw0rd-3456",
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
    call_log: Path

    def client_env(self, access_key: str = DEPLOYER_KEY) -> dict[str, str]:
        """The environment of a process that reaches the emulator as ``access_key``'s principal."""
        return {
            "AWS_ENDPOINT_URL": self.endpoint,
            "AWS_ACCESS_KEY_ID": access_key,
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
        }

    def calls(self, access_key: str) -> list[str]:
        """The IAM actions of every request ``access_key`` signed so far, in order (the emulator's call log)."""
        return [call["action"] for call in read_call_log(self.call_log) if call["access_key"] == access_key]

    def ssm_reads(self, access_key: str, prefix: str = "/gradestack/emulated") -> set[tuple[str, str]]:
        """(action, name relative to ``prefix``) of every SSM read ``access_key`` signed below ``prefix``."""
        return ssm_reads([c for c in read_call_log(self.call_log) if c["access_key"] == access_key], prefix)

    def signing_keys(self) -> set[str]:
        """Every access key that signed a request so far ("" for an unsigned one)."""
        return {call["access_key"] for call in read_call_log(self.call_log)}

    def client(self, service: str):
        """A boto3 client of the tests themselves (not the deployer: see HARNESS_KEY)."""
        env = self.client_env(HARNESS_KEY)
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )

    def run(
        self,
        playbook: str,
        *args: str,
        extra_vars: dict | None = None,
        env: dict | None = None,
        access_key: str = DEPLOYER_KEY,
    ):
        """ansible-playbook <playbook> -i inventories/emulated, as scripts/emulated.sh runs it, as ``access_key``."""
        return run_playbook(
            playbook,
            inventory="inventories/emulated",
            extra_vars={"gradestack_state_dir": str(self.state_dir), **(extra_vars or {})},
            args=list(args),
            env=env if env is not None else playbook_env(aws=self.client_env(access_key)),
            timeout=2400,
        )


@pytest.fixture(scope="module")
def emulated_aws(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EmulatedAws]:
    """The emulated environment's AWS for one test module, with the secrets stored in its SSM.

    A moto server of its own (scripts/moto_server.py, as `scripts/emulated.sh` starts it), not the
    session's shared one: these tests deploy, break and destroy a whole account. It logs every call
    with its signing key (calls.jsonl), for the deployer policy's test.
    """
    directory = tmp_path_factory.mktemp("emulated")
    call_log = directory / "calls.jsonl"
    server = start_moto(directory, extra_env={"GRADESTACK_MOTO_CALL_LOG": str(call_log)})
    aws = EmulatedAws(server.endpoint, directory / "state", server.process, server.log_path, call_log)
    ssm = aws.client("ssm")
    for name, value in SECRETS.items():
        ssm.put_parameter(Name=f"/gradestack/emulated/{name}", Value=value, Type="SecureString")
    create_permissions_boundary(aws.client("iam"))
    yield aws
    server.stop()
