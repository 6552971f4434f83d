"""roles/aws_emulator: moto server runs from its venv through the repository's launcher and answers AWS APIs."""

import json
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]
PYTHON = "/opt/moto/venv/bin/python"


def aws(host, service: str, code: str) -> str:
    """Run boto3 code against the emulator inside the container; `client` is bound to `service`."""
    script = (
        "import boto3, json\n"
        f"client = boto3.client({service!r}, endpoint_url='http://127.0.0.1:5000', region_name='ap-northeast-2',"
        " aws_access_key_id='testing', aws_secret_access_key='testing')\n"
        f"{code}\n"
    )
    return host.check_output(f"{PYTHON} - <<'PY_EOF'\n{script}\nPY_EOF").strip()


def test_service_running_and_enabled(host):
    service = host.service("moto")
    assert service.is_running
    assert service.is_enabled


def test_listens_on_the_network(host):
    assert host.socket("tcp://0.0.0.0:5000").is_listening


def test_moto_version_is_the_repository_pin(host):
    pin = re.search(r"^moto==(\S+)$", (REPO / "requirements.txt").read_text(), re.MULTILINE).group(1)
    assert host.check_output(f"{PYTHON} -c 'import moto; print(moto.__version__)'") == pin


def test_runs_the_repository_launcher(host):
    launcher = host.file("/opt/moto/moto_server.py")
    assert launcher.content_string == (REPO / "scripts" / "moto_server.py").read_text()
    assert "moto_server.py --host 0.0.0.0 --port 5000" in host.file("/etc/systemd/system/moto.service").content_string


def test_s3_put_get_delete(host):
    out = aws(
        host,
        "s3",
        "client.create_bucket(Bucket='molecule', CreateBucketConfiguration={'LocationConstraint': 'ap-northeast-2'})\n"
        "client.put_object(Bucket='molecule', Key='probe.txt', Body=b'hello')\n"
        "body = client.get_object(Bucket='molecule', Key='probe.txt')['Body'].read().decode()\n"
        "client.delete_object(Bucket='molecule', Key='probe.txt')\n"
        "print(json.dumps([body, client.list_objects_v2(Bucket='molecule')['KeyCount']]))",
    )
    assert json.loads(out) == ["hello", 0]


def test_launcher_adjustments_are_active(host):
    # Application Auto Scaling tagging exists only through scripts/moto_server.py's additions.
    arn = "arn:aws:application-autoscaling:ap-northeast-2:123456789012:scalable-target/molecule"
    out = aws(
        host,
        "application-autoscaling",
        f"client.tag_resource(ResourceARN={arn!r}, Tags={{'probe': 'yes'}})\n"
        f"print(json.dumps(client.list_tags_for_resource(ResourceARN={arn!r})['Tags']))",
    )
    assert json.loads(out) == {"probe": "yes"}


def test_cloudwatch_logs_answer(host):
    out = aws(
        host,
        "logs",
        "client.create_log_group(logGroupName='/molecule/probe')\n"
        "print(json.dumps([g['logGroupName'] for g in client.describe_log_groups()['logGroups']]))",
    )
    assert "/molecule/probe" in json.loads(out)
