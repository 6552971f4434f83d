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
         "tool terraform: version Terraform v1.4.6 is older than 1.5"),
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
        "db_password: !vault |\n  $ANSIBLE_VAULT;1.1;AES256\n  3131\nmq_admin_password: Plain-Text-Secret-1\n"
    )
    sources = preflight.setting_sources([str(group_vars)], ["production"], str(tmp_path))
    report = preflight.Report(sources)
    for name in preflight.SECRETS:
        preflight.check_secret(report, name, "Xy7-abcdefghijk", error=None, cloud=True, env="production")
    assert len(report.problems) == 1
    assert report.problems[0].startswith("mq_admin_password (group_vars/production.yml): is plain text")


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
