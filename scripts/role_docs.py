#!/usr/bin/env python3
"""Generate the reference part of each role's README from its argument spec, and check the role's interface.

A role's interface has one source: ``meta/argument_specs.yml`` (Ansible validates it at role
entry). Each role's README keeps its hand-written prose; the entry points, the variables table
and the handlers live between the markers ``<!-- BEGIN_ROLE_DOCS -->`` and
``<!-- END_ROLE_DOCS -->`` and are replaced on every run. A README without markers gets them
appended; a role without a README gets one.

``--check`` also checks that the spec and ``defaults/main.yml`` agree:
  - every variable in defaults/main.yml is an option of the spec, with the same ``default``
    (Ansible does not apply a spec's default to a variable the role's defaults set:
    defaults/main.yml holds the values, the spec documents them, so the two must be identical);
  - a default that is a Jinja template stays out of the spec: Ansible templates the whole spec
    when the role starts, so a template there would be evaluated even when the caller sets the
    variable (and fail where what it refers to is undefined); the README shows it from
    defaults/main.yml. No other Jinja in the spec either;
  - every option with a ``default`` is in defaults/main.yml;
  - no option both has a value in defaults/main.yml and is ``required``;
  - every option (sub-options included) has a description.

Usage:
  scripts/role_docs.py            rewrite the READMEs' generated blocks
  scripts/role_docs.py --check    exit 1, naming every stale README and every disagreement (CI)
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

# The sibling helper, also when a test loads this file by path (scripts/ is no package).
sys.path.insert(0, str(Path(__file__).resolve().parent))
import generated_docs

REPO = Path(__file__).resolve().parent.parent
ROLES = REPO / "roles"
BEGIN = "<!-- BEGIN_ROLE_DOCS -->"
END = "<!-- END_ROLE_DOCS -->"
MISSING = object()


@dataclass
class Role:
    path: Path
    specs: dict[str, dict[str, Any]]  # entry point -> its spec
    defaults: dict[str, Any]
    handlers: list[dict[str, Any]]

    @property
    def name(self) -> str:
        return self.path.name


def _load_yaml(path: Path) -> Any:
    if not path.exists():
        return None
    with path.open() as handle:
        return yaml.safe_load(handle)


def load_role(path: Path) -> Role:
    specs = (_load_yaml(path / "meta" / "argument_specs.yml") or {}).get("argument_specs") or {}
    return Role(
        path=path,
        specs=specs,
        defaults=_load_yaml(path / "defaults" / "main.yml") or {},
        handlers=_load_yaml(path / "handlers" / "main.yml") or [],
    )


def role_dirs(root: Path = ROLES) -> list[Path]:
    return sorted(p for p in root.iterdir() if p.is_dir() and (p / "tasks").is_dir())


# --- Rendering -------------------------------------------------------------------------------------


def _text(value: Any) -> str:
    """A description (string or list of paragraphs) as one line, Ansible's doc markup as Markdown."""
    text = " ".join(value) if isinstance(value, list) else str(value or "")
    text = " ".join(text.split())
    text = re.sub(r"\b[CVO]\(([^)]*)\)", r"`\1`", text)
    return re.sub(r"\bI\(([^)]*)\)", r"*\1*", text)


def _escape_prose(text: str) -> str:
    """Escape a table cell's prose; code spans keep their characters (only `|` is escaped everywhere)."""
    parts = text.split("`")
    for i in range(0, len(parts), 2):  # outside code spans
        parts[i] = parts[i].replace("<", "&lt;").replace(">", "&gt;")
    return "`".join(parts).replace("|", "\\|")


def _code(text: str) -> str:
    text = text.replace("|", "\\|")
    if "`" in text:
        return f"`` {text} ``"
    return f"`{text}`"


def render_value(value: Any) -> str:
    """A default as it is written in YAML, on one line."""
    if isinstance(value, str):
        return '""' if value == "" else " ".join(value.split())
    if value is None:
        return "null"
    dumped = yaml.safe_dump(value, default_flow_style=True, width=10**6, sort_keys=False)
    return " ".join(dumped.removesuffix("...\n").split())


def _type(option: dict[str, Any]) -> str:
    kind = _code(option.get("type", "str"))
    if "elements" in option:
        kind += f" of {_code(option['elements'])}"
    if "choices" in option:
        kind += ": one of " + ", ".join(_code(render_value(c)) for c in option["choices"])
    return kind


def _rows(options: dict[str, dict[str, Any]], defaults: dict[str, Any], prefix: str = "") -> list[str]:
    rows = []
    for name, option in options.items():
        description = _escape_prose(_text(option.get("description")))
        if option.get("no_log"):
            description += " Secret: never logged (`no_log`)."
        value = option.get("default", defaults.get(name, MISSING) if not prefix else MISSING)
        default = "" if value is MISSING else _code(render_value(value))
        required = "yes" if option.get("required") else "no"
        rows.append(f"| {_code(prefix + name)} | {description} | {_type(option)} | {default} | {required} |")
        if option.get("options"):
            sub = "[]." if option.get("type") == "list" else "."
            rows += _rows(option["options"], {}, prefix + name + sub)
    return rows


def _table(options: dict[str, dict[str, Any]], defaults: dict[str, Any]) -> list[str]:
    if not options:
        return ["No variables."]
    return [
        "| Name | Description | Type | Default | Required |",
        "|------|-------------|------|---------|:--------:|",
        *_rows(options, defaults),
    ]


