"""The problem directory format and its loader."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gradestack_protocol import ProblemError, load_problem
from gradestack_protocol.problems import load_problems

REPO = Path(__file__).resolve().parents[3]


def _make(tmp_path: Path, meta: dict, tests: dict[str, str] | None = None, name: str | None = None) -> Path:
    root = tmp_path / (name or meta.get("id", "p"))
    (root / "tests").mkdir(parents=True)
    (root / "problem.json").write_text(json.dumps(meta))
    for filename, content in (tests if tests is not None else {"01.in": "1 2\n", "01.out": "3\n"}).items():
        (root / "tests" / filename).write_text(content)
    return root


GOOD = {"id": "p", "title": "P", "time_limit_ms": 1000, "memory_limit_mb": 256, "output_limit_kb": 64}


def test_good_problem_loads_with_default_token_checker(tmp_path):
    problem = load_problem(_make(tmp_path, GOOD))
    assert problem.checker.type == "token"
    assert [t.name for t in problem.tests] == ["01"]


@pytest.mark.parametrize(
    ("meta", "tests", "message"),
    [
        ({**GOOD, "time_limit_ms": 0}, None, "time_limit_ms"),
        ({**GOOD, "memory_limit_mb": True}, None, "memory_limit_mb"),
        ({**GOOD, "checker": {"type": "regex"}}, None, "checker type"),
        ({**GOOD, "checker": {"type": "custom"}}, None, "needs 'program'"),
        ({**GOOD, "checker": {"type": "custom", "program": "../x.cpp"}}, None, "plain file name"),
        ({**GOOD, "checker": {"type": "float", "abs_tol": -1}}, None, "negative"),
        (GOOD, {}, "no tests"),
        (GOOD, {"01.in": "1"}, "no matching 01.out"),
        ({**GOOD, "title": " "}, None, "title"),
    ],
)
def test_bad_problem_is_rejected_naming_the_field(tmp_path, meta, tests, message):
    with pytest.raises(ProblemError, match=message):
        load_problem(_make(tmp_path, meta, tests, name="p"))


def test_id_must_match_directory(tmp_path):
    with pytest.raises(ProblemError, match="directory is named"):
        load_problem(_make(tmp_path, GOOD, name="other"))


def test_shipped_problems_are_valid():
    problems_dir = REPO / "problems"
    if not problems_dir.is_dir():
        pytest.fail("problems/ is missing: the sample problems ship with the repository")
    problems = load_problems(problems_dir)
    assert len(problems) >= 3


# --- feedback policy -----------------------------------------------------------------------

THREE_TESTS = {"01.in": "1 2\n", "01.out": "3\n", "02.in": "2 2\n", "02.out": "4\n", "s1.in": "", "s1.out": ""}


def test_tests_are_hidden_unless_the_policy_shows_them(tmp_path):
    hidden = load_problem(_make(tmp_path / "a", GOOD, THREE_TESTS))
    assert [t.visible for t in hidden.tests] == [False, False, False]
    samples = load_problem(_make(tmp_path / "b", {**GOOD, "feedback": {"visible": ["01", "s*"]}}, THREE_TESTS))
    assert {t.name: t.visible for t in samples.tests} == {"01": True, "02": False, "s1": True}
    practice = load_problem(_make(tmp_path / "c", {**GOOD, "feedback": {"default": "full"}}, THREE_TESTS))
    assert all(t.visible for t in practice.tests)


@pytest.mark.parametrize(
    ("feedback", "message"),
    [
        ("samples", r"'feedback' must be an object"),
        ({"default": "everything"}, r"'feedback\.default' must be one of 'verdict', 'full', got 'everything'"),
        ({"default": None}, r"'feedback\.default'"),
        ({"visible": "01"}, r"'feedback\.visible' must be a list"),
        ({"visible": [1]}, r"'feedback\.visible' must be a list"),
        ({"visible": ["07"]}, r"'feedback\.visible' entry '07' matches no test"),
        ({"visbile": ["01"]}, r"'feedback' has unknown field\(s\) 'visbile'"),
    ],
)
def test_bad_feedback_policy_is_refused_naming_the_field(tmp_path, feedback, message):
    with pytest.raises(ProblemError, match=message) as refused:
        load_problem(_make(tmp_path, {**GOOD, "feedback": feedback}, THREE_TESTS, name="p"))
    assert "problem.json" in str(refused.value)


def test_shipped_problems_show_only_their_samples():
    # Each shipped problem prints test 01 in its statement; every other test is hidden.
    for problem in load_problems(REPO / "problems"):
        assert [t.name for t in problem.tests if t.visible] == ["01"], problem.id
