"""Write Molecule's results as JUnit XML: one testcase per scenario (scripts/run-molecule.sh).

    python scripts/molecule_junit.py <log dir> <output.xml> <scenario>...

Each scenario left ``<name>.result`` ("<exit code> <seconds>") and ``<name>.log`` in the
log directory. A scenario without a result is reported as an error; a failed one
carries the last lines of its log. A testinfra test that skipped is a failure under
CI (root conftest.py), so a green scenario here proved what it says.
"""

from __future__ import annotations

import re
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

ANSI = re.compile(r"\x1b\[[0-9;]*m")
TAIL_LINES = 80


def testcase(log_dir: Path, name: str) -> ET.Element:
    case = ET.Element("testcase", classname="molecule", name=name)
    result, log = log_dir / f"{name}.result", log_dir / f"{name}.log"
    text = ANSI.sub("", log.read_text(encoding="utf-8", errors="replace")) if log.exists() else ""
    tail = "\n".join(text.splitlines()[-TAIL_LINES:])
    if not result.exists():
        ET.SubElement(case, "error", message="the scenario left no result").text = tail
        return case
    code, seconds = result.read_text(encoding="utf-8").split()
    case.set("time", seconds)
    if code != "0":
        ET.SubElement(case, "failure", message=f"molecule test -s {name} exited {code}").text = tail
    return case


def main(log_dir: Path, output: Path, names: list[str]) -> None:
    suite = ET.Element("testsuite", name="molecule")
    cases = [testcase(log_dir, name) for name in names]
    suite.extend(cases)
    suite.set("tests", str(len(cases)))
    suite.set("failures", str(sum(1 for c in cases if c.find("failure") is not None)))
    suite.set("errors", str(sum(1 for c in cases if c.find("error") is not None)))
    suite.set("time", str(sum(int(c.get("time", "0")) for c in cases)))
    output.parent.mkdir(parents=True, exist_ok=True)
    tree = ET.ElementTree(suite)
    ET.indent(tree)
    tree.write(output, encoding="utf-8", xml_declaration=True)


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), sys.argv[3:])
