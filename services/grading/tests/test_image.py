"""The grading image: it builds with podman, passes its HEALTHCHECK, stops cleanly on SIGTERM,
carries no secrets, and the hostile suite passes inside it as a default (unprivileged,
default capabilities) podman container."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from testsupport.ci import require

from .conftest import HOSTILE, REPO, TEST_UID_BASE, TEST_UID_COUNT
from .test_hostile import CANARY, CANARY_ENV, expected_verdicts

pytestmark = [pytest.mark.containers, pytest.mark.slow]

INSIDE = r"""
import json, os, pathlib, shutil, subprocess, sys
os.makedirs("/tmp/p", mode=0o700)
shutil.copytree("/hostile/problem/hostile", "/tmp/p/hostile")
languages = {".c": "c", ".cpp": "cpp", ".py": "python3"}
results = []
for path in sorted(pathlib.Path("/hostile").iterdir()):
    if path.suffix in languages:
        command = [sys.executable, "-m", "gradestack_grading", "judge", "--show-output", "--problem", "/tmp/p/hostile",
                   "--language", languages[path.suffix], str(path)]
        done = subprocess.run(command, capture_output=True, text=True)
        results.append({"name": path.name, "rc": done.returncode, "stdout": done.stdout, "stderr": done.stderr})
base = int(os.environ["SANDBOX_UID_BASE"])
left = [p for p in os.listdir("/proc") if p.isdigit() and os.stat("/proc/" + p).st_uid >= base]
print(json.dumps({"results": results, "left": left}))
"""


# Slot uids are global to the kernel: a container with its own lease directory must also
# have its own uids. The image's default 20000+ belongs to the local environment's workers
# (a local end to end may be judging beside this lane); these containers use this pytest
# process's leased block instead. A hostile run at 20000 once made a local worker's
# execve fail with EAGAIN (the uid's RLIMIT_NPROC count is shared across containers).
SLOT_UIDS = ("-e", f"SANDBOX_UID_BASE={TEST_UID_BASE}", "-e", f"SANDBOX_UID_COUNT={TEST_UID_COUNT}")


def podman(*args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=check, timeout=timeout)


@pytest.fixture(scope="session")
def grading_image() -> str:
    require(shutil.which("podman") is not None, "podman is not installed: run 'make setup'")
    if os.environ.get("GRADING_TEST_IMAGE"):
        return os.environ["GRADING_TEST_IMAGE"]
    done = subprocess.run(
        [str(REPO / "scripts" / "build-grading-image.sh"), "pytest"],
        capture_output=True,
        text=True,
        timeout=1800,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return done.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="session")
def project_network() -> Iterator[str]:
    """The tests' own podman network: a worker is never on podman's default network (DNS differs per machine)."""
    name = f"gradestack-grading-test-{uuid.uuid4().hex[:8]}"
    podman("network", "create", name)
    yield name
    podman("network", "rm", "--force", name, check=False)


@pytest.fixture
def container_name() -> Iterator[str]:
    name = f"gradestack-grading-test-{uuid.uuid4().hex[:8]}"
    yield name
    podman("rm", "-f", "-t", "0", name, check=False)


def test_image_carries_no_secrets(grading_image: str) -> None:
    image = json.loads(podman("image", "inspect", grading_image).stdout)[0]
    config = image["Config"]
    env = dict(item.split("=", 1) for item in config.get("Env", []))
    # (The base image may set AWS_CA_BUNDLE, a public file path; credentials never.)
    assert not [k for k in env if any(word in k for word in ("PASSWORD", "SECRET", "TOKEN", "ACCESS_KEY"))]
    assert config["Cmd"] == ["python", "grading_worker.py"]
    assert "http://localhost:8080/health" in " ".join(image["Healthcheck"]["Test"])
    assert image.get("User", "") in ("", "root", "0")  # root on purpose: see SECURITY.md


def test_container_passes_healthcheck_and_stops_on_sigterm(
    grading_image: str, container_name: str, project_network: str
) -> None:
    podman(
        "run", "-d", "--name", container_name, "--network", project_network,
        # An unreachable broker: the worker keeps retrying, /health (liveness) must still answer.
        "-e", "MQ_ENDPOINTS=stomp://127.0.0.1:9", "-e", "MQ_USERNAME=worker", "-e", "MQ_PASSWORD=" + CANARY,
        "-e", "GRADING_BUCKET=grading-test", "-e", "AWS_REGION=ap-northeast-2", *SLOT_UIDS,
        grading_image,
    )  # fmt: skip
    deadline = time.monotonic() + 90
    while True:
        check = podman("healthcheck", "run", container_name, check=False)
        if check.returncode == 0:
            break
        state = json.loads(podman("inspect", container_name).stdout)[0]["State"]
        assert state["Running"], podman("logs", container_name, check=False).stdout[-3000:]
        assert time.monotonic() < deadline, f"healthcheck still failing: {check.stdout} {check.stderr}"
        time.sleep(2)
    podman("stop", "-t", "30", container_name)
    state = json.loads(podman("inspect", container_name).stdout)[0]["State"]
    logs = podman("logs", container_name).stdout
    assert state["ExitCode"] == 0, logs[-3000:]
    assert CANARY not in logs
    assert '"message": "worker stopped"' in logs


def test_hostile_suite_inside_a_default_container(
    grading_image: str, container_name: str, project_network: str
) -> None:
    env_args = [arg for key, value in CANARY_ENV.items() for arg in ("-e", f"{key}={value}")]
    # On a network, as in Fargate: the sandbox, not a missing interface, must stop the network tests.
    done = podman(
        "run", "--rm", "--name", container_name, "--network", project_network, *env_args, *SLOT_UIDS,
        "-v", f"{HOSTILE}:/hostile:ro",
        grading_image, "python", "-c", INSIDE,
        timeout=900,
    )  # fmt: skip
    report = json.loads(done.stdout.strip().splitlines()[-1])
    assert report["left"] == [], "processes of slot uids survived"
    names = {r["name"] for r in report["results"]}
    assert names == {p.name for p in HOSTILE.iterdir() if p.suffix in (".c", ".cpp", ".py")}
    for result in report["results"]:
        assert result["rc"] == 0, result
        verdict = json.loads(result["stdout"])["verdict"]
        assert verdict in expected_verdicts(Path(HOSTILE / result["name"])), result
        assert "ESCAPED" not in result["stdout"], result
        assert CANARY not in result["stdout"] + result["stderr"]
