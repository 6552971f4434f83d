"""The scheduled verifier's settings reach Terraform from group_vars (issue 16).

roles/terraform_stack renders the root module's variables from group_vars (tasks/workdir.yml);
this drives that very task file through ansible-playbook with each cloud environment's static
inventory (no AWS call) and reads what it rendered: the interval, the switch and the namespace
come from their one home, and the Terraform module turns them into the schedule.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
VERIFIER = REPO / "terraform" / "modules" / "verifier" / "main.tf"

PLAYBOOK = """
- name: Render the Terraform variables as the provision stage does
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Render
      ansible.builtin.include_role:
        name: terraform_stack
        tasks_from: workdir
      vars:
        terraform_stack_environment_name: "{{ environment_name }}"
        terraform_stack_source: "{{ repo }}/terraform"
        terraform_stack_workdir: "{{ out }}/work"
        terraform_stack_backend: {bucket: unit-test, key: unit-test.tfstate, region: ap-northeast-2}
        terraform_stack_endpoint_url: ""

    - name: Save them
      ansible.builtin.copy:
        dest: "{{ out }}/variables.json"
        content: "{{ terraform_stack_variables | to_json }}"
        mode: "0600"
"""


def rendered_variables(environment: str, tmp_path: Path, extra: dict | None = None) -> dict:
    # The play sits next to a link to the repository's group_vars/, which Ansible reads for it
    # exactly as for the entry playbooks at the repository root.
    (tmp_path / "group_vars").symlink_to(REPO / "group_vars")
    playbook = tmp_path / "render.yml"
    playbook.write_text(PLAYBOOK)
    extra_vars = {
        "repo": str(REPO),
        "out": str(tmp_path),
        # Secrets are SSM lookups in group_vars; they travel as TF_VAR_*, not in the rendered file.
        "db_password": "unit-test-password",
        "mq_web_password": "unit-test-password",
        "mq_worker_password": "unit-test-password",
        "mq_verify_password": "unit-test-password",
        **(extra or {}),
    }
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ANSIBLE_"))},
        "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
        "ANSIBLE_NOCOLOR": "true",
    }
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "ansible-playbook"),
            "-i",
            str(REPO / "inventories" / environment / "hosts.yml"),
            str(playbook),
            "--extra-vars",
            json.dumps(extra_vars),
        ],
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
        env=env,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    return json.loads((tmp_path / "variables.json").read_text())


@pytest.mark.parametrize(
    ("environment", "enabled"), [("dev", False), ("staging", True), ("production", True), ("emulated", True)]
)
def test_interval_and_switch_are_rendered_from_group_vars(environment: str, enabled: bool, tmp_path: Path) -> None:
    variables = rendered_variables(environment, tmp_path)
    shared = yaml.safe_load((REPO / "group_vars" / "all" / "main.yml").read_text())
    assert variables["verify_interval_minutes"] == shared["verify_interval_minutes"] == 15
    assert variables["verify_metrics_namespace"] == shared["verify_metrics_namespace"] == "Gradestack/Verify"
    assert variables["verify_schedule_enabled"] is enabled
    assert variables["verifier_task_cpu"] == 512 and variables["verifier_task_memory"] == 1024
    # Filled in by the provision stage (the published image), like the grading image.
    assert variables["verifier_container_image"] == ""
    assert "db_password" not in variables


def test_a_changed_interval_reaches_terraform(tmp_path: Path) -> None:
    variables = rendered_variables(
        "production", tmp_path, {"verify_interval_minutes": 5, "verify_schedule_enabled": False}
    )
    assert variables["verify_interval_minutes"] == 5
    assert variables["verify_schedule_enabled"] is False


def test_the_module_turns_them_into_the_schedule() -> None:
    main_tf = (REPO / "terraform" / "main.tf").read_text()
    for line in (
        "interval_minutes         = var.verify_interval_minutes",
        "schedule_enabled         = var.verify_schedule_enabled",
        "metrics_namespace        = var.verify_metrics_namespace",
        "verify_interval_minutes  = var.verify_interval_minutes",
        "verify_heartbeat_alarm   = var.verify_schedule_enabled",
    ):
        assert line in main_tf, line
    verifier = VERIFIER.read_text()
    assert (
        'rate         = "rate(${var.interval_minutes} ${var.interval_minutes == 1 ? "minute" : "minutes"})"' in verifier
    )
    assert 'state               = var.schedule_enabled ? "ENABLED" : "DISABLED"' in verifier
