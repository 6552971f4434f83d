"""Read a verify run's JUnit report (roles/verify_report) into {check id: (status, reason)}."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path


def read_report(path: Path) -> dict[str, tuple[str, str]]:
    """Each testcase (named by its check id) as (pass|fail|skip, reason)."""
    root = ET.parse(path).getroot()  # noqa: S314 - our own report
    checks: dict[str, tuple[str, str]] = {}
    for case in root.iter("testcase"):
        failure, skipped = case.find("failure"), case.find("skipped")
        if failure is not None:
            checks[case.get("name", "")] = ("fail", failure.get("message", ""))
        elif skipped is not None:
            checks[case.get("name", "")] = ("skip", skipped.get("message", ""))
        else:
            checks[case.get("name", "")] = ("pass", (case.findtext("system-out") or "").strip())
    return checks


def failed(checks: dict[str, tuple[str, str]]) -> set[str]:
    """The ids of the failed checks."""
    return {check for check, (status, _) in checks.items() if status == "fail"}