def render_block(role: Role) -> str:
    lines = [
        BEGIN,
        "<!-- Generated by scripts/role_docs.py from meta/argument_specs.yml and handlers/main.yml;"
        " do not edit by hand. -->",
        "",
        "## Entry points",
        "",
    ]
    for entry, spec in role.specs.items():
        how = "the role itself" if entry == "main" else f"`tasks_from: {entry}`"
        summary = _escape_prose(_text(spec.get("short_description")))
        details = _escape_prose(_text(spec.get("description")))
        lines.append(f"- `{entry}` ({how}): {summary}." + (f" {details}" if details else ""))
    lines += [
        "",
        "## Variables",
        "",
        "The role's argument spec (`meta/argument_specs.yml`), which Ansible checks when the role starts."
        " The defaults are the values in `defaults/main.yml`.",
        "",
    ]
    main = role.specs.get("main", {}).get("options") or {}
    lines += _table(main, role.defaults)
    for entry, spec in role.specs.items():
        if entry == "main":
            continue
        options = spec.get("options") or {}
        lines += ["", f"### Entry point `{entry}`", ""]
        if options == main:
            lines.append("The same variables as `main`.")
        elif options and all(main.get(name) == option for name, option in options.items()):
            lines.append("Variables (as described above): " + ", ".join(f"`{name}`" for name in options) + ".")
        else:
            lines += _table(options, role.defaults)
    lines += ["", "## Handlers", ""]
    handlers = [h for h in role.handlers if isinstance(h, dict) and h.get("name")]
    if handlers:
        for handler in handlers:
            listen = handler.get("listen")
            topics = [listen] if isinstance(listen, str) else list(listen or [])
            extra = " (listens to " + ", ".join(f"`{t}`" for t in topics) + ")" if topics else ""
            lines.append(f"- `{handler['name']}`{extra}")
    else:
        lines.append("None.")
    lines += ["", END]
    return "\n".join(lines)


def updated_readme(role: Role) -> tuple[Path, str, str]:
    """(path, current text, text with a fresh generated block)."""
    readme = role.path / "README.md"
    current = readme.read_text() if readme.exists() else ""
    return readme, current, generated_docs.splice(current or f"# {role.name}\n", render_block(role), BEGIN, END)


# --- Consistency of the spec and the defaults ----------------------------------------------------------


def templated(value: Any) -> bool:
    """Whether a value is (or holds) a Jinja template."""
    if isinstance(value, str):
        return "{{" in value or "{%" in value
    if isinstance(value, list):
        return any(templated(v) for v in value)
    if isinstance(value, dict):
        return any(templated(v) for v in value.values())
    return False


def _same(a: Any, b: Any) -> bool:
    """Equal as YAML values, types included (true is not 1, 1.0 is not 1)."""
    return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)


def _undescribed(options: dict[str, dict[str, Any]], prefix: str = "") -> list[str]:
    found = []
    for name, option in (options or {}).items():
        if not _text(option.get("description")).strip():
            found.append(prefix + name)
        found += _undescribed(option.get("options") or {}, prefix + name + ".")
    return found


def _default_problem(name: str, value: Any, entry: str, option: dict[str, Any]) -> str | None:
    """How an option of an entry point disagrees with the value of defaults/main.yml, if it does."""
    if option.get("required"):
        return f"{name} is required in {entry} but has a value in defaults/main.yml"
    if templated(value):
        if "default" in option:
            return (
                f"{name}: its default is a template; leave it out of {entry} of meta/argument_specs.yml"
                " (Ansible templates the spec at role entry)"
            )
        return None
    if not _same(option.get("default"), value):
        spec_default = render_value(option["default"]) if "default" in option else "(none)"
        return (
            f"{name}: default {spec_default} in {entry} of meta/argument_specs.yml,"
            f" {render_value(value)} in defaults/main.yml"
        )
    return None


def problems(role: Role) -> list[str]:
    """Every disagreement between the role's spec and its defaults, one line each."""
    where = f"roles/{role.name}"
    if not role.specs:
        return [f"{where}: no meta/argument_specs.yml (or no entry point in it)"]
    found = []
    declared: dict[str, list[tuple[str, dict[str, Any]]]] = {}
    for entry, spec in role.specs.items():
        found += [f"entry point {entry} has no short_description"] * (not spec.get("short_description"))
        found += [f"option {name} of {entry} has no description" for name in _undescribed(spec.get("options"))]
        for name, option in (spec.get("options") or {}).items():
            declared.setdefault(name, []).append((entry, option))
    for name, value in role.defaults.items():
        if name not in declared:
            found.append(f"{name} is in defaults/main.yml but in no entry point of meta/argument_specs.yml")
        for entry, option in declared.get(name, []):
            found.append(_default_problem(name, value, entry, option))
    found += [
        f"{name} has a default in {entry} but is not in defaults/main.yml"
        for name, options in declared.items()
        for entry, option in options
        if "default" in option and name not in role.defaults
    ]
    text = (role.path / "meta" / "argument_specs.yml").read_text()
    if "{{" in text or "{%" in text:
        found.append("meta/argument_specs.yml holds Jinja, which Ansible evaluates at role entry")
    return [f"{where}: {problem}" for problem in found if problem]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--check", action="store_true", help="report stale READMEs and disagreements, change nothing")
    parser.add_argument("--roles", type=Path, default=ROLES, help="roles directory (default: roles/)")
    args = parser.parse_args(argv)

    roles = [load_role(path) for path in role_dirs(args.roles)]
    disagreements = [problem for role in roles for problem in problems(role)]
    readmes = (updated_readme(role) for role in roles)
    stale = generated_docs.sync(readmes, check=args.check, generator="scripts/role_docs.py")
    if disagreements:
        print("role interface problems:\n  " + "\n  ".join(disagreements), file=sys.stderr)
    return 1 if stale or disagreements else 0


if __name__ == "__main__":
    sys.exit(main())
