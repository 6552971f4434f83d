"""scripts/role_docs.py: role READMEs generated from the argument specs, which agree with the defaults."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "scripts" / "role_docs.py"
ROLES = REPO / "roles"

_spec = importlib.util.spec_from_file_location("role_docs", SCRIPT)
assert _spec is not None and _spec.loader is not None
role_docs = importlib.util.module_from_spec(_spec)
sys.modules["role_docs"] = role_docs  # dataclasses look their module up
_spec.loader.exec_module(role_docs)


def all_roles() -> list[Path]:
    return role_docs.role_dirs(ROLES)


def test_every_role_has_a_spec_and_a_readme() -> None:
    for role in all_roles():
        assert (role / "meta" / "argument_specs.yml").is_file(), f"{role.name}: no meta/argument_specs.yml"
        readme = role / "README.md"
        assert readme.is_file(), f"{role.name}: no README.md"
        prose = readme.read_text().split(role_docs.BEGIN)[0]
        assert len(prose.split()) >= 30, f"{role.name}: README.md needs a few lines on what the role is for"


@pytest.mark.parametrize("role", all_roles(), ids=lambda p: p.name)
def test_spec_agrees_with_defaults(role: Path) -> None:
    assert role_docs.problems(role_docs.load_role(role)) == []


def test_readmes_are_current() -> None:
    result = subprocess.run([sys.executable, str(SCRIPT), "--check"], check=False, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def write_role(root: Path, spec: str, defaults: str) -> Path:
    role = root / "demo"
    for sub in ("tasks", "meta", "defaults"):
        (role / sub).mkdir(parents=True)
    (role / "tasks" / "main.yml").write_text("---\n[]\n")
    (role / "meta" / "argument_specs.yml").write_text(spec)
    (role / "defaults" / "main.yml").write_text(defaults)
    return role


SPEC = """---
argument_specs:
  main:
    short_description: A demo
    options:
      demo_same: {type: int, default: 3, description: Agrees.}
      demo_differs: {type: int, default: 900, description: Disagrees.}
      demo_undeclared_default: {type: str, default: x, description: Not in defaults.}
      demo_required: {type: str, required: true, description: Required and set in defaults.}
      demo_templated: {type: str, description: From group_vars.}
      demo_templated_in_spec: {type: str, default: "{{ other }}", description: Template in the spec.}
      demo_bool: {type: bool, default: true, description: Not 1.}
      demo_undescribed: {type: str}
"""

DEFAULTS = """---
demo_same: 3
demo_differs: "{{ group_value | default(900) }}"
demo_required: set
demo_templated: "{{ group_value }}"
demo_templated_in_spec: "{{ other }}"
demo_bool: 1
demo_undescribed: ""
demo_missing: 1
"""


def test_every_disagreement_is_named(tmp_path: Path) -> None:
    found = role_docs.problems(role_docs.load_role(write_role(tmp_path, SPEC, DEFAULTS)))
    expected = [
        "demo_differs: its default is a template",
        "demo_undeclared_default has a default in main but is not in defaults/main.yml",
        "demo_required is required in main but has a value in defaults/main.yml",
        "demo_templated_in_spec: its default is a template",
        "demo_bool: default true in main of meta/argument_specs.yml, 1 in defaults/main.yml",
        "demo_undescribed of main has no description",
        "demo_undescribed: default (none) in main",
        "demo_missing is in defaults/main.yml but in no entry point",
        "meta/argument_specs.yml holds Jinja",
    ]
    for message in expected:
        assert any(message in line for line in found), f"{message!r} not in {found}"
    assert not any("demo_same" in line or "demo_templated:" in line for line in found), found
    assert len(found) == len(expected), found


def test_readme_shows_a_templated_default_from_defaults(tmp_path: Path) -> None:
    role = write_role(
        tmp_path,
        "---\nargument_specs:\n  main:\n    short_description: A demo\n    options:\n"
        "      demo_timeout: {type: int, description: Seconds (group_vars demo_timeout).}\n"
        "      demo_list: {type: list, elements: str, default: [a, b], description: Items.}\n",
        '---\ndemo_timeout: "{{ demo_timeout_setting | default(900) }}"\ndemo_list: [a, b]\n',
    )
    block = role_docs.render_block(role_docs.load_role(role))
    default = "`{{ demo_timeout_setting \\| default(900) }}`"
    assert f"| `demo_timeout` | Seconds (group_vars demo_timeout). | `int` | {default} | no |" in block
    assert "| `demo_list` | Items. | `list` of `str` | `[a, b]` | no |" in block


def test_an_aliased_entry_point_is_not_repeated() -> None:
    readme = (ROLES / "web" / "README.md").read_text()
    assert "### Entry point `install`\n\nThe same variables as `main`." in readme
    assert readme.count("| `web_secret_key` |") == 1


def test_generator_detects_a_stale_readme(tmp_path: Path) -> None:
    roles = tmp_path / "roles"
    shutil.copytree(ROLES, roles)
    spec = roles / "ecs_rollout" / "meta" / "argument_specs.yml"
    extra = "      ecs_rollout_extra:\n        type: str\n        description: A new option.\n"
    spec.write_text(spec.read_text() + extra)
    script = [sys.executable, str(SCRIPT), "--roles", str(roles)]
    stale = subprocess.run([*script, "--check"], check=False, capture_output=True, text=True)
    assert stale.returncode == 1
    assert "ecs_rollout/README.md" in stale.stderr
    subprocess.run(script, check=True, capture_output=True)
    readme = (roles / "ecs_rollout" / "README.md").read_text()
    assert "| `ecs_rollout_extra` | A new option. | `str` |  | no |" in readme
    assert subprocess.run([*script, "--check"], check=False, capture_output=True).returncode == 0
