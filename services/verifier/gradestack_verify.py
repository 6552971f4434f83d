#!/opt/venv/bin/python
"""gradestack-verify: run verify.yml once against one environment and keep its JUnit report.

The verifier image's entry point (docs: services/verifier/README.md). The same command is
the Fargate task's command in AWS and the ExecStart of gradestack-verify.service (under
flock, on a systemd timer) in the local environment's verifier container. Configured by
environment only, so that neither caller needs to know its arguments:

  GRADESTACK_ENVIRONMENT           inventory name (inventories/<name>), required
  GRADESTACK_VERIFY_VANTAGE        verify_vantage (default: network)
  GRADESTACK_VERIFY_REPORT_DIR     where verify-<env>.xml is written
                                   (default: /var/lib/gradestack-verifier/reports)
  GRADESTACK_VERIFY_REPORT_S3_URI  optional s3://bucket/prefix: the report is uploaded
                                   there as <UTC timestamp>-verify-<env>.xml
  GRADESTACK_VERIFY_EXTRA_VARS     optional JSON object of extra variables (a renamed copy of
                                   an environment: its label, network and container names)
  GRADESTACK_VERIFY_COMMAND        for tests only: a shell command run instead of
                                   ansible-playbook (same environment, same exit handling),
                                   so that the schedule can be tested without an environment

Exits with ansible-playbook's status; 1 when the playbook passed but the upload failed;
2 when the configuration is wrong.
"""

from __future__ import annotations

import datetime
import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(os.environ.get("GRADESTACK_ROOT", "/opt/gradestack"))
DEFAULT_REPORT_DIR = "/var/lib/gradestack-verifier/reports"


class ConfigError(Exception):
    """The environment does not describe a run (a missing or malformed variable)."""


def extra_vars_from_env() -> dict[str, object]:
    raw = os.environ.get("GRADESTACK_VERIFY_EXTRA_VARS", "").strip()
    if not raw:
        return {}
    try:
        value = json.loads(raw)
    except json.JSONDecodeError as error:
        raise ConfigError(f"GRADESTACK_VERIFY_EXTRA_VARS is not JSON: {error}") from error
    if not isinstance(value, dict):
        raise ConfigError("GRADESTACK_VERIFY_EXTRA_VARS must be a JSON object")
    return value


def release_vars(environment: str) -> dict[str, str]:
    """The deployed release's versions, for the report's properties.

    verify.yml works the versions out from the git work tree (the release facts, operator
    vantage only); the image has no checkout. The local environment records what it deployed
    under its state directory (mounted read-only here): the report names those versions.
    Without a record (before the first release stage) it says so instead of guessing. The
    build_artifacts_* names keep the release facts off git if they run (operator vantage).
    """
    if (ROOT / ".git").exists():
        return {}
    record = ROOT / ".state" / environment / "releases" / "current.json"
    try:
        current = json.loads(record.read_text())
    except (OSError, ValueError):
        current = {}
    unknown = "unrecorded"
    web, tag, commit = (str(current.get(k, unknown)) for k in ("web_bundle", "grading_tag", "git_commit"))
    return {
        "gradestack_web_release": web,
        "gradestack_grading_tag": tag,
        "gradestack_grading_image": str(current.get("grading_image", unknown)),
        "gradestack_git_commit": commit,
        "build_artifacts_release": web,
        "build_artifacts_image_tag": tag,
        "build_artifacts_git_commit": commit,
    }


def writable_state(environment: str, scratch: Path) -> dict[str, str]:
    """A private, writable copy of a read-only state directory's files, for this run only.

    The local secrets are ansible.builtin.password lookups on files of the state directory
    (mounted read-only here), and that lookup takes a lock file beside the password file
    even when the file exists: on the read-only mount every secret fails. The copy (the
    directory's regular files: secrets, endpoints.json) lives in the run's own 0700 scratch
    directory and goes with it; the host's files never change. Its subdirectories stay the
    read-only originals, linked: nothing there is a password file, and the broker probe
    trusts mq-tls/ca.pem, the local CA the deploy made.
    """
    state = ROOT / ".state" / environment
    if not state.is_dir() or os.access(state, os.W_OK):
        return {}
    copy = scratch / "state"
    copy.mkdir(mode=0o700)
    for item in state.iterdir():
        if item.is_dir():
            (copy / item.name).symlink_to(item)
        elif item.is_file():
            shutil.copy2(item, copy / item.name)
    return {"gradestack_state_dir": str(copy)}


