"""roles/local_provision against the real podman: create, converge again with nothing to do, destroy.

A pytest test rather than a Molecule scenario: the role drives podman on the
control node itself, which Molecule's podman driver cannot nest. Each run uses its
own label value, network, container names and a free loopback port, so it never
touches the local environment (or another test run) on the same machine.

One scenario on one provisioned environment (testsupport/scenario.py): the checks, then
the second run, then the destroy, in file order; a step run out of order fails.
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

from testsupport.ansible import REPO, VENV_BIN, playbook_env, run_playbook
from testsupport.ports import free_port

pytestmark = [pytest.mark.slow, pytest.mark.containers, pytest.mark.scenario]

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
        self.ssh_dir = tmp / "ssh"
        self.inventory = tmp / "hosts.yml"
        self.playbook = tmp / "provision.yml"
        hosts = {"web-1": "web", "lb": "loadbalancer", "db": "database"}
        self.containers = {host: f"{self.prefix}-{host}" for host in hosts}
        children = {group: {"hosts": {host: {"ansible_host": self.containers[host]}}} for host, group in hosts.items()}
        # The connection settings of the real local inventory, so that what is
        # tested here is how deploy.yml reaches the containers.
        local_inventory = yaml.safe_load((REPO / "inventories/local/hosts.yml").read_text())
        connection = local_inventory["all"]["children"]["local"]["children"]["local_containers"]["vars"]
        self.connection_vars = {**connection, "local_ssh_dir": str(self.ssh_dir)}
        inventory = {
            "all": {
                "children": {
                    "local": {
                        "hosts": {
                            "localhost": {"ansible_connection": "local", "ansible_python_interpreter": sys.executable}
                        },
                        "children": {"local_containers": {"vars": self.connection_vars, "children": children}},
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
            "local_provision_ssh_dir": str(self.ssh_dir),
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


def ansible_ping(env: Environment, *, reuse_connections: bool = True) -> subprocess.CompletedProcess[str]:
    # An SSH master left by an earlier ping would carry a new ping without any
    # host key check: a test of the check must open fresh connections.
    fresh = {} if reuse_connections else {"ANSIBLE_SSH_ARGS": "-o ControlMaster=no -o ControlPath=none"}
    return subprocess.run(
        [
            *(str(VENV_BIN / "ansible"), "local_containers", "-i", str(env.inventory), "-m", "ansible.builtin.ping"),
            # Run from the repository, whose group_vars/local.yml would point local_ssh_dir at .state/local.
            *("--extra-vars", f"local_ssh_dir={env.ssh_dir}"),
        ],
        cwd=REPO,
        env=playbook_env(fresh),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


def test_ansible_reaches_every_host_over_ssh_without_a_listening_port(env):
    assert env.connection_vars["ansible_connection"] == "ssh"
    result = ansible_ping(env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.count("SUCCESS") == len(env.containers), result.stdout
    for name in env.containers.values():
        listening = podman("exec", name, "ss", "--listening", "--tcp", "--numeric", "--no-header")
        assert ":22 " not in listening, f"{name} listens for SSH: {listening}"
    assert (env.ssh_dir / "id_ed25519").stat().st_mode & 0o077 == 0


def test_each_host_has_its_own_pinned_host_key(env):
    pinned = {}
    for line in (env.ssh_dir / "known_hosts").read_text().splitlines():
        name, keytype, key = line.split()
        pinned[name] = key
        own = podman("exec", name, "cat", "/etc/ssh/ssh_host_ed25519_key.pub").split()[:2]
        assert [keytype, key] == own
    assert set(pinned) == set(env.containers.values())
    assert len(set(pinned.values())) == len(pinned), "containers share a host key"


def test_a_host_key_that_does_not_match_is_refused(env):
    known_hosts = env.ssh_dir / "known_hosts"
    original = known_hosts.read_text()
    web, db = env.containers["web-1"], env.containers["db"]
    db_key = next(line.split(" ", 1)[1] for line in original.splitlines() if line.startswith(db + " "))
    forged = [f"{web} {db_key}" if line.startswith(web + " ") else line for line in original.splitlines()]
    known_hosts.write_text("\n".join(forged) + "\n")
    try:
        result = ansible_ping(env, reuse_connections=False)
    finally:
        known_hosts.write_text(original)
    assert result.returncode != 0
    assert "UNREACHABLE" in result.stdout and "HOST IDENTIFICATION HAS CHANGED" in result.stdout + result.stderr


def test_second_run_changes_nothing(env):
    assert recap_changed(env.first.stdout) > 0
    assert recap_changed(env.run("present").stdout) == 0


def test_a_stopped_container_is_found_and_started_again(env):
    # The second run above provisioned nothing (roles/converge_guard); its probe still sees this.
    web = env.containers["web-1"]
    podman("stop", "--time", "1", web)
    result = env.run("present")
    assert "converging local_provision: drifted since its last converge" in " ".join(result.stdout.split())
    assert recap_changed(result.stdout) > 0
    assert podman("inspect", "--format", "{{.State.Status}}", web) == "running"
    assert ansible_ping(env).returncode == 0
    assert recap_changed(env.run("present").stdout) == 0


def test_destroy_removes_exactly_what_was_created(env):
    env.run("absent")
    assert labelled("ps", env.label) == []
    assert labelled("volume", env.label) == []
    assert labelled("network", env.label) == []
    podman("volume", "inspect", f"{env.prefix}-sentinel")
    # A second destroy finds nothing to do.
    assert recap_changed(env.run("absent").stdout) == 0
