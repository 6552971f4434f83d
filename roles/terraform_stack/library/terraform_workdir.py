#!/usr/bin/python
"""Mirror a Terraform root module into a per-environment working directory.

Each environment gets its own copy of terraform/ so that its `.terraform/` (backend
settings, providers) and generated files (backend config, emulator override) never
touch another environment's or the repository's. Only files that differ are written,
so an unchanged module reports `changed: false`. The module also lists the root
module's variables and which of them are sensitive (those travel in a 0600
variables file of the run's private plan directory, never on a command line or in
a task's environment, which Ansible prints at -vvv).
"""

from __future__ import annotations

import filecmp
import os
import re
import shutil

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
module: terraform_workdir
short_description: Mirror a Terraform root module into a working directory and list its variables
description:
  - Copies every file of I(src) into I(dest) that is missing or different, removes files of
    I(dest) that I(src) no longer has (except the I(keep) patterns), and reports the root
    module's variables (name and sensitivity).
options:
  src:
    description: The Terraform root module (the repository's terraform/).
    type: path
    required: true
  dest:
    description: The working directory of one environment.
    type: path
    required: true
  keep:
    description: Names (files or directories, at any depth) in I(dest) that are never copied nor removed.
    type: list
    elements: str
    default: [".terraform", "backend.hcl", "emulator_override.tf"]
author: gradestack
"""

RETURN = r"""
copied:
  description: Files written (relative paths).
  type: list
  returned: always
removed:
  description: Files removed from the working directory (relative paths).
  type: list
  returned: always
variables:
  description: The root module's variables, name to C({sensitive: bool}).
  type: dict
  returned: always
"""

_VARIABLE_BLOCK = re.compile(r'^variable\s+"([A-Za-z0-9_]+)"\s*\{(.*?)^\}', re.MULTILINE | re.DOTALL)
_SENSITIVE = re.compile(r"^\s*sensitive\s*=\s*true\b", re.MULTILINE)
_IGNORED = {".terraform", ".terraform.tfstate.lock.info"}


def root_variables(root: str) -> dict[str, dict[str, bool]]:
    """Variables declared in the root module's *.tf files (top-level blocks only)."""
    found: dict[str, dict[str, bool]] = {}
    for name in sorted(os.listdir(root)):
        if not name.endswith(".tf") or name.endswith("_override.tf"):
            continue
        with open(os.path.join(root, name), encoding="utf-8") as handle:
            text = handle.read()
        for match in _VARIABLE_BLOCK.finditer(text):
            found[match.group(1)] = {"sensitive": bool(_SENSITIVE.search(match.group(2)))}
    return found


def _is_ignored(relative: str, keep: set[str]) -> bool:
    parts = relative.split(os.sep)
    if any(part in keep or part in _IGNORED for part in parts):
        return True
    base = parts[-1]
    return base.endswith((".tfstate", ".tfstate.backup", ".tfplan")) or base.endswith("_override.tf")


def sync(src: str, dest: str, keep: set[str], check_mode: bool) -> tuple[list[str], list[str]]:
    copied: list[str] = []
    wanted: set[str] = set()
    for directory, dirnames, filenames in os.walk(src):
        dirnames[:] = sorted(d for d in dirnames if d not in _IGNORED and d not in keep)
        for filename in sorted(filenames):
            source = os.path.join(directory, filename)
            relative = os.path.relpath(source, src)
            if _is_ignored(relative, keep):
                continue
            wanted.add(relative)
            target = os.path.join(dest, relative)
            if os.path.isfile(target) and filecmp.cmp(source, target, shallow=False):
                continue
            copied.append(relative)
            if not check_mode:
                os.makedirs(os.path.dirname(target), exist_ok=True)
                shutil.copyfile(source, target)
    removed: list[str] = []
    if os.path.isdir(dest):
        for directory, dirnames, filenames in os.walk(dest):
            dirnames[:] = [d for d in dirnames if d not in _IGNORED and d not in keep]
            for filename in filenames:
                relative = os.path.relpath(os.path.join(directory, filename), dest)
                if relative in wanted or _is_ignored(relative, keep):
                    continue
                removed.append(relative)
                if not check_mode:
                    os.remove(os.path.join(dest, relative))
    return copied, sorted(removed)


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "src": {"type": "path", "required": True},
            "dest": {"type": "path", "required": True},
            "keep": {
                "type": "list",
                "elements": "str",
                "default": [".terraform", "backend.hcl", "emulator_override.tf"],
            },
        },
        supports_check_mode=True,
    )
    src, dest = module.params["src"], module.params["dest"]
    if not os.path.isfile(os.path.join(src, "versions.tf")) and not os.path.isfile(os.path.join(src, "main.tf")):
        module.fail_json(msg=f"{src} is not a Terraform root module (no main.tf or versions.tf)")
    if not module.check_mode:
        os.makedirs(dest, mode=0o700, exist_ok=True)
    copied, removed = sync(src, dest, set(module.params["keep"]), module.check_mode)
    module.exit_json(changed=bool(copied or removed), copied=copied, removed=removed, variables=root_variables(src))


if __name__ == "__main__":
    main()
