"""Ansible vars plugin: the repository's group_vars/ for the plays under playbooks/.

Ansible reads group_vars/ next to the inventory and next to the playbook a play
comes from; for an imported playbook that is its own directory
(playbooks/local/, playbooks/aws/), not the repository root where the entry
playbooks and group_vars/ live. For any play whose file is under playbooks/,
this plugin reads the root group_vars/, exactly as the built-in host_group_vars
plugin reads it for a play at the root: one home for every setting, reached by
every play. Plays elsewhere (Molecule scenarios, test playbooks) are left alone.
"""

from __future__ import annotations

import os

from ansible.plugins.vars.host_group_vars import VarsModule as HostGroupVars

DOCUMENTATION = r"""
---
name: gradestack_group_vars
short_description: The repository's group_vars/ for the plays under playbooks/
description:
  - Loads the repository root's group_vars/ for plays whose playbook file is under playbooks/,
    as host_group_vars loads it for plays at the root.
  - Enabled in ansible.cfg (vars_plugins_enabled).
options:
  stage:
    ini:
      - key: stage
        section: vars_gradestack_group_vars
    env:
      - name: ANSIBLE_VARS_PLUGIN_STAGE
  _valid_extensions:
    default: [".yml", ".yaml", ".json"]
    description: Extensions of variable files.
    env:
      - name: ANSIBLE_YAML_FILENAME_EXT
    ini:
      - key: yaml_valid_extensions
        section: defaults
    type: list
    elements: string
extends_documentation_fragment:
  - vars_plugin_staging
"""

REPO = os.path.realpath(os.path.join(os.path.dirname(__file__), "..", ".."))
PLAYBOOKS = os.path.join(REPO, "playbooks")


class VarsModule(HostGroupVars):
    REQUIRES_ENABLED = True

    def get_vars(self, loader, path, entities, cache=True):
        directory = os.path.realpath(path if os.path.isdir(path) else os.path.dirname(path))
        if directory != PLAYBOOKS and not directory.startswith(PLAYBOOKS + os.sep):
            return {}
        return super().get_vars(loader, REPO, entities, cache=cache)
