"""Roles read only their own variables: every name a role's tasks, handlers, defaults and
templates read is prefixed with the role's name, set inside the role, or one of Ansible's
magic variables. The plays pass the settings of group_vars in explicitly (for the AWS
stack's roles: playbooks/aws/vars/stack.yml), so a role's interface is its argument spec.

Jinja's own parser finds the names (jinja2.meta.find_undeclared_variables), in `{{ }}`
and `{% %}` anywhere and in the bare expressions of when/until/failed_when/changed_when
and assert's that. Names a role reads by computed name (query('ansible.builtin.vars',
...)) are not seen: terraform_stack renders the root variables that way by design.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jinja2
import pytest
import yaml
from jinja2 import meta

REPO = Path(__file__).resolve().parents[2]
ROLES = REPO / "roles"

# Keys whose string values are Jinja expressions without braces.
BARE_EXPRESSION_KEYS = {"when", "failed_when", "changed_when", "until", "that"}

# Ansible's magic variables and Jinja globals (lookup, query, q and now are functions
# Ansible adds); ansible_* (facts, connection variables) are allowed by prefix. `_` is
# the throwaway name of `{% set _ = list.append(...) %}`.
MAGIC = {
    "_",
    "groups",
    "group_names",
    "hostvars",
    "inventory_hostname",
    "item",
    "lookup",
    "now",
    "omit",
    "playbook_dir",
    "q",
    "query",
    "role_path",
}

# Roles allowed to read names not their own, and why. Shrink it, never grow it casually.
ALLOWED: dict[str, set[str]] = {
    # Preflight checks the settings themselves, by their group_vars names, before
    # anything else runs: those names are what it reports on.
    "preflight": {
        "aws_region",
        "db_password",
        "environment_name",
        "gradestack_root",
        "iam_permissions_boundary",
        "mq_verify_password",
        "mq_web_password",
        "mq_worker_password",
        "verify_api_token",
        "web_secret_key",
    },
    # It applies roles/build_artifacts (versions) and reads the facts that publishes.
    "release_facts": {"build_artifacts_git_commit", "build_artifacts_image_tag", "build_artifacts_release"},
    # The aws_ec2 inventory's host variables of the host being rolled (Auto Scaling Standby).
    "web_rollout": {"instance_id", "tags"},
}


class _AnyName(dict):
    """Filters/tests mapping that accepts any name: Ansible's plugins are not Jinja's."""

    def __contains__(self, key: object) -> bool:
        return True

    def get(self, key: Any, default: Any = None) -> Any:
        return dict.get(self, key) or (lambda *args, **kwargs: None)


def _environment() -> jinja2.Environment:
    env = jinja2.Environment(extensions=["jinja2.ext.loopcontrols", "jinja2.ext.do"], autoescape=False)  # noqa: S701  (parsed, never rendered)
    env.filters = _AnyName(env.filters)
    env.tests = _AnyName(env.tests)
    return env


ENV = _environment()


def names_read(text: str) -> set[str]:
    with warnings.catch_warnings():
        # Jinja's lexer warns about regex escapes in string literals ('\S'); Ansible reads them the same way.
        warnings.simplefilter("ignore", DeprecationWarning)
        return set(meta.find_undeclared_variables(ENV.parse(text)))


def strings(node: Any, key: str | None = None) -> Iterator[str]:
    """Every string of a YAML document, bare expressions wrapped in braces."""
    if isinstance(node, dict):
        for child_key, value in node.items():
            yield from strings(value, str(child_key))
    elif isinstance(node, list):
        for value in node:
            yield from strings(value, key)
    elif isinstance(node, str):
        yield f"{{{{ {node} }}}}" if key in BARE_EXPRESSION_KEYS and "{{" not in node else node


def names_set(node: Any) -> set[str]:
    """Names a role's YAML sets itself: registered results, facts, loop and task vars."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if (key == "register" and isinstance(value, str)) or (
                key in ("loop_var", "index_var") and isinstance(value, str)
            ):
                found.add(value)
            elif key in ("ansible.builtin.set_fact", "set_fact") and isinstance(value, dict):
                found.update(name for name in value if name != "cacheable")
            elif key == "vars" and isinstance(value, dict):
                found.update(value)
            found |= names_set(value)
    elif isinstance(node, list):
        for value in node:
            found |= names_set(value)
    return found


def role_dirs() -> list[Path]:
    return sorted(path for path in ROLES.iterdir() if (path / "tasks").is_dir())


def foreign_names(role: Path) -> dict[str, set[str]]:
    """Names the role reads that are not its own, each with the files that read it."""
    read: dict[str, set[str]] = {}
    own: set[str] = set()
    for sub in ("tasks", "handlers", "defaults", "vars"):
        for path in sorted((role / sub).rglob("*.yml")):
            document = yaml.safe_load(path.read_text())
            own |= names_set(document)
            for text in strings(document):
                for name in names_read(text):
                    read.setdefault(name, set()).add(str(path.relative_to(role.parent)))
    for path in sorted((role / "templates").rglob("*")) if (role / "templates").is_dir() else []:
        if path.is_file():
            for name in names_read(path.read_text()):
                read.setdefault(name, set()).add(str(path.relative_to(role.parent)))
    prefix = f"{role.name}_"
    return {
        name: files
        for name, files in read.items()
        if not name.startswith((prefix, "ansible_")) and name not in own and name not in MAGIC
    }


def test_the_check_sees_a_foreign_name(tmp_path: Path) -> None:
    # The check below must be able to fail: a bare `when:`, a template and defaults.
    role = tmp_path / "demo"
    (role / "tasks").mkdir(parents=True)
    (role / "defaults").mkdir()
    (role / "templates").mkdir()
    (role / "tasks" / "main.yml").write_text(
        "- name: A\n  ansible.builtin.debug:\n    msg: '{{ demo_message }} {{ item }}'\n"
        "  loop: [1]\n  when: environment_name == 'x'\n  register: demo_result\n"
        "- name: B\n  ansible.builtin.debug:\n    msg: '{{ demo_result.msg | default(aws_region) }}'\n"
    )
    (role / "defaults" / "main.yml").write_text("demo_message: '{{ project_name }}'\n")
    (role / "templates" / "x.j2").write_text("{% for row in demo_rows %}{{ row }} {{ gradestack_root }}{% endfor %}\n")
    assert set(foreign_names(role)) == {"environment_name", "aws_region", "project_name", "gradestack_root"}


@pytest.mark.parametrize("role", role_dirs(), ids=lambda path: path.name)
def test_role_reads_only_its_own_variables(role: Path) -> None:
    foreign = foreign_names(role)
    unexpected = {name: sorted(files) for name, files in foreign.items() if name not in ALLOWED.get(role.name, set())}
    assert unexpected == {}, (
        f"{role.name} reads variables that are not its own (prefix them {role.name}_, declare them in "
        f"meta/argument_specs.yml and let the plays pass the settings): {unexpected}"
    )


@pytest.mark.parametrize("role", sorted(ALLOWED), ids=str)
def test_allow_list_is_current(role: Path) -> None:
    # An allowance the role no longer needs goes, so the list only shrinks.
    stale = ALLOWED[role] - set(foreign_names(ROLES / role))
    assert stale == set(), f"{role}: allowed but no longer read: {sorted(stale)}"
