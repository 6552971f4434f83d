"""One web fingerprint for both rollouts (issue #17, finding 11): the release plus every setting roles/web renders.

roles/web_rollout decides per host whether to roll it by comparing this fingerprint with what
the host was last converged to (a file locally, the instance tag `gradestack:web-fingerprint`
in AWS). A settings-only change must change it, on both backends alike; an unchanged run must
not. The AWS decision is taken from the tag exactly as the asg backend reads it.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from testsupport.ansible import run_playbook

PLAYBOOK = """
- name: Fingerprint as roles/web_rollout does, and take the AWS backend's decision
  hosts: localhost
  connection: local
  gather_facts: false
  vars:
    ansible_python_interpreter: "{{ ansible_playbook_python }}"
  tasks:
    - name: Fingerprint and read the host's current one
      ansible.builtin.include_role:
        name: web_rollout
        tasks_from: fingerprint.yml
      vars:
        web_rollout_release: "{{ release }}"
    - name: Record the fingerprint and the decision
      ansible.builtin.copy:
        dest: "{{ out }}"
        content: >-
          {{ {'fingerprint': web_rollout_fingerprint,
              'roll': web_rollout_current != web_rollout_fingerprint} | to_json }}
        mode: "0600"
"""


@pytest.fixture
def fingerprint(tmp_path: Path):
    playbook = tmp_path / "fingerprint.yml"
    playbook.write_text(PLAYBOOK)
    runs = iter(range(100))

    def run(backend: str = "asg", release: str = "r1", tag: str = "", **settings: object) -> dict:
        out = tmp_path / f"result-{next(runs)}.json"
        extra = {"release": release, "out": str(out), "web_rollout_backend": backend, **settings}
        # The aws_ec2 inventory's `tags` of the instance (the asg backend's record).
        extra["tags"] = {"gradestack:web-fingerprint": tag} if tag else {}
        # The local backend's record: a file that does not exist here (never converged).
        extra["web_rollout_fingerprint_file"] = str(tmp_path / "web.converged")
        result = run_playbook(str(playbook), inventory="localhost,", extra_vars=extra, timeout=300)
        assert result.returncode == 0, result.stdout[-3000:]
        return json.loads(out.read_text())

    return run


def test_settings_only_changes_reach_the_host_on_both_backends(fingerprint) -> None:
    base = fingerprint()
    assert base["roll"] is True  # a host never converged
    assert fingerprint()["fingerprint"] == base["fingerprint"], "the same release and settings must not roll"
    # One fingerprint on both paths: the local (HAProxy) and the AWS (ASG) rollout.
    assert fingerprint(backend="haproxy")["fingerprint"] == base["fingerprint"]
    changed = {
        "web_gunicorn_workers": 7,
        "web_secret_key": "another-secret-key-0123456789abcdef",
        "web_hsts_max_age": 600,
        "web_mq_endpoints": "stomp+ssl://b-1.mq.example:61614",
        # A new local CA (the broker's certificate re-issued by another CA) must reach the hosts too.
        "web_mq_ca_bundle": "-----BEGIN CERTIFICATE-----\nMIIBnew\n-----END CERTIFICATE-----",
    }
    for name, value in changed.items():
        other = fingerprint(**{name: value})["fingerprint"]
        assert other != base["fingerprint"], f"a change of {name} alone would be skipped on every host"
    assert fingerprint(release="r2")["fingerprint"] != base["fingerprint"]


def test_the_aws_rollout_decides_from_the_instance_tag(fingerprint) -> None:
    current = fingerprint()["fingerprint"]
    assert fingerprint(tag=current)["roll"] is False, "a host on this release and settings is left alone"
    assert fingerprint(tag=current, web_gunicorn_workers=7)["roll"] is True, "a settings-only change rolls the host"
