"""Helpers and fixtures for driving the real Terraform CLI against the repo's terraform/ stack.

- ``terraform_cli`` (session fixture): the terraform binary plus an environment whose
  TF_CLI_CONFIG_FILE is the repo-generated CLI configuration (provider mirror when the
  machine has one). Missing terraform or provider: skip locally, fail under CI=true.
- ``tfvars_for(env)``: root-module variables for an environment, read from group_vars
  (all/*.yml, then <env>.yml), keeping only keys that are root variable names and
  supplying test secrets and a test image for what group_vars resolves at deploy time.
- ``emulator_override(endpoint)``: a provider override file pointing every service the
  stack uses at an AWS emulator (moto), written next to a *copy* of the root module.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from testsupport.ci import require

REPO = Path(__file__).resolve().parent.parent
TERRAFORM_DIR = REPO / "terraform"
CLI_CONFIG = REPO / ".cache" / "terraform" / "cli.tfrc"
SETUP_STEP = REPO / "scripts" / "setup.d" / "20-terraform.sh"
ENVIRONMENTS = ("dev", "staging", "production")

# Every AWS service the stack calls; the emulator override sends each of them to moto.
EMULATED_SERVICES = (
    "applicationautoscaling",
    "autoscaling",
    "cloudwatch",
    "ec2",
    "ecr",
    "ecs",
    "elbv2",
    "iam",
    "kms",
    "logs",
    "mq",
    "rds",
    "s3",
    "scheduler",
    "sns",
    "ssm",
    "sts",
)

# Secrets and the image are resolved at deploy time (SSM lookups, the image build);
# tests supply values that satisfy the variables' validation rules.
# One broker password per account of group_vars mq_users (mq_passwords, by client).
TEST_MQ_PASSWORDS = {
    "web": "Test-mq-web-password-0123",
    "worker": "Test-mq-worker-password-0123",
    "verify": "Test-mq-verify-password-0123",
}
TEST_SECRETS = {
    "db_password": "Test-db-password-0123",
    "mq_passwords": TEST_MQ_PASSWORDS,
}
# Every secret value of TEST_SECRETS: none may show in a plan's user data, an SSM value, ...
TEST_SECRET_VALUES = (TEST_SECRETS["db_password"], *TEST_MQ_PASSWORDS.values())
TEST_IMAGE = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/gradestack-test-grading:0123abc"
TEST_VERIFIER_IMAGE = "123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/gradestack-test-verifier:0123abc"


@dataclass
class TerraformCli:
    binary: str
    env: dict[str, str] = field(default_factory=dict)

    def run(
        self, args: list[str], cwd: Path, extra_env: dict[str, str] | None = None, timeout: float = 900, check=True
    ) -> subprocess.CompletedProcess[str]:
        env = {**self.env, **(extra_env or {})}
        result = subprocess.run(
            [self.binary, *args],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )
        if check and result.returncode != 0:
            raise AssertionError(
                f"terraform {' '.join(args)} failed in {cwd} (exit {result.returncode}):\n"
                f"{result.stdout[-6000:]}\n{result.stderr[-6000:]}"
            )
        return result


def make_cli() -> TerraformCli:
    binary = shutil.which("terraform")
    require(binary is not None, "terraform is not installed (need >= 1.5 on PATH); see README 'Setup'")
    # Regenerate the CLI configuration exactly as `make setup` does.
    subprocess.run(["bash", str(SETUP_STEP)], check=True, capture_output=True, text=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "TF_"))}
    env["TF_IN_AUTOMATION"] = "1"
    env["TF_INPUT"] = "0"
    env["CHECKPOINT_DISABLE"] = "1"
    if CLI_CONFIG.exists():
        env["TF_CLI_CONFIG_FILE"] = str(CLI_CONFIG)
    else:
        # No mirror: the public registry; an explicit empty config overrides a stale user setting.
        env["TF_CLI_CONFIG_FILE"] = os.devnull
    return TerraformCli(binary=binary, env=env)


def provider_available(cli: TerraformCli) -> bool:
    """True when hashicorp/aws can be installed (mirror configured, or a registry is assumed)."""
    return CLI_CONFIG.exists() or os.environ.get("GRADESTACK_TF_REGISTRY", "") == "1"


@pytest.fixture(scope="session")
def terraform_cli() -> TerraformCli:
    cli = make_cli()
    require(
        provider_available(cli),
        "no provider mirror at /opt/tf-plugins (TF_PLUGIN_MIRROR) and registry use not enabled "
        "(set GRADESTACK_TF_REGISTRY=1 on a machine with internet access)",
    )
    return cli


# --- Variables ---------------------------------------------------------------------------

_VARIABLE_RE = re.compile(r'^variable\s+"([A-Za-z0-9_]+)"', re.MULTILINE)


def root_variable_names(root: Path = TERRAFORM_DIR) -> set[str]:
    names: set[str] = set()
    for tf in root.glob("*.tf"):
        names.update(_VARIABLE_RE.findall(tf.read_text()))
    return names


def _load_yaml(path: Path) -> dict:
    data = yaml.safe_load(path.read_text()) or {}
    if not isinstance(data, dict):
        raise AssertionError(f"{path} is not a YAML mapping")
    return data


def group_vars_for(env: str) -> dict:
    group_vars = REPO / "group_vars"
    merged: dict = {}
    for path in sorted((group_vars / "all").glob("*.yml")):
        merged.update(_load_yaml(path))
    env_file = group_vars / f"{env}.yml"
    if not env_file.exists():
        raise AssertionError(f"{env_file} is missing: every environment needs its settings file")
    merged.update(_load_yaml(env_file))
    return merged


def tfvars_for(env: str, **overrides: object) -> dict:
    """Root variables for ``env`` from group_vars, with test secrets and image; templated values are dropped."""
    names = root_variable_names()
    values = {k: v for k, v in group_vars_for(env).items() if k in names}
    for key, value in list(values.items()):
        if isinstance(value, str) and "{{" in value:
            del values[key]  # resolved by Ansible at deploy time (SSM lookups)
    values.update(TEST_SECRETS)
    if not values.get("grading_container_image"):
        values["grading_container_image"] = TEST_IMAGE
    if not values.get("verifier_container_image"):
        values["verifier_container_image"] = TEST_VERIFIER_IMAGE
    values.update(overrides)
    return values


def write_tfvars(directory: Path, env: str, **overrides: object) -> Path:
    path = directory / f"{env}.tfvars.json"
    path.write_text(json.dumps(tfvars_for(env, **overrides), indent=2))
    return path


# --- Emulator -----------------------------------------------------------------------------


def emulator_override(endpoint: str) -> str:
    """HCL of a provider override that sends every service to ``endpoint`` with fake credentials."""
    endpoints = "\n".join(f'    {service} = "{endpoint}"' for service in EMULATED_SERVICES)
    return f"""# Generated by testsupport/terraform.py for tests against an AWS emulator; never committed.
