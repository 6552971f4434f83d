"""plugins/modules/gradestack_ecr_put_image.py through Ansible against moto: put, idempotence, check mode."""

from __future__ import annotations

import importlib.util
import json
import os
import secrets

import boto3
import pytest
import yaml

from testsupport.ansible import REPO, playbook_env, run_playbook
from testsupport.moto import MotoServer

pytestmark = pytest.mark.slow
_spec = importlib.util.spec_from_file_location("ecr_put_image", REPO / "plugins/modules/gradestack_ecr_put_image.py")
ecr_put_image = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(ecr_put_image)
REGION = "ap-northeast-2"
MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 0,
            "digest": "sha256:" + "b" * 64,
        },
        "layers": [],
    }
)


def credentials() -> dict[str, str]:
    return {"aws_access_key_id": "AKIAGRADESTACKUNIT02", "aws_secret_access_key": "moto-accepts-any-secret"}


def put(
    tmp_path, server: MotoServer, repository: str, tag: str, *args: str, source: dict | None = None, path: str = ""
):
    """One run of the module on localhost (``source``: manifest or local_image); its registered result."""
    options = {"repository": repository, "tag": tag, "region": REGION, **(source or {"manifest": MANIFEST})}
    task = {"gradestack_ecr_put_image": options, "register": "put"}
    save = {
        "ansible.builtin.copy": {"content": "{{ put | to_json }}", "dest": f"{tmp_path}/put.json", "mode": "0600"},
        "check_mode": False,  # the result is wanted from a check run too
    }
    play = [{"name": "put", "hosts": "localhost", "gather_facts": False, "tasks": [task, save]}]
    (tmp_path / "play.yml").write_text(yaml.safe_dump(play))
    localhost = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    (tmp_path / "hosts.yml").write_text(yaml.safe_dump({"all": {"hosts": {"localhost": localhost}}}))
    env = {
        "AWS_ENDPOINT_URL": server.endpoint,
        "AWS_ACCESS_KEY_ID": credentials()["aws_access_key_id"],
        "AWS_SECRET_ACCESS_KEY": credentials()["aws_secret_access_key"],
    } | ({"PATH": f"{path}:{os.environ['PATH']}"} if path else {})
    result = run_playbook(
        str(tmp_path / "play.yml"), inventory=str(tmp_path / "hosts.yml"), env=playbook_env(env), args=list(args)
    )
    outcome = json.loads((tmp_path / "put.json").read_text()) if (tmp_path / "put.json").exists() else None
    return result, outcome


def test_the_manifest_is_put_once_and_a_check_run_changes_nothing(tmp_path, moto_server: MotoServer):
    repository = f"gradestack-unit-{secrets.token_hex(4)}"
    ecr = boto3.client("ecr", endpoint_url=moto_server.endpoint, region_name=REGION, **credentials())
    ecr.create_repository(repositoryName=repository)

    result, checked = put(tmp_path, moto_server, repository, "v1", "--check")
    assert result.returncode == 0, result.stdout[-3000:]
    assert checked["changed"] and checked["registered"]
    assert ecr.describe_images(repositoryName=repository)["imageDetails"] == []  # check mode put nothing

    result, first = put(tmp_path, moto_server, repository, "v1")
    assert result.returncode == 0, result.stdout[-3000:]
    assert first["changed"] and first["registered"]
    images = ecr.describe_images(repositoryName=repository, imageIds=[{"imageTag": "v1"}])["imageDetails"]
    assert [i["imageDigest"] for i in images] == [first["image_digest"]]

    result, second = put(tmp_path, moto_server, repository, "v1")
    assert result.returncode == 0, result.stdout[-3000:]
    assert not second["changed"] and not second["registered"]
    assert second["image_digest"] == first["image_digest"]


def test_a_missing_repository_is_a_clear_failure(tmp_path, moto_server: MotoServer):
    result, _ = put(tmp_path, moto_server, "gradestack-unit-absent", "v1")
    assert result.returncode != 0
    assert "ECR repository gradestack-unit-absent does not exist" in " ".join(result.stdout.split()), result.stdout


def test_the_manifest_of_a_local_image_names_its_config_and_layers():
    inspected = {"Id": "c" * 64, "RootFS": {"Type": "layers", "Layers": ["sha256:" + "1" * 64, "sha256:" + "2" * 64]}}
    manifest = json.loads(ecr_put_image.manifest_of(inspected))
    assert manifest["schemaVersion"] == 2
    assert manifest["mediaType"] == "application/vnd.docker.distribution.manifest.v2+json"
    assert manifest["config"]["digest"] == "sha256:" + "c" * 64
    assert [layer["digest"] for layer in manifest["layers"]] == ["sha256:" + "1" * 64, "sha256:" + "2" * 64]
    # The same image always gives the same manifest, hence the same digest in ECR.
    assert ecr_put_image.manifest_of(inspected) == ecr_put_image.manifest_of(dict(inspected))


INSPECTED = {"Id": "d" * 64, "RootFS": {"Type": "layers", "Layers": ["sha256:" + "3" * 64]}}


def test_a_local_image_is_described_by_the_engine_and_put(tmp_path, moto_server: MotoServer):
    # A stand-in podman on PATH: what `podman image inspect` prints for the image, a failure for any other.
    engine = tmp_path / "bin" / "podman"
    engine.parent.mkdir()
    engine.write_text(
        "#!/bin/sh\n"
        'if [ "$1 $2 $3" = "image inspect localhost/gradestack-grading:v7" ]; then\n'
        f"  echo '{json.dumps([INSPECTED])}'; exit 0\n"
        "fi\n"
        'echo "Error: $3: image not known" >&2; exit 125\n'
    )
    engine.chmod(0o755)
    repository = f"gradestack-unit-{secrets.token_hex(4)}"
    ecr = boto3.client("ecr", endpoint_url=moto_server.endpoint, region_name=REGION, **credentials())
    ecr.create_repository(repositoryName=repository)

    local = {"local_image": "localhost/gradestack-grading:v7", "engine": "podman"}
    result, outcome = put(tmp_path, moto_server, repository, "v7", source=local, path=str(engine.parent))
    assert result.returncode == 0, result.stdout[-3000:]
    assert outcome["changed"] and outcome["registered"]
    stored = ecr.batch_get_image(repositoryName=repository, imageIds=[{"imageTag": "v7"}])["images"][0]
    assert json.loads(stored["imageManifest"]) == json.loads(ecr_put_image.manifest_of(INSPECTED))

    absent = {"local_image": "localhost/gradestack-grading:v8", "engine": "podman"}
    result, _ = put(tmp_path, moto_server, repository, "v8", source=absent, path=str(engine.parent))
    assert result.returncode != 0
    assert "podman image inspect localhost/gradestack-grading:v8 failed: Error:" in " ".join(result.stdout.split())
    assert ecr.describe_images(repositoryName=repository)["imageDetails"][0]["imageTags"] == ["v7"]


def test_the_documentation_parses_and_names_every_option():
    documented = yaml.safe_load(ecr_put_image.DOCUMENTATION)
    assert set(documented["options"]) == {"repository", "tag", "manifest", "local_image", "engine"}
    assert set(yaml.safe_load(ecr_put_image.RETURN)) == {"image_digest", "registered"}
    assert yaml.safe_load(ecr_put_image.EXAMPLES)[0]["gradestack_ecr_put_image"]["repository"]
