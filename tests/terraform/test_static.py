"""Static checks of terraform/: formatting, validation of every module, checkov, README tables."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from testsupport.ci import require
from testsupport.terraform import REPO, TERRAFORM_DIR, TerraformCli, group_vars_for, root_variable_names

pytestmark = [pytest.mark.terraform]

MODULES = sorted(p.name for p in (TERRAFORM_DIR / "modules").iterdir() if p.is_dir())
CHECKOV = REPO / ".venv-checkov" / "bin" / "checkov"
SEED_MODULES = {"vpc", "security-groups", "storage", "database", "messaging", "compute", "ecs-grading"}


def test_the_seeds_modules_and_monitoring_exist() -> None:
    assert SEED_MODULES | {"monitoring"} <= set(MODULES)
    for module in MODULES:
        for name in ("main.tf", "variables.tf", "outputs.tf", "versions.tf", "README.md"):
            assert (TERRAFORM_DIR / "modules" / module / name).is_file(), f"modules/{module}/{name} is missing"


def test_fmt(terraform_cli: TerraformCli) -> None:
    result = terraform_cli.run(["fmt", "-check", "-recursive", "-diff", "-no-color"], TERRAFORM_DIR, check=False)
    assert result.returncode == 0, f"terraform fmt would change these files:\n{result.stdout}"


@pytest.mark.slow
@pytest.mark.parametrize("module", [".", *MODULES])
def test_validate(terraform_cli: TerraformCli, tmp_path: Path, module: str) -> None:
    """Each module on its own (and the root) initialises from the mirror and validates."""
    source = TERRAFORM_DIR if module == "." else TERRAFORM_DIR / "modules" / module
    work = tmp_path / "module"
    shutil.copytree(source, work, ignore=shutil.ignore_patterns(".terraform", "*.tfstate*", "modules"))
    if module == ".":
        shutil.copytree(TERRAFORM_DIR / "modules", work / "modules", ignore=shutil.ignore_patterns(".terraform"))
    terraform_cli.run(["init", "-backend=false", "-input=false", "-no-color"], work)
    result = terraform_cli.run(["validate", "-json", "-no-color"], work, check=False)
    report = json.loads(result.stdout)
    assert report["valid"], json.dumps(report["diagnostics"], indent=2)
    assert report["warning_count"] == 0, json.dumps(report["diagnostics"], indent=2)


def test_lock_file_pins_the_mirrored_provider() -> None:
    lock = (TERRAFORM_DIR / ".terraform.lock.hcl").read_text()
    assert 'provider "registry.terraform.io/hashicorp/aws"' in lock
    assert re.search(r'version\s+=\s+"5\.100\.\d+"', lock)
    assert re.search(r'"h1:[A-Za-z0-9+/=]+"', lock)


@pytest.mark.slow
def test_checkov_has_no_failed_checks(terraform_cli: TerraformCli, tmp_path: Path) -> None:
    require(CHECKOV.exists(), f"checkov is not installed at {CHECKOV}; run make setup")
    out = tmp_path / "checkov"
    result = subprocess.run(
        [
            str(CHECKOV),
            "-d",
            str(TERRAFORM_DIR),
            "--framework",
            "terraform",
            "--quiet",
            "-o",
            "json",
            "--output-file-path",
            str(out),
            "--skip-download",
        ],
        env={**terraform_cli.env, "BC_SKIP_MAPPING": "TRUE"},
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )
    report_file = out / "results_json.json"
    assert report_file.exists(), f"checkov wrote no report (exit {result.returncode}):\n{result.stderr[-3000:]}"
    report = json.loads(report_file.read_text())
    reports = report if isinstance(report, list) else [report]
    failed = [c for r in reports for c in r["results"]["failed_checks"]]
    summary = "\n".join(f"{c['check_id']} {c['resource']} ({c['file_path']}:{c['file_line_range']})" for c in failed)
    assert not failed, f"checkov failed checks:\n{summary}"
    passed = sum(r["summary"]["passed"] for r in reports)
    assert passed > 100, "checkov scanned suspiciously little"


def test_every_checkov_skip_states_a_reason() -> None:
    skip = re.compile(r"#\s*checkov:skip=([A-Z0-9_]+)(?::(.*))?")
    for tf in TERRAFORM_DIR.rglob("*.tf"):
        if ".terraform" in tf.parts:
            continue
        for number, line in enumerate(tf.read_text().splitlines(), 1):
            match = skip.search(line)
            if match:
                reason = (match.group(2) or "").strip()
                assert len(reason) >= 20, f"{tf}:{number}: skip of {match.group(1)} needs a real reason"


def test_readme_tables_are_current() -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "scripts" / "terraform_docs.py"), "--check"],
        check=False,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr


def test_readme_generator_detects_a_stale_table(tmp_path: Path) -> None:
    root = tmp_path / "terraform"
    shutil.copytree(TERRAFORM_DIR, root, ignore=shutil.ignore_patterns(".terraform"))
    variables = root / "modules" / "vpc" / "variables.tf"
    variables.write_text(
        variables.read_text() + '\nvariable "extra" {\n  description = "A new input."\n  type        = string\n}\n'
    )
    script = [sys.executable, str(REPO / "scripts" / "terraform_docs.py"), "--root", str(root)]
    stale = subprocess.run([*script, "--check"], check=False, capture_output=True, text=True)
    assert stale.returncode == 1
    assert "modules/vpc/README.md" in stale.stderr
    subprocess.run(script, check=True, capture_output=True)
    assert "| `extra` | A new input. | `string` | n/a | yes |" in (root / "modules" / "vpc" / "README.md").read_text()
    assert subprocess.run([*script, "--check"], check=False, capture_output=True).returncode == 0


def test_tfvars_example_sets_every_required_variable() -> None:
    example = (TERRAFORM_DIR / "terraform.tfvars.example").read_text()
    assigned = set(re.findall(r"^([a-z0-9_]+)\s*=", example, re.MULTILINE))
    required = set()
    for tf in TERRAFORM_DIR.glob("*.tf"):
        for name, body in re.findall(r'variable "([a-z0-9_]+)" \{(.*?)\n\}', tf.read_text(), re.DOTALL):
            if "\n  default" not in body:
                required.add(name)
    assert required <= assigned, f"terraform.tfvars.example lacks {sorted(required - assigned)}"
    assert assigned <= root_variable_names(), f"unknown variables: {sorted(assigned - root_variable_names())}"
    # The deployment guide's placeholders, which preflight rejects.
    assert 'db_password = "your-secure-db-password-here"' in example
    assert 'web    = "your-secure-mq-password-here"' in example
    assert 'grading_container_image = "your-registry/grading-service:latest"' in example


def test_deployment_guide_variables_have_no_default() -> None:
    """Environment settings live in group_vars only: a default here would be a second home."""
    # The root variables under the deployment guide's names (README.md, "Environments").
    guide = {
        "environment_name", "aws_region", "db_password", "mq_passwords", "grading_container_image",
        "vpc_cidr", "public_subnet_cidrs", "private_subnet_cidrs", "database_subnet_cidrs",
        "db_instance_class", "mq_instance_type", "ecs_desired_count", "ecs_max_capacity", "ecs_task_cpu",
        "ecs_task_memory", "min_size", "max_size", "desired_capacity", "enable_ssh_access", "ssh_cidr_blocks",
        "db_multi_az", "mq_deployment_mode", "enable_s3_lifecycle", "enable_s3_versioning",
        "enable_deletion_protection", "db_deletion_protection", "mq_enable_audit_logs",
        "mq_users", "mq_authorization", "mq_temp_destination_authorization",
    }  # fmt: skip
    text = (TERRAFORM_DIR / "variables.tf").read_text()
    blocks = dict(re.findall(r'variable "([a-z0-9_]+)" \{(.*?)\n\}', text, re.DOTALL))
    assert guide <= set(blocks), f"missing deployment guide variables: {sorted(guide - set(blocks))}"
    for name in guide:
        assert "\n  default" not in blocks[name], f"{name} must not have a default (group_vars is its home)"
        assert "description" in blocks[name] and "type" in blocks[name]
    for name in ("db_password", "mq_passwords"):
        assert "sensitive   = true" in blocks[name]


# --- Hardening (issue #17) ----------------------------------------------------------------------


def _resource_blocks(resource_type: str) -> list[tuple[Path, str, str]]:
    """(file, name, body) of every `resource "<type>" "<name>"` block in terraform/ (a body ends at "}" in column 0)."""
    found = []
    for tf in TERRAFORM_DIR.rglob("*.tf"):
        if ".terraform" in tf.parts:
            continue
        pattern = rf'^resource "{resource_type}" "([a-z0-9_]+)" \{{\n(.*?)\n\}}'
        found += [(tf, name, body) for name, body in re.findall(pattern, tf.read_text(), re.DOTALL | re.MULTILINE)]
    return found


def test_every_iam_role_carries_the_permissions_boundary() -> None:
    roles = _resource_blocks("aws_iam_role")
    assert len(roles) >= 5
    for tf, name, body in roles:
        assert re.search(r"^\s+permissions_boundary\s+= var\.permissions_boundary_arn$", body, re.MULTILINE), (
            f"{tf.relative_to(REPO)}: aws_iam_role.{name} has no permissions_boundary"
        )
    # Users, groups and access keys are never the stack's business.
    for forbidden in ("aws_iam_user", "aws_iam_access_key", "aws_iam_group", "aws_iam_user_login_profile"):
        assert not _resource_blocks(forbidden), f"terraform/ creates {forbidden}"


def test_secrets_use_write_only_arguments() -> None:
    """RDS's master password and the secret SSM parameters never reach the state (Terraform >= 1.11)."""
    database = (TERRAFORM_DIR / "modules" / "database" / "main.tf").read_text()
    assert "password_wo         = var.password" in database and "\n  password = " not in database
    for module, parameter in (("database", "password"), ("messaging", "password")):
        blocks = {n: b for _, n, b in _resource_blocks("aws_ssm_parameter") if f"modules/{module}/" in str(_)}
        assert "value_wo " in blocks[parameter] and "\n  value " not in blocks[parameter], f"{module} {parameter}"
    versions = (TERRAFORM_DIR / "versions.tf").read_text()
    assert 'required_version = ">= 1.11"' in versions


def test_hardening_variables_are_set_in_group_vars_for_every_environment() -> None:
    """Every root variable without a default (secrets and the image aside) comes from group_vars in each environment."""
    text = "\n".join(tf.read_text() for tf in TERRAFORM_DIR.glob("*.tf"))
    blocks = dict(re.findall(r'variable "([a-z0-9_]+)" \{(.*?)\n\}', text, re.DOTALL))
    required = {n for n, b in blocks.items() if "\n  default" not in b} - {"db_password", "mq_passwords"}
    for environment in ("dev", "staging", "production", "emulated"):
        settings = group_vars_for(environment)
        missing = sorted(required - set(settings))
        assert not missing, f"group_vars for {environment} lacks {missing}"
