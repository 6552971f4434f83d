"""One answer to "is this a CI run?", and what a test does when something it needs is missing.

CI (``.ci/run``) exports ``CI=true``; other CI systems say ``1`` or ``yes``. Under CI a
skipped test is a failure (the ``pytest_runtest_makereport`` hook in the root
conftest.py): a missing tool or image there means the run proved less than it claims.
On a developer's machine a test may skip, naming what is missing.
"""

from __future__ import annotations

import os

import pytest

_TRUE = frozenset({"1", "true", "yes"})


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in _TRUE


def require(condition: bool, message: str) -> None:
    """Skip locally, fail in CI: a missing tool must not pass silently where it is required."""
    if condition:
        return
    if in_ci():
        pytest.fail(message, pytrace=False)
    pytest.skip(message)
