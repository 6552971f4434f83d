"""A renamed copy of the local environment, for the end-to-end tests and the benchmarks.

`make_env` copies the repository's local inventory with every container renamed after a random
name and gives the copy its own network, label, state directory, load balancer port and verify
report directory, so that it never touches anybody's `gradestack-local` environment (nor another
copy running at the same time). `LocalEnv.run` runs an entry playbook against it and keeps each
run's output and duration.
"""

from __future__ import annotations

import json
import secrets
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from testsupport.ansible import REPO, playbook_env, run_playbook
from testsupport.ports import free_port


@dataclass
class LocalEnv:
    """A renamed copy of the local environment: inventory, settings and what it has run."""

    name: str
    workdir: Path
    inventory: Path
    extra_vars: dict
    lb_url: str
    timings: dict[str, float] = field(default_factory=dict)

    def run(
        self, playbook: str, label: str, extra: dict | None = None, timeout: float = 1800, args: list[str] | None = None
    ):
        started = time.monotonic()
        result = run_playbook(
            playbook,
            inventory=str(self.inventory),
            extra_vars={**self.extra_vars, **(extra or {})},
            args=args,
            # Its own fact cache: ansible.cfg caches facts by inventory name (`db`, `web-1`), and facts of
            # another environment's containers (addresses, networks) must never be taken for this one's.
            env=playbook_env({"ANSIBLE_CACHE_PLUGIN_CONNECTION": str(self.inventory.parent / "facts")}),
            timeout=timeout,
        )
        self.timings[label] = time.monotonic() - started
        # Every run's output is kept for the post-mortem (pytest keeps the last runs' temporary directories).
        log = self.workdir / "logs" / f"{len(self.timings):02d}-{label.replace(' ', '-').replace(',', '')}.log"
        log.parent.mkdir(exist_ok=True)
        command = " ".join([playbook, *(args or [])])
        header = f"$ ansible-playbook {command} ({self.timings[label]:.0f} s, rc={result.returncode})"
        log.write_text(f"{header}\n{result.stdout}")
        return result

    @property
    def api_token(self) -> str:
        """The verifier account's API token: generated under the state dir, installed by the data stage."""
        return (Path(self.extra_vars["gradestack_state_dir"]) / "verify_api_token").read_text().strip()

    def container(self, host: str) -> str:
        return f"{self.name}-{host}"

    def grading_containers(self) -> list[str]:
        return podman_names(
            "ps",
            "--all",
            "--filter",
            f"label=io.gradestack.environment={self.name}",
            "--filter",
            "label=io.gradestack.role=grading",
        )


def podman_names(*args: str) -> list[str]:
    fmt = "{{.Name}}" if args[0] in ("network", "volume") else "{{.Names}}"
    out = subprocess.run(["podman", *args, "--format", fmt], capture_output=True, text=True, check=True).stdout
    return [line for line in out.split() if line]


def tail(result: subprocess.CompletedProcess, lines: int = 80) -> str:
    return "\n".join(result.stdout.splitlines()[-lines:])


def recap(result: subprocess.CompletedProcess) -> dict[str, dict[str, int]]:
    """PLAY RECAP counters per host, summed over every playbook run in the output."""
    totals: dict[str, dict[str, int]] = {}
    for line in result.stdout.splitlines():
        if ": ok=" not in line:
            continue
        host, counters = line.split(":", 1)
        counts = totals.setdefault(host.strip(), {})
        for item in counters.split():
            key, _, value = item.partition("=")
            if value.isdigit():
                counts[key] = counts.get(key, 0) + int(value)
    return totals


def http(url: str, data: dict | None = None, timeout: float = 10, token: str = "") -> tuple[int, str, bytes]:
    """GET (or POST ``data`` as JSON); ``token`` is sent as ``Authorization: Bearer``."""
    assert url.startswith("http://127.0.0.1:"), url
    body = json.dumps(data).encode() if data is not None else None
    headers = {"Content-Type": "application/json"} if body else {}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    request = urllib.request.Request(  # noqa: S310 (the load balancer's loopback URL, checked above)
        url, data=body, headers=headers
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
            return response.status, response.headers.get("Content-Type", ""), response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.headers.get("Content-Type", ""), error.read()


def make_env(workdir: Path, prefix: str = "gse2e", settings: dict | None = None) -> LocalEnv:
    """A new copy under ``workdir`` named ``<prefix>-<random>``; ``settings`` override group_vars (extra vars)."""
    name = f"{prefix}-{secrets.token_hex(3)}"
    inventory = yaml.safe_load((REPO / "inventories" / "local" / "hosts.yml").read_text())

    def rename(group: dict) -> None:
        for host, hostvars in (group.get("hosts") or {}).items():
            if hostvars and "ansible_host" in hostvars:
                hostvars["ansible_host"] = f"{name}-{host}"
        for child in (group.get("children") or {}).values():
            rename(child or {})

    rename(inventory["all"])
    (workdir / "inventory").mkdir()
    inventory_file = workdir / "inventory" / "hosts.yml"
    inventory_file.write_text(yaml.safe_dump(inventory))
    port = free_port()
    extra_vars = {
        "gradestack_root": str(REPO),
        "gradestack_state_dir": str(workdir / "state"),
        # Artifacts are keyed by their source version: sharing the cache only saves rebuilding.
        "gradestack_artifacts_dir": str(REPO / ".state" / "local" / "artifacts"),
        "local_lb_port": port,
        "local_network_name": name,
        "local_provision_label_value": name,
        "grading_service_name_prefix": f"{name}-grading",
        # Its own verify report: two runs at once must not write the same reports/verify-local.xml.
        "verify_report_dir": str(workdir / "reports"),
        # The verifier container's timer stays active but never fires during the test: each
        # step starts the run it checks, so that no scheduled run races a fault step.
        "verify_interval_minutes": 1440,
        **(settings or {}),
    }
    return LocalEnv(
        name=name, workdir=workdir, inventory=inventory_file, extra_vars=extra_vars, lb_url=f"http://127.0.0.1:{port}"
    )


def leftovers(env: LocalEnv) -> dict[str, list[str]]:
    label = f"label=io.gradestack.environment={env.name}"
    return {
        "containers": podman_names("ps", "--all", "--filter", label)
        + [n for n in podman_names("ps", "--all") if n.startswith(env.name)],
        "networks": [n for n in podman_names("network", "ls") if n.startswith(env.name)],
        "volumes": podman_names("volume", "ls", "--filter", label)
        + [v for v in podman_names("volume", "ls") if v.startswith(env.name)],
    }
