"""Issue 14, finding 8: an entry playbook run with an inventory that selects no platform (no host in
`local` or `aws`) must fail with one clear line naming the inventory, not match no host and exit 0."""

from __future__ import annotations

import pytest
import yaml

from testsupport.ansible import run_playbook


@pytest.mark.parametrize("playbook", ["verify.yml", "deploy.yml", "rollback.yml", "destroy.yml"])
def test_an_inventory_without_a_platform_is_refused(tmp_path, playbook):
    inventory = tmp_path / "hosts.yml"
    # A typical mistake: an inventory of hosts, none of them in the platform groups the plays select.
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"web.example.com": {}}, "children": {"production": {}}}}))
    result = run_playbook(playbook, inventory=str(inventory), timeout=300)
    assert result.returncode != 0, result.stdout[-3000:]
    lines = [line for line in result.stdout.splitlines() if "selects no platform" in line]
    assert lines and f"Inventory {inventory} selects no platform" in lines[0], result.stdout[-3000:]
    # Nothing else ran: the guard is the first play.
    assert "PLAY [Guard | the inventory selects a platform]" in result.stdout
    assert result.stdout.count("PLAY [") == 1, result.stdout[-3000:]
