"""ansible.cfg: every setting that names a path names one that exists in the repository.

Ansible silently ignores a plugin or role path that does not exist, so a stale entry
(a directory removed or never created) misleads a reader about where code lives and
no play would notice.
"""

from __future__ import annotations

import configparser
from pathlib import Path

import pytest
from ansible.config.manager import ConfigManager

REPO = Path(__file__).resolve().parents[2]
ANSIBLE_CFG = REPO / "ansible.cfg"

# Ansible's own type names for settings that hold paths, with the separator of the
# list types: pathspec is colon separated, pathlist comma separated
# (ansible/config/manager.py, ensure_type).
PATH_TYPES: dict[str, str | None] = {"path": None, "tmppath": None, "pathspec": ":", "pathlist": ","}


def path_kinds() -> dict[tuple[str, str], str]:
    """Ansible's path-typed settings by their (ini section, key)."""
    kinds: dict[tuple[str, str], str] = {}
    for definition in ConfigManager().get_configuration_definitions().values():
        kind = definition.get("type")
        if kind in PATH_TYPES:
            for ini in definition.get("ini") or []:
                kinds[(ini["section"], ini["key"])] = kind
    return kinds


def path_settings() -> list[tuple[str, str, list[str]]]:
    """(section, key, paths) of every path-typed setting ansible.cfg sets."""
    kinds = path_kinds()
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(ANSIBLE_CFG)
    found = []
    for section in parser.sections():
        for key, value in parser[section].items():
            if (section, key) not in kinds:
                continue
            separator = PATH_TYPES[kinds[(section, key)]]
            parts = value.split(separator) if separator else [value]
            found.append((section, key, [part.strip() for part in parts if part.strip()]))
    return found


def test_the_path_settings_are_found() -> None:
    # Guards the check below against passing vacuously (e.g. a renamed section).
    keys = {key for _, key, _ in path_settings()}
    assert {"inventory", "roles_path", "library", "vars_plugins"} <= keys


@pytest.mark.parametrize(("section", "key", "paths"), path_settings(), ids=lambda v: v if isinstance(v, str) else "")
def test_path_setting_exists(section: str, key: str, paths: list[str]) -> None:
    # Ansible resolves a relative path in ansible.cfg against the file's directory.
    missing = [p for p in paths if not (ANSIBLE_CFG.parent / Path(p).expanduser()).exists()]
    assert missing == [], f"[{section}] {key} names paths that do not exist: {missing}"
