"""roles/terraform_stack: applies the root module with its state in S3, outputs as facts, guarded replacement."""

import json
from pathlib import Path

from testsupport.molecule_scenario import aws, ephemeral_dir, facts, run_playbook

CONVERGE = Path(__file__).resolve().parents[1] / "converge.yml"
BUCKET = "gradestack-molecule-tfstate-123456789012"
STATE_KEY = "gradestack/molecule/terraform.tfstate"


def parameter(name: str) -> dict:
    return aws("ssm").get_parameter(Name=name, WithDecryption=True)["Parameter"]


def test_resources_applied_in_the_emulator():
    assert parameter("/molecule/release")["Value"] == "r1"
    secret = parameter("/molecule/api_token")
    assert (secret["Type"], secret["Value"]) == ("SecureString", "molecule-token-9Xq2")


def test_outputs_published_as_facts_sensitive_apart():
    recorded = facts()
    assert recorded["terraform_outputs"] == {
        "release_parameter": "/molecule/release",
        "api_token_parameter": "/molecule/api_token",
    }
    assert recorded["terraform_sensitive_outputs"] == {"api_token": "molecule-token-9Xq2"}


def test_state_in_the_backend_bucket():
    body = aws("s3").get_object(Bucket=BUCKET, Key=STATE_KEY)["Body"].read()
    resources = {(r["type"], r["name"]) for r in json.loads(body)["resources"]}
    assert resources == {("aws_ssm_parameter", "release"), ("aws_ssm_parameter", "api_token")}


def test_working_copy_points_at_the_emulator_and_no_plan_is_left():
    workdir = ephemeral_dir() / "state" / "terraform"
    endpoint = json.loads((ephemeral_dir() / "moto.json").read_text())["endpoint"]
    assert f'ssm = "{endpoint}"' in (workdir / "emulator_override.tf").read_text()
    assert f'bucket       = "{BUCKET}"' in (workdir / "backend.hcl").read_text()
    assert not list(Path("/dev/shm").glob("gradestack-molecule-plan-*"))


def test_guard_refuses_a_replacement_and_applies_nothing():
    # A new environment_name renames (replaces) both parameters.
    result = run_playbook(
        CONVERGE,
        {
            "environment_name": "molecule-renamed",
            "terraform_stack_guard_destroy": True,
            "terraform_state_bucket": BUCKET,
            "terraform_state_key": STATE_KEY,
        },
    )
    assert result.returncode != 0, result.stdout[-3000:]
    assert "The plan for molecule-renamed would destroy or replace: " in result.stdout, result.stdout[-3000:]
    assert "Nothing was applied." in result.stdout
    assert parameter("/molecule/release")["Value"] == "r1"
    names = [p["Name"] for p in aws("ssm").describe_parameters()["Parameters"]]
    assert not [name for name in names if name.startswith("/molecule-renamed/")]
    assert "molecule-token-9Xq2" not in result.stdout


def _assert_secret_absent(result, what: str) -> None:
    output = result.stdout + result.stderr
    # The positive control: -vvv really shows the tasks' connection lines (EXEC with their environment).
    assert "<localhost> EXEC" in output and "TF_IN_AUTOMATION=1" in output, output[-3000:]
    assert "molecule-token-9Xq2" not in output, f"the secret appears in the -vvv output of {what}"
    assert not list(Path("/dev/shm").glob("gradestack-molecule-plan-*")), "the private directory was left"


def test_verbose_plan_and_apply_show_no_secret():
    # A new release value makes the run plan and apply; -vvv prints every EXEC line.
    result = run_playbook(CONVERGE, {"release": "r2"}, ("-vvv",))
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Apply complete" in result.stdout, result.stdout[-3000:]
    # The summary's cost line, from the region's price table (SSM parameters cost nothing by themselves).
    assert "Estimated monthly cost: $0 after this plan, $0 now (+$0); ap-northeast-2 on-demand" in result.stdout
    _assert_secret_absent(result, "a plan and apply")
    # The secret still reached Terraform (from the variables file).
    assert parameter("/molecule/api_token")["Value"] == "molecule-token-9Xq2"
    assert parameter("/molecule/release")["Value"] == "r2"


def test_verbose_destroy_shows_no_secret():
    # Last test of the module: it removes what the others read.
    result = run_playbook(CONVERGE, {"release": "r2", "terraform_stack_state": "absent"}, ("-vvv",))
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Destroy complete" in result.stdout, result.stdout[-3000:]
    _assert_secret_absent(result, "a destroy")
    assert not [p["Name"] for p in aws("ssm").describe_parameters()["Parameters"] if p["Name"].startswith("/molecule/")]
