"""Run the repository's playbooks from tests exactly as a user would."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
VENV_BIN = Path(sys.executable).parent


def playbook_env(extra: dict[str, str] | None = None, *, aws: dict[str, str] | None = None) -> dict[str, str]:
    """The environment for ansible-playbook: no colour, no ambient AWS identity unless ``aws`` is given."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ANSIBLE_"))}
    env.update(
        {
            "PATH": f"{VENV_BIN}{os.pathsep}{env.get('PATH', '')}",
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_NOCOLOR": "1",
            "ANSIBLE_FORCE_COLOR": "0",
            # Never fall back to a developer's ~/.aws or to the instance metadata service.
            "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
            "AWS_CONFIG_FILE": "/nonexistent/config",
            "AWS_EC2_METADATA_DISABLED": "true",
        }
    )
    env.update(aws or {})
    env.update(extra or {})
    return env


def run_playbook(
    playbook: str,
    *,
    inventory: str | None = None,
    extra_vars: dict | None = None,
    args: list[str] | None = None,
    env: dict[str, str] | None = None,
    cwd: Path = REPO,
    timeout: float = 900,
) -> subprocess.CompletedProcess[str]:
    """Run ``ansible-playbook`` and return the finished process (stdout and stderr merged)."""
    command = [str(VENV_BIN / "ansible-playbook"), playbook]
    if inventory:
        command += ["-i", inventory]
    if extra_vars:
        command += ["-e", json.dumps(extra_vars)]
    command += args or []
    return subprocess.run(
        command,
        cwd=cwd,
        env=env if env is not None else playbook_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=timeout,
        check=False,
    )


def task_outcomes(output: str, task: str) -> list[str]:
    """The result lines (``ok: [localhost]``, ``skipping: ...``) the default callback printed for ``task``.

    Between a task's banner and its results ansible.cfg's profile_tasks callback prints a timestamp line, so a
    pattern that expects the result right after the banner never matches.
    """
    banner = re.compile(rf"^TASK \[(?:[\w.-]+ : )?{re.escape(task)}\] \**\s*$")
    outcomes: list[str] = []
    lines = iter(output.splitlines())
    for line in lines:
        if not banner.match(line):
            continue
        for result in lines:
            if not result.strip() or result.startswith(("TASK [", "PLAY ", "RUNNING HANDLER")):
                break
            if re.match(r"^(ok|changed|skipping|failed|fatal|included): ", result):
                outcomes.append(result.strip())
    return outcomes


def run_tasks(tmp_path: Path, tasks: list[dict], env: dict[str, str] | None = None, args: list[str] | None = None):
    """One play on localhost running ``tasks`` (a module of plugins/modules under test); ``out`` is ``tmp_path``."""
    play = [{"name": "probe", "hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    playbook = tmp_path / "play.yml"
    playbook.write_text(yaml.safe_dump(play))
    inventory = tmp_path / "hosts.yml"
    localhost = {"ansible_connection": "local", "ansible_python_interpreter": "{{ ansible_playbook_python }}"}
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"localhost": localhost}}}))
    # The probe modules import the message protocol (services/protocol).
    extra = {"PYTHONPATH": str(REPO / "services" / "protocol")} | (env or {})
    return run_playbook(
        str(playbook), inventory=str(inventory), env=playbook_env(extra), args=["-e", f"out={tmp_path}"] + (args or [])
    )


def save(register: str) -> dict:
    """A task writing the registered result ``register`` to ``<out>/<register>.json``, in check mode too."""
    content, dest = f"{{{{ {register} | to_json }}}}", f"{{{{ out }}}}/{register}.json"
    return {"ansible.builtin.copy": {"content": content, "dest": dest, "mode": "0600"}, "check_mode": False}
