"""The preflight stage, driven through ansible-playbook as a user runs it.

Cloud environments are checked against moto (SSM Parameter Store for the
secrets, STS for the credentials), so every check of the real path runs.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import boto3
import pytest

from testsupport.ansible import REPO, playbook_env, run_playbook
from testsupport.moto import create_permissions_boundary

# The preflight stage alone, through the entry playbook a user runs.
PREFLIGHT = "deploy.yml"
ONLY_PREFLIGHT = ["--tags", "preflight"]
GOOD_DB_PASSWORD = "Sx8kq2LmPz9w"  # noqa: S105  (test value stored in moto only)
GOOD_MQ_PASSWORD = "Qm4vT8nRz2Lp7Kx"  # noqa: S105
# One password per broker account (group_vars mq_users), each different.
GOOD_MQ_PASSWORDS = {
    "mq_web_password": GOOD_MQ_PASSWORD,
    "mq_worker_password": "Wk9rP3sLm7Xq2Tz",
    "mq_verify_password": "Vf5yH8cNq1Rb6Jd",
}
GOOD_WEB_SECRET_KEY = "7c1e9a4f0b2d8e6a3f5c7b9d1e0a2c4f6b8d0e2a"  # noqa: S105
CERTIFICATE = "arn:aws:acm:ap-northeast-2:123456789012:certificate/0e1a7ed0-5173-4c3e-8a1f-000000000443"
# What the operator adds for staging and production before the first deploy (README,
# "HTTPS set-up" and "Alarm recipients"): the repository leaves both empty.
OPERATOR_SETTINGS = {"certificate_arn": CERTIFICATE, "alarm_email_addresses": ["oncall@example.org"]}
GOOD_VERIFY_API_TOKEN = "Vt3kP9wQ2xLm7Rn4Zb8Hc1Jd6Gf5Ye0Ua2Kc"  # noqa: S105


def problems_of(output: str) -> list[str]:
    """The problem lines of a failed preflight run (Ansible prints the failure message twice)."""
    lines = [line.strip()[2:] for line in output.splitlines() if line.strip().startswith("- ") and "; fix: " in line]
    return list(dict.fromkeys(lines))


@pytest.fixture
def cloud_env(moto_server) -> dict[str, str]:
    """ansible-playbook environment talking to moto, with the secrets stored in SSM.

    The session's moto is shared with other modules (their S3 buckets): never reset it. Each
    test writes its own parameters again (Overwrite), undoing what an earlier test deleted."""
    ssm = boto3.client("ssm", endpoint_url=moto_server.endpoint, **_boto_args(moto_server))
    for environment in ("dev", "staging", "production"):
        for name, value in (
            ("db_password", GOOD_DB_PASSWORD),
            *GOOD_MQ_PASSWORDS.items(),
            ("web_secret_key", GOOD_WEB_SECRET_KEY),
            ("verify_api_token", GOOD_VERIFY_API_TOKEN),
        ):
            ssm.put_parameter(
                Name=f"/gradestack/{environment}/{name}", Value=value, Type="SecureString", Overwrite=True
            )
    create_permissions_boundary(boto3.client("iam", endpoint_url=moto_server.endpoint, **_boto_args(moto_server)))
    return playbook_env(aws=moto_server.client_env())


def _boto_args(moto_server) -> dict[str, str]:
    env = moto_server.client_env()
    return {
        "region_name": env["AWS_DEFAULT_REGION"],
        "aws_access_key_id": env["AWS_ACCESS_KEY_ID"],
        "aws_secret_access_key": env["AWS_SECRET_ACCESS_KEY"],
    }


def test_deploy_without_inventory_targets_local():
    result = run_playbook("deploy.yml", args=["--tags", "preflight"])
    assert result.returncode == 0, result.stdout
    assert "Preflight passed for local" in result.stdout


@pytest.mark.parametrize("environment", ["dev", "staging", "production"])
def test_good_cloud_settings_pass(environment, cloud_env):
    result = run_playbook(
        PREFLIGHT,
        args=ONLY_PREFLIGHT,
        inventory=f"inventories/{environment}",
        env=cloud_env,
        extra_vars=OPERATOR_SETTINGS if environment != "dev" else None,
    )
    assert result.returncode == 0, result.stdout
    assert f"Preflight passed for {environment}" in result.stdout
    assert "Deploying as arn:aws:sts::" in result.stdout
    # The secrets never reach the output.
    assert GOOD_DB_PASSWORD not in result.stdout
    for password in GOOD_MQ_PASSWORDS.values():
        assert password not in result.stdout
    assert GOOD_WEB_SECRET_KEY not in result.stdout


def test_dev_warns_about_ssh_open_to_the_world(cloud_env):
    result = run_playbook(PREFLIGHT, args=ONLY_PREFLIGHT, inventory="inventories/dev", env=cloud_env)
    assert result.returncode == 0, result.stdout
    assert "WARNING ssh_cidr_blocks (group_vars/dev.yml): SSH is open to the whole internet" in result.stdout
    # (the yaml callback folds long messages: the start of each line only)
    assert "WARNING certificate_arn (group_vars/all/aws_stack.yml): empty in dev" in result.stdout


def test_production_without_certificate_and_alarm_recipients_is_refused(cloud_env):
    result = run_playbook(PREFLIGHT, args=ONLY_PREFLIGHT, inventory="inventories/production", env=cloud_env)
    assert result.returncode != 0
    problems = problems_of(result.stdout)
    assert problems == [
        "certificate_arn (group_vars/all/aws_stack.yml): empty in production: the site would serve sessions over "
        "plain HTTP; fix: request or import an ACM certificate for the site's name in aws_region (README, HTTPS "
        "set-up) and set its ARN as certificate_arn",
        "alarm_email_addresses (group_vars/all/aws_stack.yml): no alarm recipient in production: every alarm goes "
        "to an SNS topic nobody reads; fix: list the on-call addresses in alarm_email_addresses (or webhooks in "
        "alarm_https_endpoints)",
    ], result.stdout[-3000:]


def test_a_missing_permissions_boundary_is_named_with_the_administrators_command(cloud_env):
    """Without the boundary, Terraform would stop half-way through the first apply, at the first role."""
    result = run_playbook(
        PREFLIGHT,
        args=ONLY_PREFLIGHT,
        inventory="inventories/staging",
        env=cloud_env,
        extra_vars={**OPERATOR_SETTINGS, "iam_permissions_boundary": "team-boundary"},
    )
    assert result.returncode != 0
    assert problems_of(result.stdout) == [
        "iam_permissions_boundary (overridden on the command line or in the inventory, not "
        "group_vars/all/aws_stack.yml): the policy arn:aws:iam::123456789012:policy/team-boundary does not exist "
        "in this account, and every role of the stack "
        "needs it; fix: an administrator creates it once per account: aws iam create-policy --policy-name "
        "team-boundary --policy-document file://docs/iam/permissions-boundary.json (docs/iam/README.md); the "
        "deployer may not",
    ], result.stdout[-3000:]


def test_staging_without_alarm_recipients_is_warned_about(cloud_env):
    result = run_playbook(
        PREFLIGHT,
        args=ONLY_PREFLIGHT,
        inventory="inventories/staging",
        env=cloud_env,
        extra_vars={"certificate_arn": CERTIFICATE},
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert "WARNING alarm_email_addresses (group_vars/all/aws_stack.yml): no alarm recipient" in result.stdout
    assert "WARNING certificate_arn" not in result.stdout


BAD_LOCAL_SETTINGS = [
    pytest.param({"db_password": "your-secure-db-password-here"}, "db_password", "placeholder", id="db-placeholder"),
    pytest.param(
        {"mq_web_password": "your-secure-mq-password-here"}, "mq_web_password", "placeholder", id="mq-placeholder"
    ),
    pytest.param({"db_password": "Ab1@x"}, "db_password", "RDS needs 8 to 128", id="db-too-short"),
    pytest.param({"db_password": "Abcdef12/@xyz"}, "db_password", "characters RDS refuses", id="db-bad-chars"),
    pytest.param({"mq_worker_password": "Abcdefgh12,=:"}, "mq_worker_password", "Amazon MQ refuses",
                 id="mq-bad-chars"),
    pytest.param({"mq_verify_password": "aaaaaaaaaaaaaa"}, "mq_verify_password", "4 unique", id="mq-repetitive"),
    pytest.param({"mq_verify_password": "Ab1x"}, "mq_verify_password", "Amazon MQ needs 12 to 250", id="mq-short"),
    pytest.param({"mq_web_password": "Same-Pass-9xQ2", "mq_worker_password": "Same-Pass-9xQ2"}, "mq_web_password",
                 "is the same as mq_worker_password", id="mq-shared-password"),
    pytest.param({"db_password": "Password123!"}, "db_password", "obvious default", id="db-obvious"),
    pytest.param({"web_secret_key": "your-secure-web-secret-key-here"}, "web_secret_key", "placeholder",
                 id="web-secret-placeholder"),
    pytest.param({"web_secret_key": "Xk2v9Lq4Wz7pRt5m"}, "web_secret_key", "needs at least 32", id="web-secret-short"),
    pytest.param({"web_secret_key": "ab" * 20}, "web_secret_key", "too repetitive", id="web-secret-repetitive"),
    pytest.param({"verify_api_token": "Xk2v9Lq4Wz7pRt5m"}, "verify_api_token", "needs at least 32",
                 id="verify-token-short"),
    pytest.param({"public_subnet_cidrs": ["10.0.1.0/24", "10.9.2.0/24"]}, "public_subnet_cidrs", "outside vpc_cidr",
                 id="subnet-outside-vpc"),
    pytest.param({"database_subnet_cidrs": ["10.0.5.0/24", "10.0.3.128/25"]}, "database_subnet_cidrs", "overlaps",
                 id="subnet-overlap"),
    pytest.param({"private_subnet_cidrs": ["10.0.3.0/24"]}, "private_subnet_cidrs", "1 subnets for 2",
                 id="subnet-count"),
    pytest.param({"vpc_cidr": "10.0.0.1/16"}, "vpc_cidr", "not a valid CIDR", id="vpc-not-network"),
    pytest.param({"mq_deployment_mode": "ACTIVE_STANDBY_MULTI_AZ"}, "mq_instance_type", "cannot run ACTIVE_STANDBY",
                 id="mq-standby-on-t3"),
    pytest.param({"ecs_task_cpu": 256, "ecs_task_memory": 4096}, "ecs_task_memory", "not a Fargate task size",
                 id="fargate-size"),
    pytest.param({"environment_name": "production"}, "environment_name", "environment group(s) local",
                 id="inventory-mismatch"),
]  # fmt: skip


@pytest.mark.parametrize(("overrides", "setting", "reason"), BAD_LOCAL_SETTINGS)
def test_each_bad_setting_fails_naming_setting_and_fix(overrides, setting, reason):
    result = run_playbook(PREFLIGHT, args=ONLY_PREFLIGHT, extra_vars=overrides)
    assert result.returncode != 0, result.stdout
    problems = problems_of(result.stdout)
    matching = [line for line in problems if line.startswith(f"{setting} (") and reason in line]
    assert matching, f"no problem about {setting} ({reason}) in:\n" + "\n".join(problems) + result.stdout[-3000:]
    for value in overrides.values():
        if ("password" in setting or "secret" in setting) and isinstance(value, str) and "your-secure" not in value:
            assert value not in result.stdout, "a secret value leaked into the output"


def test_several_bad_settings_are_all_listed_in_one_run():
    overrides = {
        "db_password": "your-secure-db-password-here",
        "mq_web_password": "short",
        "private_subnet_cidrs": ["10.0.1.0/24", "10.0.4.0/24"],
        "enable_ssh_access": True,
        "ssh_cidr_blocks": ["::/0"],
    }
    result = run_playbook(PREFLIGHT, args=ONLY_PREFLIGHT, extra_vars=overrides)
    assert result.returncode != 0
    problems = problems_of(result.stdout)
    named = {line.split(" (", 1)[0] for line in problems}
    assert {"db_password", "mq_web_password", "private_subnet_cidrs", "ssh_cidr_blocks"} <= named, problems
    assert f"Preflight found {len(problems)} problem(s)" in result.stdout
    # Overrides are attributed to where they came from, not to the file they replaced.
    assert any(line.startswith("private_subnet_cidrs (overridden on the command line") for line in problems)


def test_ssh_open_to_the_world_is_refused_outside_dev(cloud_env):
    result = run_playbook(
        PREFLIGHT,
        args=ONLY_PREFLIGHT,
        inventory="inventories/production",
        env=cloud_env,
        extra_vars={"enable_ssh_access": True, "ssh_cidr_blocks": ["0.0.0.0/0"]},
    )
    assert result.returncode != 0
    assert any("is refused in production" in line for line in problems_of(result.stdout)), result.stdout


def test_missing_credentials_give_one_clear_line():
    env = playbook_env(aws={"AWS_DEFAULT_REGION": "ap-northeast-2"})
    result = run_playbook(
        PREFLIGHT, args=ONLY_PREFLIGHT, inventory="inventories/staging", env=env, extra_vars=OPERATOR_SETTINGS
    )
    assert result.returncode != 0
    problems = problems_of(result.stdout)
    assert problems == [
        "AWS credentials: Failed to retrieve caller identity: Unable to locate credentials; fix: configure credentials "
        "(aws configure, AWS_PROFILE or an instance role) for an identity allowed by docs/iam/deployer-policy.json"
    ], result.stdout[-6000:]
    # The secrets in SSM are unreadable for the same reason: no error of their own, reported or ignored.
    errors = [line.strip() for line in result.stdout.splitlines() if line.startswith(("[ERROR]", "fatal:", "failed:"))]
    assert errors == [
        "[ERROR]: Task failed: Action failed: Preflight found 1 problem(s):",
        "fatal: [localhost]: FAILED! =>",
    ], result.stdout[-6000:]


def test_missing_tool_is_named_with_install_hint(cloud_env):
    # The same PATH without the directories that hold terraform.
    path = [d for d in cloud_env["PATH"].split(os.pathsep) if not (Path(d) / "terraform").exists()]
    env = dict(cloud_env, PATH=os.pathsep.join(path))
    result = run_playbook(PREFLIGHT, args=ONLY_PREFLIGHT, inventory="inventories/production", env=env)
    assert result.returncode != 0
    problems = problems_of(result.stdout)
    assert any(line.startswith("tool terraform: not found") and "install Terraform" in line for line in problems), (
        result.stdout[-3000:]
    )


def _copy_repo(tmp_path: Path) -> Path:
    copy = tmp_path / "repo"
    for name in ("ansible.cfg", "deploy.yml", "playbooks", "roles", "plugins", "group_vars", "inventories"):
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, copy / name, symlinks=True)
        else:
            copy.mkdir(exist_ok=True)
            shutil.copy2(source, copy / name)
    return copy


@pytest.mark.parametrize(
    ("environment", "secret", "value"),
    [
        ("production", "db_password", "Zq8v3Lk2Wx7p"),
        ("staging", "web_secret_key", "Zq8v3Lk2Wx7pZq8v3Lk2Wx7pZq8v3Lk2Wx7p"),
    ],
)
def test_plain_text_secret_in_group_vars_is_an_error(cloud_env, tmp_path, environment, secret, value):
    copy = _copy_repo(tmp_path)
    with (copy / "group_vars" / f"{environment}.yml").open("a") as handle:
        handle.write(f'{secret}: "{value}"\n')
    env = dict(cloud_env, ANSIBLE_CONFIG=str(copy / "ansible.cfg"))
    result = run_playbook(PREFLIGHT, args=ONLY_PREFLIGHT, inventory=f"inventories/{environment}", env=env, cwd=copy)
    assert result.returncode != 0
    problems = problems_of(result.stdout)
    assert any(
        line.startswith(f"{secret} (group_vars/{environment}.yml): is plain text in group_vars") for line in problems
    ), problems
    assert value[:24] not in result.stdout  # not even a part of it


def test_missing_web_secret_key_in_ssm_is_named(cloud_env, moto_server):
    ssm = boto3.client("ssm", endpoint_url=moto_server.endpoint, **_boto_args(moto_server))
    ssm.delete_parameter(Name="/gradestack/production/web_secret_key")
    result = run_playbook(PREFLIGHT, args=ONLY_PREFLIGHT, inventory="inventories/production", env=cloud_env)
    assert result.returncode != 0
    problems = problems_of(result.stdout)
    assert any(
        line.startswith("web_secret_key (group_vars/all/main.yml): could not be read")
        and "/gradestack/production/web_secret_key" in line
        for line in problems
    ), problems


@pytest.mark.parametrize("secret", ["mq_web_password", "mq_worker_password", "mq_verify_password"])
def test_a_missing_broker_password_in_ssm_is_named_with_the_command_that_adds_it(cloud_env, moto_server, secret):
    """Each broker account's password is the operator's SSM SecureString (upgrading: README says to add them)."""
    ssm = boto3.client("ssm", endpoint_url=moto_server.endpoint, **_boto_args(moto_server))
    ssm.delete_parameter(Name=f"/gradestack/staging/{secret}")
    result = run_playbook(
        PREFLIGHT, args=ONLY_PREFLIGHT, inventory="inventories/staging", env=cloud_env, extra_vars=OPERATOR_SETTINGS
    )
    assert result.returncode != 0
    # The yaml callback folds long lines: compare the run's text with its whitespace joined.
    output = " ".join(result.stdout.split())
    assert f"{secret} (group_vars/all/main.yml): could not be read" in output, result.stdout[-3000:]
    assert f"aws ssm put-parameter --type SecureString --name /gradestack/staging/{secret}" in output, output[-3000:]


def test_secrets_path_other_than_the_stacks_is_refused(cloud_env):
    result = run_playbook(
        PREFLIGHT,
        args=ONLY_PREFLIGHT,
        inventory="inventories/dev",
        env=cloud_env,
        extra_vars={"secrets_ssm_prefix": "/elsewhere/dev"},
    )
    assert result.returncode != 0
    problems = problems_of(result.stdout)
    assert any(line.startswith("secrets_ssm_prefix (") and "'/gradestack/dev'" in line for line in problems), problems


def test_a_fresh_emulated_account_passes_preflight(tmp_path):
    """`make emulated` on a fresh machine: scripts/emulated.sh seeds every secret preflight reads and does the
    administrator's once-per-account step (the permissions boundary), so the deploy gets past preflight."""
    env = {**os.environ, "GRADESTACK_EMULATED_STATE": str(tmp_path / "emulated"), "EMULATOR_PORT": "0"}
    script = str(REPO / "scripts" / "emulated.sh")
    try:
        result = subprocess.run(
            [script, "deploy", "--tags", "preflight"], check=False, env=env, capture_output=True, text=True, timeout=600
        )
    finally:
        subprocess.run([script, "stop"], env=env, capture_output=True, check=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert "Preflight passed for emulated" in result.stdout
    for secret in (tmp_path / "emulated" / "secrets").iterdir():
        assert secret.stat().st_mode & 0o777 == 0o600
        assert secret.read_text().strip() not in result.stdout
