"""pytest plugin: ordered scenarios, i.e. modules whose tests are the steps of one story.

Some modules share one expensive fixture (a whole deploy) and their tests build on each
other: deploy, then a no-op deploy, then faults, then destroy. Such a module says so::

    pytestmark = pytest.mark.scenario

    @pytest.mark.needs("test_first_deploy")
    def test_second_deploy_changes_nothing(env): ...

and this plugin makes the dependency explicit instead of implied by file order:

- a step of a scenario that runs before an earlier step of the same module has run in
  this process fails at once, naming both (a reordering plugin, ``-p random``, or
  ``pytest-xdist --dist load`` splitting the module would otherwise tell another story);
  each pytest process that runs part of a scenario sets up its own fixture, so steps
  split across xdist workers still run in file order, each on its own environment;
- a step marked ``needs("test_x", ...)`` is skipped, naming test_x, unless test_x passed
  earlier in this process (under CI a skip is a failure: the root conftest);
  ``pytest module.py::test_y`` alone thus says what it needs instead of failing obscurely.

Running the whole module (``pytest path/to/module.py``) always runs every step in order.
"""

from __future__ import annotations

import pytest

_PASSED = pytest.StashKey[set[str]]()
_LAST_LINE = pytest.StashKey[dict[str, tuple[int, str]]]()


def _name(nodeid: str) -> str:
    return nodeid.rsplit("::", maxsplit=1)[-1].split("[", maxsplit=1)[0]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "scenario: the module's tests are ordered steps of one story (file order)")
    config.addinivalue_line("markers", "needs(*steps): run only after these steps of the module passed")
    config.stash[_PASSED] = set()
    config.stash[_LAST_LINE] = {}


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("scenario") is None:
        return
    module = str(item.path)
    line = item.reportinfo()[1] or 0
    last = item.config.stash[_LAST_LINE].get(module)
    if last is not None and line < last[0]:
        pytest.fail(
            f"scenario out of order: {item.name} is an earlier step than {last[1]}, which already ran; "
            "run the module's steps in file order (no reordering, xdist --dist loadfile)",
            pytrace=False,
        )
    item.config.stash[_LAST_LINE][module] = (line, item.name)
    passed = item.config.stash[_PASSED]
    for marker in item.iter_markers("needs"):
        missing = [f"{module.rsplit('/', 1)[-1]}::{step}" for step in marker.args if f"{module}::{step}" not in passed]
        if missing:
            pytest.skip(f"scenario step: needs {', '.join(missing)} to have passed earlier in this run")


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if call.when == "call" and report.passed and item.get_closest_marker("scenario") is not None:
        item.config.stash[_PASSED].add(f"{item.path}::{_name(item.nodeid)}")
    return report
