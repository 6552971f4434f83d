"""pytest fixtures: a moto server (the AWS emulator) started through scripts/moto_server.py."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from testsupport.ports import free_port, wait_for_port

REPO = Path(__file__).resolve().parent.parent
PERMISSIONS_BOUNDARY_DOCUMENT = REPO / "docs" / "iam" / "permissions-boundary.json"


def read_call_log(path: Path) -> list[dict]:
    """The records of scripts/moto_server.py's call log (one JSON object per request), in order."""
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


class MotoServer:
    def __init__(self, endpoint: str, process: subprocess.Popen, log_path: Path, call_log: Path | None = None) -> None:
        self.endpoint = endpoint
        self.process = process
        self.log_path = log_path
        self.call_log = call_log

    def calls(self) -> list[dict]:
        """Every request the server authorized so far (scripts/moto_server.py's call log), in order."""
        if self.call_log is None:
            raise RuntimeError("this moto server was started without a call log (GRADESTACK_MOTO_CALL_LOG)")
        return read_call_log(self.call_log)

    def reset(self) -> None:
        """Forget every resource (moto's own reset API)."""
        # The URL is the loopback endpoint this fixture built, never user input.
        request = urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")  # noqa: S310
        with urllib.request.urlopen(request, timeout=30):  # noqa: S310
            pass

    def stop(self) -> None:
        """Stop the server (its account and everything in it are gone)."""
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()

    def client(self, service: str, *, access_key: str = "testing"):
        """A boto3 client of ``service`` against this server (moto accepts any secret)."""
        import boto3  # noqa: PLC0415  (the fixtures above need no AWS SDK)

        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name="ap-northeast-2",
            aws_access_key_id=access_key,
            aws_secret_access_key="testing",  # noqa: S106 - moto accepts any
        )

    def client_env(self) -> dict[str, str]:
        """Environment for a process (boto3, ansible, terraform) that should talk to this moto."""
        return {
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_SESSION_TOKEN": "testing",
            "AWS_DEFAULT_REGION": "ap-northeast-2",
            "AWS_REGION": "ap-northeast-2",
            "AWS_ENDPOINT_URL": self.endpoint,
        }


PERMISSIONS_BOUNDARY = "gradestack-permissions-boundary"


def create_permissions_boundary(iam) -> str:
    """The account administrator's once-per-account step (README, AWS step 1), in an emulated account.

    ``iam`` is a boto3 IAM client; returns the policy's ARN. Creating it again is not an error.
    """
    document = PERMISSIONS_BOUNDARY_DOCUMENT.read_text()
    try:
        return iam.create_policy(PolicyName=PERMISSIONS_BOUNDARY, PolicyDocument=document)["Policy"]["Arn"]
    except iam.exceptions.EntityAlreadyExistsException:
        arns = [
            p["Arn"] for p in iam.list_policies(Scope="Local")["Policies"] if p["PolicyName"] == PERMISSIONS_BOUNDARY
        ]
        return arns[0]


def start_moto(log_dir: Path, extra_env: dict[str, str] | None = None, *, detach: bool = False) -> MotoServer:
    """A moto server on a free loopback port; ``extra_env`` sets moto's switches (e.g. INITIAL_NO_AUTH_ACTION_COUNT).

    ``detach``: in a session of its own, so that it outlives the caller's process group (a Molecule step).
    """
    port = free_port()
    log_path = log_dir / f"moto-{port}.log"
    log = log_path.open("wb")
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")} | (extra_env or {})
    process = subprocess.Popen(
        [sys.executable, str(REPO / "scripts" / "moto_server.py"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        start_new_session=detach,
    )
    try:
        wait_for_port(port, timeout=60, process=process)
    except Exception:
        process.kill()
        raise RuntimeError(f"moto server did not start; see {log_path}:\n{log_path.read_text()[-2000:]}") from None
    call_log = env.get("GRADESTACK_MOTO_CALL_LOG")
    return MotoServer(f"http://127.0.0.1:{port}", process, log_path, Path(call_log) if call_log else None)


@pytest.fixture(scope="session")
def moto_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MotoServer]:
    """One moto server for the whole session; tests that need a clean slate call ``reset()``."""
    directory = tmp_path_factory.mktemp("moto")
    server = start_moto(directory, {"GRADESTACK_MOTO_CALL_LOG": str(directory / "calls.jsonl")})
    yield server
    server.stop()