provider "aws" {{
  access_key                  = "testing"
  secret_key                  = "testing"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  s3_use_path_style           = true
  # An emulator gap answers 500/501; fail in seconds instead of the provider's 25 retries.
  max_retries = 2

  endpoints {{
{endpoints}
  }}
}}
"""


LOCAL_BACKEND_OVERRIDE = """# Generated by testsupport/terraform.py: tests keep state in the working copy, not in S3.
terraform {
  backend "local" {}
}
"""


def copy_root_module(destination: Path) -> Path:
    """A copy of terraform/ without local state or caches, so tests never touch the work tree's."""
    ignore = shutil.ignore_patterns(".terraform", "*.tfstate*", "*_override.tf", "terraform.tfvars", "*.tfplan")
    shutil.copytree(TERRAFORM_DIR, destination, ignore=ignore)
    return destination


# --- Templates ----------------------------------------------------------------------------


def render_template(cli: TerraformCli, template: Path, variables: dict, workdir: Path) -> str:
    """``template`` rendered by Terraform's own templatefile() with ``variables`` (via `terraform console`)."""
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "template_vars.json").write_text(json.dumps(variables))
    expression = f'base64encode(templatefile({json.dumps(str(template))}, jsondecode(file("template_vars.json"))))'
    return base64.b64decode(console(cli, workdir, expression).strip('"')).decode()


def console(cli: TerraformCli, workdir: Path, expression: str, *args: str) -> str:
    """``expression`` evaluated by `terraform console` in ``workdir`` (``args``: e.g. -var-file=...); its output."""
    result = subprocess.run(
        [cli.binary, "console", *args],
        input=expression + "\n",
        cwd=workdir,
        env=cli.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if result.returncode != 0:
        raise AssertionError(f"terraform console failed on {expression[:200]}:\n{result.stdout}\n{result.stderr}")
    return result.stdout.strip()
