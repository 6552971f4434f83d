"""roles/local_provision: a labelled systemd container on its network, LB port on 127.0.0.1; absent removes only it."""

import json
import subprocess
from pathlib import Path

from testsupport.molecule_scenario import ephemeral_dir, run_playbook

CONTAINER = "gradestack-molecule-lp-lb"
NETWORK = "gradestack-molecule-lp"
LABEL = "io.gradestack.environment"
CONVERGE = Path(__file__).resolve().parents[1] / "converge.yml"


def podman(*args: str) -> str:
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=True).stdout


def inspect(kind: str, name: str) -> dict:
    return json.loads(podman(kind, "inspect", name))[0]


def lb_port() -> int:
    return json.loads((ephemeral_dir() / "lp.json").read_text())["lb_port"]


def test_systemd_runs_in_the_container():
    state = podman("exec", CONTAINER, "systemctl", "is-system-running").strip()
    assert state in ("running", "degraded")
    assert podman("exec", CONTAINER, "cat", "/proc/1/comm").strip() == "systemd"
    assert podman("exec", CONTAINER, "hostname").strip() == "lp-lb"


def test_labels_network_alias_and_volume():
    data = inspect("container", CONTAINER)
    assert data["Config"]["Labels"][LABEL] == "molecule-lp"
    assert data["Config"]["Labels"]["io.gradestack.host"] == "lp-lb"
    assert list(data["NetworkSettings"]["Networks"]) == [NETWORK]
    assert "lp-lb" in data["NetworkSettings"]["Networks"][NETWORK]["Aliases"]
    mounts = {m["Name"]: m["Destination"] for m in data["Mounts"] if m["Type"] == "volume"}
    assert mounts == {f"{CONTAINER}-data": "/srv/data"}
    assert inspect("volume", f"{CONTAINER}-data")["Labels"][LABEL] == "molecule-lp"
    assert inspect("network", NETWORK)["labels"][LABEL] == "molecule-lp"


def test_lb_port_published_on_loopback_only():
    ports = inspect("container", CONTAINER)["NetworkSettings"]["Ports"]
    assert ports == {"80/tcp": [{"HostIp": "127.0.0.1", "HostPort": str(lb_port())}]}


def test_endpoints_file():
    endpoints = json.loads((ephemeral_dir() / "endpoints.json").read_text())
    assert endpoints["lb_url"] == f"http://127.0.0.1:{lb_port()}"
    assert endpoints["network"] == NETWORK
    assert endpoints["hosts"]["lp-lb"]["container"] == CONTAINER
    assert endpoints["hosts"]["lp-lb"]["address"]


def test_absent_removes_exactly_what_carries_the_label():
    result = run_playbook(CONVERGE, {"local_provision_state": "absent"})
    assert result.returncode == 0, result.stdout[-3000:]
    assert podman("ps", "--all", "--filter", f"label={LABEL}=molecule-lp", "--format", "{{.Names}}").strip() == ""
    assert podman("volume", "ls", "--filter", f"label={LABEL}=molecule-lp", "--format", "{{.Name}}").strip() == ""
    assert NETWORK not in podman("network", "ls", "--format", "{{.Name}}").split()
    # Another environment's container (prepare.yml) is untouched.
    assert inspect("container", "gradestack-molecule-lp-bystander")["State"]["Running"]
