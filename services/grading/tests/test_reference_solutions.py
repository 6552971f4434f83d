"""Every reference solution under problems/ earns the verdict its file name announces."""

from __future__ import annotations

from pathlib import Path

import pytest
from gradestack_grading.judge import Judge
from gradestack_protocol import load_problem

from .conftest import PROBLEMS, language_of

SOLUTIONS = sorted(p for p in PROBLEMS.glob("*/solutions/*") if p.suffix in (".c", ".cpp", ".py"))


def test_every_problem_has_accepted_and_rejected_solutions() -> None:
    problems = {p.parent.parent.name for p in SOLUTIONS}
    assert problems >= {"aplusb", "circle-area", "big-sum", "pair-sum"}
    for name in problems:
        stems = {p.stem for p in SOLUTIONS if p.parent.parent.name == name}
        assert "ac" in stems, name
        assert "wa" in stems, name


@pytest.mark.slow
@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: f"{p.parent.parent.name}/{p.name}")
def test_reference_solution_verdict(judge: Judge, path: Path) -> None:
    problem = load_problem(path.parent.parent)
    expected = path.stem.upper()
    # Short-circuit keeps the TLE solution to one timed-out test; the verdict is the same.
    report = judge.judge(problem, language_of(path), path.read_text(), short_circuit=expected != "AC")
    assert report.verdict == expected, report.to_json()
    if expected == "AC":
        assert all(t.verdict == "AC" for t in report.tests)
        assert report.compile_output == "" or "warning" in report.compile_output
    if expected == "CE":
        assert "undeclared_variable" in report.compile_output
        assert report.tests == []
