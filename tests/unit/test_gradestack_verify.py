"""services/verifier/gradestack_verify.py: configuration, exit status, the playbook's arguments, the S3 copy."""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import boto3
import pytest

from testsupport.moto import MotoServer

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "services" / "verifier" / "gradestack_verify.py"
# The stand-in writes a report the way verify.yml does.
WRITE_REPORT = 'printf "<testsuites/>" > "$GRADESTACK_VERIFY_REPORT_DIR/verify-$GRADESTACK_ENVIRONMENT.xml"'


def load_module():
    spec = importlib.util.spec_from_file_location("gradestack_verify", SCRIPT)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith(("GRADESTACK_", "AWS_"))}
    return subprocess.run(
        [sys.executable, str(SCRIPT)],
        env={**base, "GRADESTACK_ROOT": str(REPO), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_without_an_environment_it_refuses():
    result = run({"GRADESTACK_VERIFY_COMMAND": "true"})
    assert result.returncode == 2
    assert "GRADESTACK_ENVIRONMENT is not set" in result.stderr


def test_an_unknown_inventory_is_named(tmp_path):
    result = run({"GRADESTACK_ENVIRONMENT": "nowhere", "GRADESTACK_VERIFY_REPORT_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert "GRADESTACK_ENVIRONMENT=nowhere: no inventory of that name" in result.stderr
    assert "local" in result.stderr


def test_a_wrong_vantage_is_refused(tmp_path):
    env = {
        "GRADESTACK_ENVIRONMENT": "local",
        "GRADESTACK_VERIFY_VANTAGE": "moon",
        "GRADESTACK_VERIFY_REPORT_DIR": str(tmp_path),
    }
    result = run(env)
    assert result.returncode == 2
    assert "expected network or operator" in result.stderr


@pytest.mark.parametrize("status", [0, 3])
def test_the_runs_status_is_the_exit_status(tmp_path, status):
    reports = tmp_path / "new" / "reports"
    result = run(
        {
            "GRADESTACK_ENVIRONMENT": "local",
            "GRADESTACK_VERIFY_REPORT_DIR": str(reports),
            "GRADESTACK_VERIFY_COMMAND": f"{WRITE_REPORT}; exit {status}",
        }
    )
    assert result.returncode == status, result.stderr
    # The report directory is created, and the report readable by anyone (umask 022).
    assert (reports / "verify-local.xml").stat().st_mode & 0o777 == 0o644


def test_the_playbook_arguments(tmp_path, monkeypatch):
    module = load_module()
    root = tmp_path / "root"
    (root / "inventories" / "local").mkdir(parents=True)
    (root / ".state" / "local" / "releases").mkdir(parents=True)
    (root / ".state" / "local" / "releases" / "current.json").write_text(
        json.dumps({"web_bundle": "abc", "grading_tag": "def", "grading_image": "img:def", "git_commit": "0123"})
    )
    monkeypatch.setattr(module, "ROOT", root)
    monkeypatch.setenv("GRADESTACK_VERIFY_EXTRA_VARS", '{"local_network_name": "elsewhere"}')
    argv = module.playbook_command("local", "network", "/reports", tmp_path)
    assert argv[1:4] == [str(root / "verify.yml"), "-i", str(root / "inventories" / "local")]
    assert argv[4] == "-e"
    assert json.loads(argv[5]) == {
        "gradestack_web_release": "abc",
        "gradestack_grading_tag": "def",
        "gradestack_grading_image": "img:def",
        "gradestack_git_commit": "0123",
        "build_artifacts_release": "abc",
        "build_artifacts_image_tag": "def",
        "build_artifacts_git_commit": "0123",
        "verify_vantage": "network",
        "verify_report_dir": "/reports",
        "local_network_name": "elsewhere",
    }
    # Without a release record the report says so; in a git checkout the release facts read git.
    (root / ".state" / "local" / "releases" / "current.json").unlink()
    assert (
        json.loads(module.playbook_command("local", "network", "/r", tmp_path)[5])["gradestack_web_release"]
        == "unrecorded"
    )
    (root / ".git").mkdir()
    assert "gradestack_web_release" not in json.loads(module.playbook_command("local", "network", "/r", tmp_path)[5])


def test_extra_vars_must_be_a_json_object(monkeypatch):
    module = load_module()
    monkeypatch.setenv("GRADESTACK_VERIFY_EXTRA_VARS", "[1, 2]")
    with pytest.raises(module.ConfigError, match="must be a JSON object"):
        module.extra_vars_from_env()


@pytest.mark.slow
def test_the_report_is_copied_to_s3(tmp_path, moto_server: MotoServer):
    moto_server.reset()
    s3 = boto3.client("s3", endpoint_url=moto_server.endpoint, **_credentials())
    s3.create_bucket(Bucket="reports", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
    env = {
        **moto_server.client_env(),
        "GRADESTACK_ENVIRONMENT": "local",
        "GRADESTACK_VERIFY_REPORT_DIR": str(tmp_path),
        "GRADESTACK_VERIFY_REPORT_S3_URI": "s3://reports/verify/local",
        "GRADESTACK_VERIFY_COMMAND": f"{WRITE_REPORT}; exit 4",
    }
    result = run(env)
    # The failed run's report is copied too; the run's status is kept.
    assert result.returncode == 4, result.stderr
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="reports")["Contents"]]
    assert len(keys) == 1 and re.fullmatch(r"verify/local/\d{8}T\d{6}Z-verify-local\.xml", keys[0]), keys
    assert s3.get_object(Bucket="reports", Key=keys[0])["Body"].read() == b"<testsuites/>"

    # A passing run whose copy fails exits 1, naming the failure.
    env |= {"GRADESTACK_VERIFY_REPORT_S3_URI": "s3://no-such-bucket/x", "GRADESTACK_VERIFY_COMMAND": WRITE_REPORT}
    result = run(env)
    assert result.returncode == 1
    assert "upload to s3://no-such-bucket/x failed" in result.stderr


def _credentials() -> dict[str, str]:
    return {
        "region_name": "ap-northeast-2",
        "aws_access_key_id": "testing",
        "aws_secret_access_key": "testing",
    }


def test_a_read_only_state_directory_is_copied_for_the_run(tmp_path, monkeypatch):
    """The password lookup locks beside the file: on the read-only mount the run uses a private copy."""
    module = load_module()
    root = tmp_path / "root"
    state = root / ".state" / "local"
    (state / "releases").mkdir(parents=True)
    (state / "mq-tls").mkdir()
    (state / "mq-tls" / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    (state / "db_password").write_text("s3cret")
    (state / "db_password").chmod(0o600)
    monkeypatch.setattr(module, "ROOT", root)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    # Writable (the operator's own checkout): used as it is.
    assert module.writable_state("local", scratch) == {}
    # Read-only (the verifier's mount; root would pass a mode check, so the check is access()).
    monkeypatch.setattr(module.os, "access", lambda path, mode: False)
    assert module.writable_state("local", scratch) == {"gradestack_state_dir": str(scratch / "state")}
    copy = scratch / "state"
    assert (copy / "db_password").read_text() == "s3cret"
    assert (copy / "db_password").stat().st_mode & 0o777 == 0o600
    assert copy.stat().st_mode & 0o777 == 0o700
    # Subdirectories are the originals (read-only there), e.g. the local CA the broker probe trusts.
    assert (copy / "releases").resolve() == state / "releases"
    assert (copy / "mq-tls" / "ca.pem").read_text() == "-----BEGIN CERTIFICATE-----\n"
