"""scripts/molecule_junit.py: Molecule's per-scenario results as JUnit for reports/."""

from __future__ import annotations

import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_passed_failed_and_missing_scenarios(tmp_path: Path) -> None:
    (tmp_path / "ok.result").write_text("0 12\n")
    (tmp_path / "ok.log").write_text("fine\n")
    (tmp_path / "broken.result").write_text("2 30\n")
    (tmp_path / "broken.log").write_text("converge\n\x1b[31mfatal: <host> & co\x1b[0m\n")
    output = tmp_path / "reports" / "molecule.xml"
    command = [sys.executable, str(REPO / "scripts" / "molecule_junit.py"), str(tmp_path), str(output)]
    subprocess.run([*command, "ok", "broken", "lost"], check=True)
    suite = ET.parse(output).getroot()  # noqa: S314 (a file this test just had written)
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors")) == ("3", "1", "1")
    cases = {case.get("name"): case for case in suite}
    assert cases["ok"].get("time") == "12" and len(cases["ok"]) == 0
    failure = cases["broken"].find("failure")
    assert failure is not None and "exited 2" in failure.get("message", "")
    assert failure.text is not None and "fatal: <host> & co" in failure.text and "\x1b" not in failure.text
    assert cases["lost"].find("error") is not None
