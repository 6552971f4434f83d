"""Fast checks of the deploy roles that need no container: versions, settings errors, the ECS hook."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from testsupport.ansible import REPO, playbook_env, run_playbook

SOURCE_VERSION = REPO / "roles" / "build_artifacts" / "files" / "source_version.sh"
LOCK_WHEELS = REPO / "roles" / "build_artifacts" / "files" / "lock_wheels.py"


def git(repo: Path, *args: str) -> str:
    return subprocess.run(["git", "-C", str(repo), *args], capture_output=True, text=True, check=True).stdout.strip()


@pytest.fixture
def repo(tmp_path):
    git(tmp_path, "init", "-q")
    git(tmp_path, "config", "user.email", "t@example.invalid")
    git(tmp_path, "config", "user.name", "t")
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "main.py").write_text("print(1)\n")
    (tmp_path / "other.txt").write_text("x\n")
    git(tmp_path, "add", ".")
    git(tmp_path, "commit", "-q", "-m", "one")
    return tmp_path


def version(repo: Path, *paths: str) -> str:
    return subprocess.run(
        [str(SOURCE_VERSION), str(repo), *paths], capture_output=True, text=True, check=True
    ).stdout.strip()


def test_version_is_the_last_commit_touching_the_sources(repo):
    first = git(repo, "rev-parse", "HEAD")
    assert version(repo, "app") == first[:12]
    (repo / "other.txt").write_text("y\n")
    git(repo, "commit", "-q", "-am", "elsewhere")
    assert version(repo, "app") == first[:12]  # a commit elsewhere does not change the version


def test_a_dirty_tree_gets_a_distinct_suffix_per_state(repo):
    clean = version(repo, "app")
    (repo / "app" / "main.py").write_text("print(2)\n")
    dirty_a = version(repo, "app")
    (repo / "app" / "new.py").write_text("x = 1\n")
    dirty_b = version(repo, "app")
    assert dirty_a.startswith(clean + "-dirty-") and dirty_b.startswith(clean + "-dirty-")
    assert len({clean, dirty_a, dirty_b}) == 3
    assert version(repo, "app") == dirty_b  # stable for the same state


def test_lock_pins_every_wheel(tmp_path):
    for name in ("Flask-3.1.3-py3-none-any.whl", "psycopg_binary-3.3.9-cp311-cp311-manylinux2014_x86_64.whl"):
        (tmp_path / name).write_bytes(b"")
    out = subprocess.run(["python3", str(LOCK_WHEELS), str(tmp_path)], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["Flask==3.1.3", "psycopg_binary==3.3.9"]
    empty = tmp_path / "empty"
    empty.mkdir()
    failed = subprocess.run(["python3", str(LOCK_WHEELS), str(empty)], capture_output=True, text=True, check=False)
    assert failed.returncode == 2 and "no wheels" in failed.stderr


def play(tmp_path: Path, body: str, roles: dict[str, str] | None = None, extra: dict | None = None):
    for name, tasks in (roles or {}).items():
        (tmp_path / "roles" / name / "tasks").mkdir(parents=True)
        (tmp_path / "roles" / name / "tasks" / "main.yml").write_text(tasks)
    (tmp_path / "play.yml").write_text(body)
    env = playbook_env({"ANSIBLE_ROLES_PATH": f"{tmp_path / 'roles'}:{REPO / 'roles'}"})
    extra_vars = {"ansible_python_interpreter": sys.executable, **(extra or {})}
    return run_playbook(
        str(tmp_path / "play.yml"), inventory="localhost,", extra_vars=extra_vars, env=env, args=["-c", "local"]
    )


GRADING_PLAY = """
- hosts: localhost
  gather_facts: false
  roles:
    - role: grading_service
      vars:
        grading_service_backend: ecs
        grading_service_ecs_role: fake_ecs
        grading_service_count: 3
        grading_service_mq_password: s3cret-mq
"""

FAKE_ECS = """
- ansible.builtin.copy:
    content: "{{ {'image': grading_service_image, 'count': grading_service_count | int,
                  'endpoints': grading_service_environment.MQ_ENDPOINTS} | to_json }}"
    dest: "{{ handed_to }}"
    mode: "0600"
"""


def test_the_ecs_hook_receives_the_image_and_the_count(tmp_path):
    handed = tmp_path / "handed.json"
    result = play(
        tmp_path,
        GRADING_PLAY,
        {"fake_ecs": FAKE_ECS},
        {"grading_service_image": "localhost/gradestack-grading:0123456789ab", "handed_to": str(handed)},
    )
    assert result.returncode == 0, result.stdout[-3000:]
    assert handed.read_text() == (
        '{"image": "localhost/gradestack-grading:0123456789ab", "count": 3, "endpoints": "stomp://127.0.0.1:61613"}'
    )
    assert "s3cret-mq" not in result.stdout


@pytest.mark.parametrize("image", ["localhost/gradestack-grading:latest", "localhost/gradestack-grading", ""])
def test_mutable_or_missing_image_tags_are_refused(tmp_path, image):
    result = play(tmp_path, GRADING_PLAY, {"fake_ecs": FAKE_ECS}, {"grading_service_image": image, "handed_to": "/x"})
    assert result.returncode != 0
    assert "grading_service_image must be an image reference with an immutable tag" in result.stdout


WEB_VALIDATE = """
- hosts: localhost
  gather_facts: false
  tasks:
    - ansible.builtin.include_role:
        name: web
        tasks_from: validate
"""


@pytest.mark.parametrize(
    ("settings", "message"),
    [
        ({}, "web_release"),
        ({"web_release": "abc", "web_bundle_path": "/b.tar.gz"}, "web_secret_key (32+ characters)"),
        (
            {
                "web_release": "abc",
                "web_bundle_path": "/b.tar.gz",
                "web_secret_key": "k" * 32,
                "web_database_password": "it's",
                "web_mq_password": "p",
            },
            "DATABASE_PASSWORD contains a quote",
        ),
    ],
)
def test_web_settings_errors_are_actionable_and_hide_secrets(tmp_path, settings, message):
    result = play(tmp_path, WEB_VALIDATE, extra=settings)
    assert result.returncode != 0
    assert message in result.stdout
    assert "k" * 32 not in result.stdout
