"""Per-test results as a contestant may see them, applied when results are read.

Workers publish only what the problem's feedback policy allows, and the protocol drops
the detail of a test not marked ``visible``. Rows written before the policy existed
still hold hidden tests' details (the expected token of a wrong answer, exit codes),
so every page and API response goes through ``public_tests``: a test shows its detail
only when its stored ``visible`` flag is true, and old rows have no such flag.
"""

from __future__ import annotations

from typing import Any

_ALWAYS = ("name", "verdict", "time_ms", "memory_kb")


def public_test(stored: dict[str, Any]) -> dict[str, Any]:
    visible = stored.get("visible") is True
    shown = {key: stored[key] for key in _ALWAYS if key in stored}
    shown["visible"] = visible
    shown["detail"] = stored.get("detail", "") if visible else ""
    return shown


def public_tests(stored: list[dict[str, Any]] | None) -> list[dict[str, Any]]:
    return [public_test(test) for test in stored or [] if isinstance(test, dict)]
