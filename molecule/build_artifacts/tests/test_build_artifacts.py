"""roles/build_artifacts: the web bundle's contents and manifest, the grading image's tag and labels."""

import hashlib
import io
import json
import re
import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from testsupport.molecule_scenario import REPO, ephemeral_dir, facts


def last_commit(*paths: str) -> str:
    return subprocess.run(
        ["git", "-C", str(REPO), "log", "-1", "--format=%H", "--", *paths], capture_output=True, text=True, check=True
    ).stdout.strip()


@pytest.fixture(scope="module")
def bundle() -> dict[str, tarfile.TarInfo]:
    with tarfile.open(facts()["bundle_path"]) as archive:
        return {member.name.removeprefix("./"): member for member in archive.getmembers()}


def test_release_is_the_version_of_the_web_sources():
    release = facts()["release"]
    commit = last_commit("services/web", "services/protocol", "roles/web", "requirements.txt",
                         "roles/build_artifacts/templates")  # fmt: skip
    assert re.fullmatch(r"[0-9a-f]{12}(-dirty-[0-9a-f]{8})?", release)
    assert release.startswith(commit[:12])
    assert (
        facts()["git_commit"]
        == subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True, check=True
        ).stdout.strip()
    )


def test_bundle_and_manifest_in_the_artifacts_dir():
    artifacts = ephemeral_dir() / "artifacts"
    release = facts()["release"]
    assert Path(facts()["bundle_path"]) == artifacts / f"{release}.tar.gz"
    manifest = json.loads((artifacts / f"{release}.json").read_text())
    assert manifest["release"] == release
    assert manifest["bundle"] == f"{release}.tar.gz"
    assert manifest["bundle_sha256"] == hashlib.sha256((artifacts / f"{release}.tar.gz").read_bytes()).hexdigest()
    assert manifest["grading_image"] == facts()["image"]
    assert not (artifacts / "build").exists(), "the staging directory was left behind"
    assert sorted(p.name for p in artifacts.iterdir()) == [f"{release}.json", f"{release}.tar.gz"]


def test_bundle_holds_the_wheels_the_role_and_the_site_playbook(bundle):
    wheels = [name for name in bundle if name.startswith("wheels/") and name.endswith(".whl")]
    assert any(re.match(r"wheels/gradestack_web-.*\.whl$", w) for w in wheels), wheels
    assert any(re.match(r"wheels/gradestack_protocol-.*\.whl$", w) for w in wheels), wheels
    assert any(re.match(r"wheels/(?i:flask)-.*\.whl$", w) for w in wheels), wheels
    assert any(re.match(r"tools/wheels/ansible_core-.*\.whl$", name) for name in bundle)
    for name in ("requirements.lock", "tools/requirements.lock", "site.yml", "README.md", "RELEASE",
                 "roles/web/tasks/main.yml", "roles/web/defaults/main.yml"):  # fmt: skip
        assert name in bundle, name
    assert {member.uid for member in bundle.values()} == {0}


def test_the_web_wheel_holds_exactly_the_tracked_migrations(bundle):
    """Built from the sources as git has them: no file an earlier build left in services/web/build (a migration
    renamed since made the bundle's migrate fail with MultipleHeads)."""
    (wheel_name,) = [name for name in bundle if re.match(r"wheels/gradestack_web-.*\.whl$", name)]
    with tarfile.open(facts()["bundle_path"]) as archive:
        wheel = zipfile.ZipFile(io.BytesIO(archive.extractfile("./" + wheel_name).read()))
    prefix = "gradestack_web/migrations/versions/"
    packaged = sorted(n.removeprefix(prefix) for n in wheel.namelist() if n.startswith(prefix) and n.endswith(".py"))
    tracked = subprocess.run(
        ["git", "-C", str(REPO), "ls-files", "services/web/" + prefix + "*.py"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert packaged == sorted(Path(name).name for name in tracked)


def test_release_file_and_lock_pins(bundle):
    with tarfile.open(facts()["bundle_path"]) as archive:
        release = archive.extractfile("./RELEASE").read().decode().strip()
        lock = archive.extractfile("./requirements.lock").read().decode()
    assert release == facts()["release"]
    assert re.search(r"^flask==\S+", lock, re.MULTILINE | re.IGNORECASE), lock


def test_grading_image_tag_and_labels():
    if not facts()["image_enabled"]:
        pytest.skip("MOLECULE_BUILD_IMAGE=false: the grading image is not part of this run")
    tag = facts()["image_tag"]
    assert facts()["image"] == f"localhost/gradestack-grading:{tag}"
    assert tag.startswith(last_commit("services/grading", "services/protocol")[:12])
    data = json.loads(
        subprocess.run(
            ["podman", "image", "inspect", facts()["image"]], capture_output=True, text=True, check=True
        ).stdout
    )[0]
    labels = data["Labels"]
    assert labels["org.opencontainers.image.title"] == "gradestack-grading"
    assert re.fullmatch(r"[0-9a-f]{40}", labels["org.opencontainers.image.revision"])
    assert "http://localhost:8080/health" in " ".join(data["Healthcheck"]["Test"])  # docker format keeps HEALTHCHECK
