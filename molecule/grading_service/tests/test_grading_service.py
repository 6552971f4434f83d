"""roles/grading_service (podman): labelled, healthy, self-restarting workers, scaled and replaced by image tag."""

import hashlib
import json
import os
import subprocess
import time
from pathlib import Path

from testsupport.molecule_scenario import run_playbook

CONVERGE = Path(__file__).resolve().parents[1] / "converge.yml"
LABEL = "label=io.gradestack.environment=molecule-gs"


def workers() -> list[str]:
    out = subprocess.run(
        ["podman", "ps", "--all", "--filter", LABEL, "--format", "{{.Names}}"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    return sorted(out.split())


def inspect(name: str) -> dict:
    out = subprocess.run(["podman", "container", "inspect", name], capture_output=True, text=True, check=True).stdout
    return json.loads(out)[0]


def test_count_and_names():
    assert workers() == ["gradestack-molecule-gs-1", "gradestack-molecule-gs-2"]


def test_running_healthy_restarting_on_the_network():
    for name in workers():
        data = inspect(name)
        assert data["State"]["Running"]
        assert data["State"]["Health"]["Status"] == "healthy"
        assert data["HostConfig"]["RestartPolicy"]["Name"] == "always"
        assert list(data["NetworkSettings"]["Networks"]) == ["gradestack-molecule-gs"]
        assert data["HostConfig"]["Memory"] == 256 * 1024 * 1024


def test_labels_and_environment():
    data = inspect("gradestack-molecule-gs-1")
    labels = data["Config"]["Labels"]
    assert labels["io.gradestack.role"] == "grading"
    assert labels["io.gradestack.image"] == "localhost/gradestack-molecule-worker:v1"
    env = dict(item.split("=", 1) for item in data["Config"]["Env"])
    assert env["GRADING_BUCKET"] == "molecule-bucket"
    assert env["MQ_PASSWORD"] == "molecule-mq-secret-7Hq"  # noqa: S105 (test value)
    assert "AWS_ENDPOINT_URL" not in env


def test_every_worker_shares_the_hosts_slot_lease_directory():
    lease_dir = "/run/gradestack-molecule-gs/sandbox-slots"
    assert Path(lease_dir).is_dir() and Path(lease_dir).stat().st_mode & 0o777 == 0o700
    for name in workers():
        data = inspect(name)
        mounts = {m["Destination"]: m for m in data["Mounts"]}
        assert mounts[lease_dir]["Source"] == lease_dir and mounts[lease_dir]["RW"]
        env = dict(item.split("=", 1) for item in data["Config"]["Env"])
        assert env["SANDBOX_SLOT_LEASE_DIR"] == lease_dir
        assert (env["SANDBOX_UID_BASE"], env["SANDBOX_UID_COUNT"]) == ("30000", "1024")
    # A lock taken in one container is seen by the other (one directory, not two copies).
    subprocess.run(["podman", "exec", "gradestack-molecule-gs-1", "touch", f"{lease_dir}/30000.lock"], check=True)
    listing = subprocess.run(
        ["podman", "exec", "gradestack-molecule-gs-2", "ls", lease_dir], capture_output=True, text=True, check=True
    ).stdout
    assert "30000.lock" in listing.split()


def ca_file() -> Path:
    return Path(os.environ["MOLECULE_EPHEMERAL_DIRECTORY"]) / "tls" / "ca.pem"


def mounted_ca(name: str) -> str:
    return subprocess.run(
        ["podman", "exec", name, "cat", "/etc/gradestack/mq-ca.pem"], capture_output=True, text=True, check=True
    ).stdout


def test_every_worker_trusts_the_brokers_ca_read_only():
    for name in workers():
        data = inspect(name)
        mounts = {m["Destination"]: m for m in data["Mounts"]}
        ca = mounts["/etc/gradestack/mq-ca.pem"]
        assert ca["Source"] == str(ca_file()) and not ca["RW"]
        env = dict(item.split("=", 1) for item in data["Config"]["Env"])
        assert env["MQ_CA_BUNDLE"] == "/etc/gradestack/mq-ca.pem"
        assert env["MQ_ENDPOINTS"] == "stomp+ssl://mq:61614"
        assert mounted_ca(name) == ca_file().read_text()
        # A file the worker's python accepts as a CA (what MQ_CA_BUNDLE is for).
        subprocess.run(
            [
                "podman",
                "exec",
                name,
                "python3",
                "-c",
                "import ssl; ssl.create_default_context(cafile='/etc/gradestack/mq-ca.pem')",
            ],
            check=True,
        )


def test_a_new_ca_replaces_the_workers():
    before = {name: inspect(name)["Id"] for name in workers()}
    original = ca_file().read_text()
    # Another certificate in its place, written as Ansible writes files (a new file renamed over the old):
    # a bind mount keeps showing the old file, so only new containers see the new CA.
    replacement = ca_file().with_suffix(".new")
    replacement.write_text((ca_file().parent / "broker.pem").read_text())
    replacement.replace(ca_file())
    try:
        result = run_playbook(CONVERGE)
        assert result.returncode == 0, result.stdout[-3000:]
        for name, old_id in before.items():
            data = inspect(name)
            assert data["Id"] != old_id, name
            assert (
                data["Config"]["Labels"]["io.gradestack.mq-ca-sha256"]
                == hashlib.sha256(ca_file().read_text().rstrip("\n").encode()).hexdigest()
            )
            assert mounted_ca(name) == ca_file().read_text()
    finally:
        ca_file().write_text(original)
    # Back to the CA the other tests expect.
    assert run_playbook(CONVERGE).returncode == 0


def test_a_worker_that_exits_comes_back():
    # `podman kill` counts as stopped by the user; a worker that dies by itself is restarted.
    before = inspect("gradestack-molecule-gs-1")["RestartCount"]
    # SIGINT: the only signal the stand-in's PID 1 (Python) acts on inside its namespace.
    # Detached: the container stops while `kill` runs, and an attached `podman exec` then
    # exits 255 or 0 depending on who finishes first. The restart count is what we check.
    subprocess.run(
        ["podman", "exec", "--detach", "gradestack-molecule-gs-1", "kill", "-INT", "1"], check=True, capture_output=True
    )
    deadline = time.monotonic() + 60
    while inspect("gradestack-molecule-gs-1")["RestartCount"] == before and time.monotonic() < deadline:
        time.sleep(1)
    data = inspect("gradestack-molecule-gs-1")
    assert data["RestartCount"] == before + 1
    subprocess.run(["podman", "wait", "--condition", "running", "gradestack-molecule-gs-1"], check=True, timeout=60)


def test_scale_down_and_new_tag_replace_workers_without_leaking_the_secret():
    result = run_playbook(CONVERGE, {"worker_tag": "v2", "worker_count": 1})
    assert result.returncode == 0, result.stdout[-3000:]
    assert workers() == ["gradestack-molecule-gs-1"]
    data = inspect("gradestack-molecule-gs-1")
    assert data["Config"]["Labels"]["io.gradestack.image"] == "localhost/gradestack-molecule-worker:v2"
    assert data["State"]["Health"]["Status"] == "healthy"
    assert "molecule-mq-secret-7Hq" not in result.stdout
