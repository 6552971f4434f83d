"""scripts/setup.d/20-terraform.sh: the CLI configuration that installs the provider from the mirror."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from testsupport.terraform import SETUP_STEP

pytestmark = [pytest.mark.terraform]


def run_step(tmp_path: Path, mirror: Path) -> Path:
    conf_dir = tmp_path / "conf"
    env = {**os.environ, "TF_PLUGIN_MIRROR": str(mirror), "GRADESTACK_TF_CONFIG_DIR": str(conf_dir)}
    subprocess.run(["bash", str(SETUP_STEP)], env=env, check=True, capture_output=True, text=True)
    return conf_dir / "cli.tfrc"


def test_mirror_present_gives_filesystem_mirror_for_aws_and_direct_for_the_rest(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "registry.terraform.io" / "hashicorp" / "aws").mkdir(parents=True)
    conf = run_step(tmp_path, mirror)
    text = conf.read_text()
    assert f'path    = "{mirror}"' in text
    assert 'include = ["registry.terraform.io/hashicorp/aws"]' in text
    assert "direct {" in text and 'exclude = ["registry.terraform.io/hashicorp/aws"]' in text
    # A second run leaves the file alone.
    before = conf.stat().st_mtime_ns
    run_step(tmp_path, mirror)
    assert conf.stat().st_mtime_ns == before


def test_no_mirror_means_no_file_and_the_normal_registry(tmp_path: Path) -> None:
    mirror = tmp_path / "mirror"
    (mirror / "registry.terraform.io" / "hashicorp" / "aws").mkdir(parents=True)
    conf = run_step(tmp_path, mirror)
    assert conf.exists()
    conf = run_step(tmp_path, tmp_path / "nowhere")
    assert not conf.exists(), "a stale mirror configuration must be removed when the mirror is gone"
