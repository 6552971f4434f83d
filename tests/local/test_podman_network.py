"""Podman as `make setup` leaves it: the netavark backend, and name resolution on a project network.

A machine whose podman fell back to the CNI backend (podman installed without its
recommended packages) creates networks without DNS: the local environment then fails
minutes into a deploy, when a web host cannot resolve `db`. Machines also differ in
whether a container on podman's default network can reach the host's resolver, so
every container of the project joins a project network, whose aardvark-dns answers
both container names and outside names. These tests check exactly that, on the
machine they run on.
"""

from __future__ import annotations

import shutil
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from testsupport.ansible import REPO

pytestmark = [pytest.mark.slow, pytest.mark.containers]

IMAGE = "localhost/gradestack-base:bookworm-minimal"
# A host the project's containers really need (apt inside Molecule's platforms).
PACKAGE_HOST = "deb.debian.org"


def podman(*args: str, check: bool = True, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["podman", *args], capture_output=True, text=True, check=check, timeout=timeout)


@pytest.fixture(scope="module")
def project_network() -> Iterator[tuple[str, str]]:
    """A network of our own with one named container on it: (network, container name)."""
    if shutil.which("podman") is None:
        pytest.fail("podman is not installed: run 'make setup'")
    if podman("image", "exists", IMAGE, check=False).returncode != 0:
        pytest.fail(f"{IMAGE} is missing: run 'make setup' (scripts/build-base-image.sh minimal)")
    suffix = uuid.uuid4().hex[:8]
    network, server = f"gs-test-net-{suffix}", f"gs-test-dns-{suffix}"
    podman("network", "create", network)
    try:
        podman("run", "-d", "--name", server, "--network", network, IMAGE, "sleep", "600")
        yield network, server
    finally:
        podman("rm", "--force", "--time", "0", server, check=False)
        podman("network", "rm", "--force", network, check=False)


def lookup(network: str, name: str) -> subprocess.CompletedProcess[str]:
    """`getent hosts name` from a fresh container on ``network``."""
    return podman("run", "--rm", "--network", network, IMAGE, "getent", "hosts", name, check=False)


def test_effective_network_backend_is_netavark() -> None:
    backend = podman("info", "--format", "{{.Host.NetworkBackend}}").stdout.strip()
    assert backend == "netavark", (
        f"podman's network backend is {backend!r}: 'make setup' sets netavark, under which project networks "
        "resolve container names (see scripts/setup.sh configure_podman)"
    )


def test_setup_writes_the_backend_explicitly() -> None:
    """The backend comes from setup's block, not from podman's choice on this machine."""
    conf = Path("/etc/containers/containers.conf").read_text(encoding="utf-8")
    block = conf.split("# gradestack: begin", 1)[-1].split("# gradestack: end", 1)[0]
    assert 'network_backend = "netavark"' in block
    setup = (REPO / "scripts" / "setup.sh").read_text(encoding="utf-8")
    assert 'network_backend = "netavark"' in setup


def test_project_network_has_dns(project_network: tuple[str, str]) -> None:
    network, _server = project_network
    assert podman("network", "inspect", "--format", "{{.DNSEnabled}}", network).stdout.strip() == "true"


def test_containers_resolve_each_other_by_name(project_network: tuple[str, str]) -> None:
    network, server = project_network
    found = lookup(network, server)
    assert found.returncode == 0, f"{server} did not resolve on {network}: {found.stderr.strip()}"
    address = found.stdout.split()[0]
    inspect = podman("inspect", "--format", f'{{{{(index .NetworkSettings.Networks "{network}").IPAddress}}}}', server)
    assert address == inspect.stdout.strip()


def test_a_package_host_resolves_from_a_project_network(project_network: tuple[str, str]) -> None:
    network, _server = project_network
    found = lookup(network, PACKAGE_HOST)
    assert found.returncode == 0, (
        f"{PACKAGE_HOST} did not resolve from a container on {network} (aardvark-dns forwards to the host's "
        f"resolvers): {found.stderr.strip() or 'no answer'}"
    )
    assert found.stdout.split()[0]
