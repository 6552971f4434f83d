"""testsupport/scenario.py: a scenario's steps run in file order and say what they need."""

from __future__ import annotations

pytest_plugins = ["pytester"]

STEPS = """
import pytest

pytestmark = pytest.mark.scenario

def test_deploy():
    pass

@pytest.mark.needs("test_deploy")
def test_after():
    pass
"""


def run(pytester, *args: str):
    pytester.makepyfile(test_story=STEPS)
    return pytester.runpytest("-p", "testsupport.scenario", "-rs", *args)


def test_the_whole_module_runs_every_step(pytester) -> None:
    run(pytester).assert_outcomes(passed=2)


def test_a_step_alone_says_what_it_needs(pytester) -> None:
    result = run(pytester, "test_story.py::test_after")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(["*needs test_story.py::test_deploy to have passed earlier in this run*"])


def test_a_step_out_of_order_fails(pytester) -> None:
    result = run(pytester, "test_story.py::test_after", "test_story.py::test_deploy")
    result.assert_outcomes(skipped=1, errors=1)
    result.stdout.fnmatch_lines(["*scenario out of order: test_deploy is an earlier step than test_after*"])
