"""roles/grading_image_publish against the emulator: the reference it publishes, no push, no rebuild of a pushed tag."""

import json
from pathlib import Path

from testsupport.molecule_scenario import aws, facts, run_playbook

REPOSITORY = "gradestack-molecule-grading"
VERIFIER_REPOSITORY = "gradestack-molecule-verifier"
CONVERGE = Path(__file__).resolve().parents[1] / "converge.yml"


def repository(name: str = REPOSITORY) -> dict:
    return aws("ecr").describe_repositories(repositoryNames=[name])["repositories"][0]


def pushes_of(repository_name: str, output: str) -> list[str]:
    """The output lines reporting a (skipped) push of an image of that repository."""
    return [
        line for line in output.splitlines() if "SKIPPED login and push of" in line and f"/{repository_name}:" in line
    ]


def test_reference_is_the_repository_uri_with_the_release_tag():
    assert facts()["grading_image_reference"] == f"{repository()['repositoryUri']}:molecule1"
    assert repository()["repositoryUri"] == f"123456789012.dkr.ecr.ap-northeast-2.amazonaws.com/{REPOSITORY}"


def test_nothing_is_pushed_to_the_emulator_and_the_skip_is_said():
    result = run_playbook(CONVERGE)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "SKIPPED login and push of" in result.stdout
    assert aws("ecr").list_images(repositoryName=REPOSITORY)["imageIds"] == []


def test_a_tag_already_in_ecr_is_neither_built_nor_pushed():
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"})
    image = aws("ecr").put_image(repositoryName=REPOSITORY, imageManifest=manifest, imageTag="molecule2")["image"]
    digest = image["imageId"]["imageDigest"]
    result = run_playbook(CONVERGE, {"gradestack_grading_tag": "molecule2", "build_artifacts_image_tag": "molecule2"})
    assert result.returncode == 0, result.stdout[-3000:]
    assert f"{REPOSITORY}:molecule2 is already in ECR ({digest}): no build, no push." in result.stdout
    # The verifier image (not in ECR) is still published: only the grading image is left alone.
    assert not pushes_of(REPOSITORY, result.stdout)
    assert facts()["grading_image_reference"].endswith(f"{REPOSITORY}:molecule2")


def test_the_verifier_image_is_published_by_the_same_role_under_its_own_fact():
    assert facts()["verifier_image_reference"] == f"{repository(VERIFIER_REPOSITORY)['repositoryUri']}:verifier1"
    # The second application leaves the grading image's reference alone.
    assert facts()["grading_image_reference"].startswith(f"{repository()['repositoryUri']}:molecule")
    assert aws("ecr").list_images(repositoryName=VERIFIER_REPOSITORY)["imageIds"] == []


def test_a_verifier_tag_already_in_ecr_is_neither_built_nor_pushed():
    manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json"})
    ecr = aws("ecr")
    image = ecr.put_image(repositoryName=VERIFIER_REPOSITORY, imageManifest=manifest, imageTag="verifier2")["image"]
    digest = image["imageId"]["imageDigest"]
    result = run_playbook(CONVERGE, {"gradestack_verifier_tag": "verifier2"})
    assert result.returncode == 0, result.stdout[-3000:]
    assert f"{VERIFIER_REPOSITORY}:verifier2 is already in ECR ({digest}): no build, no push." in result.stdout
    assert not pushes_of(VERIFIER_REPOSITORY, result.stdout)
    assert pushes_of(REPOSITORY, result.stdout), "the grading image (molecule1, not in ECR) is published as before"
    assert facts()["verifier_image_reference"].endswith(f"{VERIFIER_REPOSITORY}:verifier2")