def playbook_command(environment: str, vantage: str, report_dir: str, scratch: Path) -> list[str]:
    inventory = ROOT / "inventories" / environment
    if not inventory.is_dir():
        known = sorted(p.name for p in (ROOT / "inventories").iterdir() if p.is_dir())
        raise ConfigError(f"GRADESTACK_ENVIRONMENT={environment}: no inventory of that name ({', '.join(known)})")
    variables: dict[str, object] = {
        **release_vars(environment),
        **writable_state(environment, scratch),
        "verify_vantage": vantage,
        "verify_report_dir": report_dir,
        **extra_vars_from_env(),
    }
    return [
        str(Path(sys.executable).parent / "ansible-playbook"),
        str(ROOT / "verify.yml"),
        "-i",
        str(inventory),
        "-e",
        json.dumps(variables),
    ]


def upload(report: Path, uri: str, environment: str) -> None:
    """Copy the report to s3://bucket/prefix/<UTC timestamp>-verify-<env>.xml (boto3's own credentials)."""
    import boto3  # noqa: PLC0415 (only runs that upload need it; a stand-in run does not)

    parts = urlsplit(uri)
    if parts.scheme != "s3" or not parts.netloc:
        raise ConfigError(f"GRADESTACK_VERIFY_REPORT_S3_URI={uri}: expected s3://bucket[/prefix]")
    stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
    prefix = parts.path.strip("/")
    key = f"{prefix}/{stamp}-verify-{environment}.xml" if prefix else f"{stamp}-verify-{environment}.xml"
    boto3.client("s3").upload_file(str(report), parts.netloc, key, ExtraArgs={"ContentType": "application/xml"})
    print(f"gradestack-verify: report uploaded to s3://{parts.netloc}/{key}", flush=True)


def run(command: list[str], environment: str, vantage: str, report_dir: str, s3_uri: str) -> int:
    """Run the playbook (or the stand-in), then copy the report when asked; the run's status."""
    env = {**os.environ, "ANSIBLE_CONFIG": str(ROOT / "ansible.cfg"), "GRADESTACK_VERIFY_REPORT_DIR": report_dir}
    started = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    print(f"gradestack-verify: {environment} from the {vantage} vantage, started {started}", flush=True)
    status = subprocess.run(command, cwd=ROOT, env=env, check=False).returncode  # noqa: S603 (our own command)
    report = Path(report_dir) / f"verify-{environment}.xml"
    print(f"gradestack-verify: exit {status}, report {report}", flush=True)

    if s3_uri:
        if not report.is_file():
            print(f"gradestack-verify: no report at {report} to upload", file=sys.stderr)
            return status or 1
        try:
            upload(report, s3_uri, environment)
        except Exception as error:  # any failure of the copy is reported, never hidden
            print(f"gradestack-verify: upload to {s3_uri} failed: {error}", file=sys.stderr)
            return status or 1
    return status


def main() -> int:
    environment = os.environ.get("GRADESTACK_ENVIRONMENT", "").strip()
    vantage = os.environ.get("GRADESTACK_VERIFY_VANTAGE", "").strip() or "network"
    report_dir = os.environ.get("GRADESTACK_VERIFY_REPORT_DIR", "").strip() or DEFAULT_REPORT_DIR
    s3_uri = os.environ.get("GRADESTACK_VERIFY_REPORT_S3_URI", "").strip()
    stand_in = os.environ.get("GRADESTACK_VERIFY_COMMAND", "").strip()
    try:
        if not environment:
            raise ConfigError("GRADESTACK_ENVIRONMENT is not set (the inventory name: local, dev, staging, ...)")
        if vantage not in ("network", "operator"):
            raise ConfigError(f"GRADESTACK_VERIFY_VANTAGE={vantage}: expected network or operator")
        Path(report_dir).mkdir(parents=True, exist_ok=True)
        # The report is the one output: readable by the host user who owns the mounted directory.
        os.umask(0o022)
        with tempfile.TemporaryDirectory(prefix="gradestack-verify-") as scratch:
            command = (
                ["/bin/sh", "-c", stand_in]
                if stand_in
                else playbook_command(environment, vantage, report_dir, Path(scratch))
            )
            return run(command, environment, vantage, report_dir, s3_uri)
    except ConfigError as error:
        print(f"gradestack-verify: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
