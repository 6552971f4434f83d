"""Helpers for the verifiers of the Molecule scenarios that run a role on the control node.

Molecule runs the verifier with the provisioner's environment (AWS_CONFIG_FILE pointing at
the scenario's emulator, ANSIBLE_CONFIG, ...) and MOLECULE_* variables; these helpers read
what the create and converge steps left in the scenario's ephemeral directory.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3

REPO = Path(__file__).resolve().parent.parent
REGION = "ap-northeast-2"


def ephemeral_dir() -> Path:
    """The scenario's ephemeral directory (moto.json, facts.json, the inventory)."""
    return Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"])


def moto_endpoint() -> str:
    """Endpoint of the emulator the scenario's create step started."""
    return json.loads((ephemeral_dir() / "moto.json").read_text())["endpoint"]


def aws(service: str) -> Any:
    """A boto3 client for the scenario's emulator."""
    return boto3.client(
        service,
        endpoint_url=moto_endpoint(),
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 (moto's fixed test credentials)
    )


def facts() -> dict[str, Any]:
    """The facts the converge playbook saved (facts.json in the ephemeral directory)."""
    return json.loads((ephemeral_dir() / "facts.json").read_text())


def run_playbook(
    playbook: Path, extra_vars: dict[str, Any] | None = None, options: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """Run a playbook of the scenario against Molecule's inventory, as Molecule does, and capture its output."""
    argv = [
        str(Path(sys.executable).parent / "ansible-playbook"),
        "--inventory",
        str(Path(os.environ["MOLECULE_INVENTORY_FILE"]).parent),  # the directory: its group_vars links apply too
        str(playbook),
    ]
    if extra_vars:
        argv += ["--extra-vars", json.dumps(extra_vars)]
    argv += options
    # One message a line (the yaml result format folds long ones), no colour codes.
    env = dict(os.environ, ANSIBLE_FORCE_COLOR="false", ANSIBLE_NOCOLOR="true", ANSIBLE_CALLBACK_RESULT_FORMAT="json")
    return subprocess.run(argv, capture_output=True, text=True, check=False, timeout=600, env=env)
