"""roles/local_provision against the real podman: create, converge again with nothing to do, destroy.

A pytest test rather than a Molecule scenario: the role drives podman on the
control node itself, which Molecule's podman driver cannot nest. Each run uses its
own label value, network, container names and a free loopback port, so it never
touches the local environment (or another test run) on the same machine.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from testsupport.ansible import REPO, run_playbook
from testsupport.ports import free_port

pytestmark = [pytest.mark.slow, pytest.mark.containers]

LABEL_KEY = "io.gradestack.environment"


def podman(*args: str) -> str:
    return subprocess.run(["podman", *args], check=True, capture_output=True, text=True).stdout.strip()


def labelled(kind: str, label_value: str) -> list[str]:
    """Names of podman objects of `kind` (ps, volume, network) carrying our test label."""
    fmt = "{{.Names}}" if kind == "ps" else "{{.Name}}"
    args = ["ps", "--all"] if kind == "ps" else [kind, "ls"]
    return podman(*args, "--filter", f"label={LABEL_KEY}={label_value}", "--format", fmt).split()


def recap_changed(output: str) -> int:
    return sum(int(n) for n in re.findall(r"changed=(\d+)", output.rsplit("PLAY RECAP", maxsplit=1)[-1]))


class Environment:
    """A private, three-container environment described by its own inventory."""

    first: subprocess.CompletedProcess[str]

    def __init__(self, tmp: Path) -> None:
        self.id = uuid.uuid4().hex[:8]
        self.prefix = f"gs-test-{self.id}"
        self.label = f"pytest-{self.id}"
        self.port = free_port()
        self.state_file = tmp / "endpoints.json"
        self.inventory = tmp / "hosts.yml"
        self.playbook = tmp / "provision.yml"
        hosts = {"web-1": "web", "lb": "loadbalancer", "db": "database"}
        self.containers = {host: f"{self.prefix}-{host}" for host in hosts}
        children = {group: {"hosts": {host: {"ansible_host": self.containers[host]}}} for host, group in hosts.items()}
        inventory = {
            "all": {
                "children": {
                    "local": {
                        "hosts": {
                            "localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
                        },
                        "children": {"local_containers": {"children": children}},
                    }
                }
            }
        }
        self.inventory.write_text(yaml.safe_dump(inventory))
        self.playbook.write_text(
            yaml.safe_dump(
                [{"name": "local_provision", "hosts": "localhost", "gather_facts": False, "roles": ["local_provision"]}]
            )
        )

    def run(self, state: str):
        extra = {
            "local_provision_state": state,
            "local_provision_label_value": self.label,
            "local_provision_network_name": self.prefix,
            "local_provision_lb_port": self.port,
            "local_provision_state_file": str(self.state_file),
            "local_provision_base_images": ["systemd"],
            "local_provision_destroy_images": False,
        }
        result = run_playbook(str(self.playbook), inventory=str(self.inventory), extra_vars=extra, cwd=REPO)
        assert result.returncode == 0, result.stdout[-4000:]
        return result


@pytest.fixture(scope="module")
def env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Environment]:
    if shutil.which("podman") is None:
        pytest.fail("podman is required for the local environment; run 'make setup'")
    environment = Environment(tmp_path_factory.mktemp("local_provision"))
    # Something of someone else's on the same machine, named like ours but unlabelled.
    sentinel = f"{environment.prefix}-sentinel"
    podman("volume", "create", sentinel)
    environment.first = environment.run("present")
    yield environment
    # Whatever a failed test left behind: only our label, then the sentinel.
    subprocess.run(["podman", "rm", "--force", *environment.containers.values()], capture_output=True, check=False)
    for kind in ("volume", "network"):
        for name in labelled(kind, environment.label):
            subprocess.run(["podman", kind, "rm", "--force", name], capture_output=True, check=False)
    subprocess.run(["podman", "volume", "rm", "--force", sentinel], capture_output=True, check=False)


def test_every_host_runs_systemd(env):
    assert sorted(labelled("ps", env.label)) == sorted(env.containers.values())
    for name in env.containers.values():
        state = subprocess.run(
            ["podman", "exec", name, "systemctl", "is-system-running"], capture_output=True, text=True, check=False
        ).stdout.strip()
        assert state in {"running", "degraded"}, f"{name}: {state}"


def test_hosts_resolve_each_other_by_inventory_name(env):
    podman("exec", env.containers["web-1"], "getent", "hosts", "db")


def test_only_the_load_balancer_publishes_a_port_on_loopback(env):
    assert podman("port", env.containers["lb"]) == f"80/tcp -> 127.0.0.1:{env.port}"
    assert podman("port", env.containers["web-1"]) == ""


def test_database_data_lives_on_a_labelled_volume(env):
    assert labelled("volume", env.label) == [f"{env.containers['db']}-pgdata"]
    assert labelled("network", env.label) == [env.prefix]


def test_endpoints_file_names_every_host(env):
    endpoints = json.loads(env.state_file.read_text())
    assert endpoints["lb_url"] == f"http://127.0.0.1:{env.port}"
    assert set(endpoints["hosts"]) == set(env.containers)
    assert all(host["address"] for host in endpoints["hosts"].values())


def test_second_run_changes_nothing(env):
    assert recap_changed(env.first.stdout) > 0
    assert recap_changed(env.run("present").stdout) == 0


def test_destroy_removes_exactly_what_was_created(env):
    env.run("absent")
    assert labelled("ps", env.label) == []
    assert labelled("volume", env.label) == []
    assert labelled("network", env.label) == []
    podman("volume", "inspect", f"{env.prefix}-sentinel")
    # A second destroy finds nothing to do.
    assert recap_changed(env.run("absent").stdout) == 0
