"""Unit tests of the preflight checks module's pure functions."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
_spec = importlib.util.spec_from_file_location("gradestack_preflight", REPO / "plugins/modules/gradestack_preflight.py")
preflight = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(preflight)


def _report(sources=None):
    return preflight.Report(sources or {})


@pytest.mark.parametrize(
    ("tools", "expected"),
    [
        ({"terraform": "Terraform v1.4.6", "git": "git version 2.39.5", "podman": "podman version 4.3.1"},
         "tool terraform: version Terraform v1.4.6 is older than 1.11"),
        ({"terraform": "Terraform v1.10.5", "git": "git version 2.39.5", "podman": "podman version 4.3.1"},
         "tool terraform: version Terraform v1.10.5 is older than 1.11"),
        ({"terraform": "Terraform v1.11.4", "git": "", "podman": "podman version 4.3.1"}, "tool git: not found"),
        # A docker client without a running engine prints no server version.
        ({"terraform": "Terraform v1.11.4", "git": "git version 2.39.5", "podman": "", "docker": ""},
         "tool podman/docker (image builds)"),
        ({"terraform": "Terraform v1.11.4", "git": "git version 2.39.5", "podman": "", "docker": "19.03.1"},
         "docker 19.03.1"),
    ],
)  # fmt: skip
def test_tool_versions(tools, expected):
    report = _report()
    preflight.check_tools(report, tools, ["terraform", "git", "podman", "docker"])
    assert any(expected in line for line in report.problems), report.problems


def test_docker_alone_is_enough_for_images():
    report = _report()
    preflight.check_tools(
        report, {"git": "git version 2.39.5", "podman": "", "docker": "24.0.7"}, ["git", "podman", "docker"]
    )
    assert report.problems == []


def test_vault_value_in_group_vars_is_not_plain_text(tmp_path):
    group_vars = tmp_path / "group_vars"
    group_vars.mkdir()
    (group_vars / "production.yml").write_text(
        "db_password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  3131\nmq_worker_password: Plain-Text-Secret-1\n"
    )
    sources = preflight.setting_sources([str(group_vars)], ["production"], str(tmp_path))
    report = preflight.Report(sources)
    for name in preflight.SECRETS:
        # Good for every secret's rules (web_secret_key needs 32+ characters).
        preflight.check_secret(report, name, "Xy7-abcdefghijk" * 3, error=None, cloud=True, env="production")
    assert len(report.problems) == 1
    assert report.problems[0].startswith("mq_worker_password (group_vars/production.yml): is plain text")


def test_each_broker_account_needs_a_password_of_its_own():
    report = _report()
    secrets = {"mq_web_password": "Shared-Pass-9xQ2", "mq_worker_password": "Shared-Pass-9xQ2",
               "mq_verify_password": "Other-Pass-7kL3"}  # fmt: skip
    preflight.check_broker_passwords_differ(report, secrets)
    assert len(report.problems) == 1
    assert report.problems[0].startswith("mq_web_password (") and "same as mq_worker_password" in report.problems[0]
    assert "Shared-Pass-9xQ2" not in report.problems[0]
    report = _report()
    preflight.check_broker_passwords_differ(report, secrets | {"mq_worker_password": "Third-Pass-5zW8"})
    assert report.problems == []


def test_a_cloud_secret_is_named_with_the_command_that_stores_it():
    report = _report()
    preflight.check_secret(report, "mq_verify_password", None, error=None, cloud=True, env="staging")
    (problem,) = report.problems
    assert problem.startswith("mq_verify_password (") and "is not set" in problem
    assert "aws ssm put-parameter --type SecureString --name /gradestack/staging/mq_verify_password" in problem


def test_valid_layout_has_no_network_problems():
    report = _report()
    preflight.check_network(
        report,
        {
            "vpc_cidr": "10.0.0.0/16",
            "availability_zone_count": 2,
            "public_subnet_cidrs": ["10.0.1.0/24", "10.0.2.0/24"],
            "private_subnet_cidrs": ["10.0.3.0/24", "10.0.4.0/24"],
            "database_subnet_cidrs": ["10.0.5.0/24", "10.0.6.0/24"],
        },
    )
    assert report.problems == []


def test_secret_value_never_in_messages():
    report = _report()
    secret = "ab@cd ef/gh"  # noqa: S105  (a test value, not a credential)
    preflight.check_secret(report, "db_password", secret, error=None, cloud=False, env="local")
    assert report.problems
    assert all(secret not in line for line in report.problems)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", "web_secret_key (extra vars or role defaults): is not set"),
        ("your-secure-web-secret-key-here", "is still the deployment guide's placeholder"),
        ("Xy7-abcdefghijkLmnop", "has 20 characters, the web app's SECRET_KEY needs at least 32"),
        ("ab" * 20, "is an obvious default or too repetitive"),
        ("Secret-" * 6, "is an obvious default or too repetitive"),
        ("Xy7-abcdefghijk Lmnopqrstuvwxyz0123", "contains whitespace"),
    ],
)
def test_web_secret_key_rules(value, expected):
    report = _report()
    preflight.check_secret(report, "web_secret_key", value, error=None, cloud=False, env="local")
    assert any(expected in line for line in report.problems), report.problems
    assert all(value not in line for line in report.problems if value)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("", "verify_api_token (extra vars or role defaults): is not set"),
        ("Xy7-abcdefghijkLmnop", "has 20 characters, the verifier's API token needs at least 32"),
        ("ab" * 20, "is an obvious default or too repetitive"),
        ("Xy7-abcdefghijk Lmnopqrstuvwxyz0123", "contains whitespace"),
    ],
)
def test_verify_api_token_rules(value, expected):
    report = _report()
    preflight.check_secret(report, "verify_api_token", value, error=None, cloud=False, env="local")
    assert any(expected in line for line in report.problems), report.problems
    assert all(value not in line for line in report.problems if value)


def test_good_web_secret_key_passes():
    report = _report()
    preflight.check_secret(report, "web_secret_key", "9f" + "a1b2c3d4e5f6" * 5, error=None, cloud=True, env="dev")
    assert report.problems == []


def test_plain_text_web_secret_key_in_group_vars_is_an_error(tmp_path):
    group_vars = tmp_path / "group_vars"
    group_vars.mkdir()
    (group_vars / "staging.yml").write_text("web_secret_key: 0123456789abcdef0123456789abcdef-Xy7\n")
    report = preflight.Report(preflight.setting_sources([str(group_vars)], ["staging"], str(tmp_path)))
    preflight.check_secret(report, "web_secret_key", "0123456789abcdef0123456789abcdef-Xy7", error=None, cloud=True,
                           env="staging")  # fmt: skip
    assert report.problems == [
        "web_secret_key (group_vars/staging.yml): is plain text in group_vars (a secret in git); fix: remove it from "
        "group_vars/staging.yml and keep it in SSM Parameter Store (SecureString) /gradestack/staging/web_secret_key: "
        "`aws ssm put-parameter --type SecureString --name /gradestack/staging/web_secret_key --value "
        '"$(openssl rand -hex 32)"`, or an ansible-vault encrypted value'
    ]


def test_without_credentials_unread_secrets_are_one_problem_and_plain_text_still_refused(tmp_path):
    """preflight reads no secret without AWS credentials: the credentials line covers them, git still cannot."""
    group_vars = tmp_path / "group_vars"
    group_vars.mkdir()
    (group_vars / "staging.yml").write_text("db_password: Sx8kq2LmPz9w\n")
    params = {
        "environment_name": "staging",
        "environment_groups": ["staging"],
        "cloud": True,
        "settings": {"project_name": "gradestack", "secrets_ssm_prefix": "/gradestack/staging"},
        "secrets": {},
        "secret_errors": {},
        "group_vars_dirs": [str(group_vars)],
        "tools": {},
        "required_tools": [],
        "aws_identity_error": "Failed to retrieve caller identity: Unable to locate credentials",
    }
    problems = preflight.run_checks(params, str(tmp_path)).problems
    about_secrets = [line for line in problems if line.startswith(("AWS credentials", *preflight.SECRETS))]
    assert [line.split(":", 1)[0] for line in about_secrets] == [
        "AWS credentials",
        "db_password (group_vars/staging.yml)",
    ]
    assert "is plain text in group_vars (a secret in git)" in about_secrets[1]


def test_secrets_path_must_be_the_stacks_ssm_path():
    report = _report()
    preflight.check_secrets_path(report, {"project_name": "gradestack", "secrets_ssm_prefix": "/gradestack/dev"}, "dev")
    assert report.problems == []
    preflight.check_secrets_path(report, {"project_name": "gradestack", "secrets_ssm_prefix": "/other/dev"}, "dev")
    assert len(report.problems) == 1
    assert report.problems[0].startswith("secrets_ssm_prefix (extra vars or role defaults): is '/other/dev'")
    assert "'/gradestack/dev'" in report.problems[0]


@pytest.mark.parametrize(
    ("env", "ami", "warned"),
    [
        ("production", "", True),
        ("staging", "", True),
        ("production", "ami-0123456789abcdef0", False),
        ("dev", "", False),
    ],
)
def test_an_unpinned_web_ami_is_warned_about_outside_dev(env, ami, warned):
    report = _report()
    preflight.check_web_ami(report, {"web_ami_id": ami}, env, cloud=True)
    assert bool(report.warnings) is warned, report.warnings
    assert not report.problems
    if warned:
        assert report.warnings[0].startswith("web_ami_id (") and "replaces every web host" in report.warnings[0]


CERTIFICATE = "arn:aws:acm:ap-northeast-2:123456789012:certificate/0e1a7ed0-5173-4c3e-8a1f-000000000443"


@pytest.mark.parametrize(
    ("env", "inherited", "arn", "problem", "warning"),
    [
        ("production", [], None, "empty in production: the site would serve sessions over plain HTTP", None),
        ("staging", [], None, "empty in staging: the site would serve sessions over plain HTTP", None),
        # emulated takes production's settings and its rules.
        ("emulated", ["production"], None, "empty in production", None),
        ("dev", [], None, None, "empty in dev: the load balancer serves plain HTTP only"),
        ("production", [], CERTIFICATE, None, None),
        ("dev", [], CERTIFICATE, None, None),
        ("production", [], "arn:aws:iam::123456789012:server-certificate/site", "is not an ACM certificate ARN", None),
        ("production", [], CERTIFICATE.replace("ap-northeast-2", "us-east-1"),
         "the certificate is in us-east-1, the load balancer in ap-northeast-2", None),
    ],
)  # fmt: skip
def test_https_certificate_required_in_staging_and_production(env, inherited, arn, problem, warning):
    report = _report()
    settings = {"certificate_arn": arn, "aws_region": "ap-northeast-2"}
    preflight.check_https(report, settings, preflight._tier(env, inherited), cloud=True)
    assert [line for line in report.problems if line.startswith("certificate_arn (")] == report.problems
    assert (problem is None) is (not report.problems), report.problems
    if problem:
        assert problem in report.problems[0] and "fix: " in report.problems[0]
    assert (warning is None) is (not report.warnings), report.warnings
    if warning:
        assert warning in report.warnings[0]


def test_local_needs_no_certificate():
    report = _report()
    preflight.check_https(report, {"certificate_arn": None}, "local", cloud=False)
    assert (report.problems, report.warnings) == ([], [])


@pytest.mark.parametrize(
    ("env", "emails", "endpoints", "problem", "warning"),
    [
        ("production", [], [], "no alarm recipient in production", None),
        ("emulated", [], [], "no alarm recipient in production", None),
        ("staging", [], [], None, "no alarm recipient in staging"),
        ("dev", [], [], None, None),
        ("production", ["oncall@example.org"], [], None, None),
        ("production", [], ["https://events.example.org/hook"], None, None),
        ("production", ["oncall"], [], "'oncall' is not an e-mail address", None),
        ("staging", ["oncall@example.org"], ["http://hook.example.org"], "is not an https:// URL", None),
    ],
)
def test_alarm_recipients(env, emails, endpoints, problem, warning):
    report = _report()
    settings = {"alarm_email_addresses": emails, "alarm_https_endpoints": endpoints}
    inherited = ["production"] if env == "emulated" else []
    preflight.check_alarm_recipients(report, settings, preflight._tier(env, inherited), cloud=True)
    assert (problem is None) is (not report.problems), report.problems
    if problem:
        assert len(report.problems) == 1 and problem in report.problems[0]
        assert report.problems[0].startswith(("alarm_email_addresses (", "alarm_https_endpoints ("))
    assert (warning is None) is (not report.warnings), report.warnings
    if warning:
        assert warning in report.warnings[0] and "fix: list the on-call addresses" in report.warnings[0]


@pytest.mark.parametrize(
    ("boundary", "problem"),
    [
        (None, None),  # not looked up: a local run, or no credentials (that one line says why)
        ({"arn": "arn:aws:iam::123456789012:policy/b", "exists": True, "error": ""}, None),
        (
            {"arn": "arn:aws:iam::123456789012:policy/b", "exists": False, "error": ""},
            "does not exist in this account, and every role of the stack needs it; fix: an administrator creates it "
            "once per account: aws iam create-policy --policy-name b --policy-document "
            "file://docs/iam/permissions-boundary.json",
        ),
        (
            {"arn": "arn:aws:iam::123456789012:policy/b", "exists": False, "error": "AccessDenied: not authorized"},
            "could not read the policy arn:aws:iam::123456789012:policy/b: AccessDenied: not authorized; fix: let the "
            "deploying identity call iam:GetPolicy",
        ),
    ],
)
def test_permissions_boundary(boundary, problem):
    report = _report()
    preflight.check_permissions_boundary(report, {"iam_permissions_boundary": "b"}, boundary)
    if problem is None:
        assert report.problems == []
    else:
        assert len(report.problems) == 1 and problem in report.problems[0], report.problems
