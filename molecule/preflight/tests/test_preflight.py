"""roles/preflight as staging: good settings pass; each bad one fails naming the setting, its source and the fix."""

from pathlib import Path

import pytest

from testsupport.molecule_scenario import facts, run_playbook

CONVERGE = Path(__file__).resolve().parents[1] / "converge.yml"
SECRETS = ("Sx8kq2LmPz9w", "Qm4vT8nRz2Lp7Kx", "Wk9rP3sLm7Xq2Tz", "Vf5yH8cNq1Rb6Jd", "Wk7pQ2sX9vLm4Rt8Zn3Bc6Hd1Jf5Gy0Ae")


def test_good_settings_pass_with_every_tool_found():
    recorded = facts()
    assert recorded["preflight_report"]["problems"] == []
    assert set(recorded["preflight_tools"]) == {"git", "podman", "docker", "terraform"}
    for tool in ("git", "podman", "terraform"):
        assert recorded["preflight_tools"][tool], f"{tool} has no version"


def test_secrets_never_reach_the_saved_report():
    saved = str(facts())
    assert not any(secret in saved for secret in SECRETS)


@pytest.mark.parametrize(
    ("overrides", "problem"),
    [
        pytest.param(
            {"mq_deployment_mode": "ACTIVE_STANDBY_MULTI_AZ"},
            "mq_instance_type (group_vars/staging.yml): mq.t3.micro cannot run ACTIVE_STANDBY_MULTI_AZ; fix: ",
            id="mq-standby-on-t3",
        ),
        pytest.param(
            {"db_password": "your-secure-db-password-here"},
            "db_password (group_vars/all/main.yml): is still the deployment guide's placeholder; fix: ",
            id="db-placeholder",
        ),
        pytest.param(
            {"private_subnet_cidrs": ["10.0.3.0/24"]},
            "private_subnet_cidrs (overridden on the command line",
            id="subnet-count",
        ),
    ],
)
def test_bad_setting_fails_naming_it(overrides, problem):
    result = run_playbook(CONVERGE, overrides)
    assert result.returncode != 0, result.stdout[-3000:]
    assert "Preflight found 1 problem(s)" in result.stdout, result.stdout[-3000:]
    assert problem in result.stdout, result.stdout[-3000:]
    assert not any(secret in result.stdout for secret in SECRETS)
