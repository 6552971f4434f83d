"""Fast checks of the deploy roles that need no container: versions, settings errors, the ECS hook."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

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


def play(
    tmp_path: Path,
    body: str,
    roles: dict[str, str] | None = None,
    extra: dict | None = None,
    roles_path: Path | None = None,
):
    for name, tasks in (roles or {}).items():
        (tmp_path / "roles" / name / "tasks").mkdir(parents=True)
        (tmp_path / "roles" / name / "tasks" / "main.yml").write_text(tasks)
    (tmp_path / "play.yml").write_text(body)
    searched = [tmp_path / "roles", *([roles_path] if roles_path else []), REPO / "roles"]
    env = playbook_env({"ANSIBLE_ROLES_PATH": ":".join(str(path) for path in searched)})
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
        grading_service_count: 3
        grading_service_mq_password: s3cret-mq
"""


@pytest.mark.parametrize("image", ["localhost/gradestack-grading:latest", "localhost/gradestack-grading", ""])
def test_mutable_or_missing_image_tags_are_refused(tmp_path, image):
    result = play(tmp_path, GRADING_PLAY, {}, {"grading_service_image": image})
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

# Every case sets all three secrets, each a value that cannot appear in the output by chance, so a leak of
# any of them in any case fails the check. The database password keeps its quote out of the marker part:
# a leak may print the value quoted or escaped.
SECRET_KEY = "wsk-3f9c1e7a2b8d4f60a1c5e9b3d7f2468ace"  # noqa: S105  (test values, never a credential)
DB_PASSWORD = "dbpw-5e2a9c4b"  # noqa: S105
MQ_PASSWORD = "mqpw-8d1f6b3e"  # noqa: S105
SECRETS = {"web_secret_key": SECRET_KEY, "web_database_password": DB_PASSWORD, "web_mq_password": MQ_PASSWORD}
RELEASE = {"web_release": "abc", "web_bundle_path": "/b.tar.gz"}

WEB_SETTINGS_ERRORS = [
    pytest.param(SECRETS, "web_release (", id="release-missing"),
    pytest.param(
        {**RELEASE, **SECRETS, "web_secret_key": SECRET_KEY[:31]}, "web_secret_key (32+ characters)", id="key-short"
    ),
    pytest.param(
        {**RELEASE, **SECRETS, "web_database_password": DB_PASSWORD + "'s"},
        "DATABASE_PASSWORD contains a quote",
        id="quote-in-env",
    ),
]


def leaked(output: str) -> list[str]:
    """The secrets found in the output (by their first 15 characters: the short-key case passes a prefix)."""
    return [name for name, value in SECRETS.items() if value[:15] in output]


def leaky_validate(tmp_path: Path) -> Path:
    """roles/web with a validate.yml that leaks: no_log off and every failure message showing the secrets."""
    copy = tmp_path / "leaky_roles" / "web"
    shutil.copytree(REPO / "roles" / "web", copy)
    tasks = yaml.safe_load((copy / "tasks" / "validate.yml").read_text())
    for task in tasks:
        task.pop("no_log", None)
        check = task["ansible.builtin.assert"]
        check["fail_msg"] += " {{ web_secret_key }} {{ web_database_password }} {{ web_mq_password }}"
    (copy / "tasks" / "validate.yml").write_text(yaml.safe_dump(tasks, sort_keys=False))
    return copy.parent


@pytest.mark.parametrize(("settings", "message"), WEB_SETTINGS_ERRORS)
def test_web_settings_errors_are_actionable_and_hide_secrets(tmp_path, settings, message):
    result = play(tmp_path, WEB_VALIDATE, extra=settings)
    assert result.returncode != 0
    assert message in result.stdout, result.stdout[-3000:]
    assert leaked(result.stdout) == [], result.stdout[-3000:]


@pytest.mark.parametrize(("settings", "message"), WEB_SETTINGS_ERRORS)
def test_the_leak_check_catches_a_leak_in_each_case(tmp_path, settings, message):
    """Positive control: the same case against a validate.yml that prints the secrets; the check must see them."""
    result = play(tmp_path, WEB_VALIDATE, extra=settings, roles_path=leaky_validate(tmp_path))
    assert result.returncode != 0
    assert message in result.stdout, result.stdout[-3000:]
    assert leaked(result.stdout) == list(SECRETS), result.stdout[-3000:]
