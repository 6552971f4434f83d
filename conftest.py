"""Fixtures shared by every test suite: real servers started by the repo's own scripts."""

from __future__ import annotations

import os

import pytest

from testsupport.ci import in_ci

pytest_plugins = [
    "testsupport.moto",
    "testsupport.postgres",
    "testsupport.activemq",
    "testsupport.terraform",
    "testsupport.scenario",
]


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    """Under CI a skip is a failure: the run would otherwise prove less than its report says."""
    outcome = yield
    report = outcome.get_result()
    # pytest reports an expected failure (xfail) as skipped with `wasxfail`: that is not a skip.
    if report.skipped and in_ci() and not hasattr(report, "wasxfail"):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI (CI={os.environ.get('CI')}), which counts as a failure: {reason}"
