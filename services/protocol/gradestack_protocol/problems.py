"""The problem directory format, shared by problem setters, the web app and workers.

A problem is a directory::

    <id>/problem.json    id, title, time_limit_ms, memory_limit_mb, output_limit_kb, checker, feedback
    <id>/statement.md    the statement shown on the web (Markdown, rendered escaped)
    <id>/tests/NN.in     input of test NN
    <id>/tests/NN.out    expected output of test NN
    <id>/checker.<ext>   only for a custom checker (C++ source)

``feedback`` (optional) says which tests a contestant sees in full; by default every
test shows its verdict, time and memory only (see ``gradestack_protocol.feedback``).

The same tree is uploaded to S3 under ``problems/<id>/`` for the workers.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gradestack_protocol.feedback import FeedbackError, FeedbackPolicy
from gradestack_protocol.messages import PROBLEM_ID

CHECKER_TYPES = ("exact", "token", "float", "custom")


class ProblemError(ValueError):
    """A problem directory that does not follow the format; the text names the file and field."""


@dataclass(frozen=True)
class Checker:
    type: str = "token"
    abs_tol: float = 1e-6
    rel_tol: float = 1e-6
    program: str | None = None  # custom checker source, relative to the problem directory

    @classmethod
    def from_dict(cls, payload: Any, where: str) -> Checker:
        if payload is None:
            return cls()
        if isinstance(payload, str):
            payload = {"type": payload}
        if not isinstance(payload, dict):
            raise ProblemError(f"{where}: 'checker' must be a string or an object")
        kind = payload.get("type", "token")
        if kind not in CHECKER_TYPES:
            raise ProblemError(f"{where}: checker type must be one of {', '.join(CHECKER_TYPES)}, got {kind!r}")
        program = payload.get("program")
        if kind == "custom" and not program:
            raise ProblemError(f"{where}: a custom checker needs 'program' (e.g. \"checker.cpp\")")
        if program is not None and (not isinstance(program, str) or "/" in program or program.startswith(".")):
            raise ProblemError(f"{where}: checker 'program' must be a plain file name in the problem directory")
        try:
            abs_tol = float(payload.get("abs_tol", 1e-6))
            rel_tol = float(payload.get("rel_tol", 1e-6))
        except (TypeError, ValueError) as exc:
            raise ProblemError(f"{where}: checker tolerances must be numbers") from exc
        if abs_tol < 0 or rel_tol < 0:
            raise ProblemError(f"{where}: checker tolerances must not be negative")
        return cls(type=kind, abs_tol=abs_tol, rel_tol=rel_tol, program=program)


@dataclass(frozen=True)
class TestCase:
    __test__ = False  # not a pytest test class despite the name

    name: str
    input_path: Path
    output_path: Path
    visible: bool = False  # the feedback policy lets contestants see this test's detail and output


@dataclass(frozen=True)
class Problem:
    id: str
    title: str
    time_limit_ms: int
    memory_limit_mb: int
    output_limit_kb: int
    checker: Checker
    root: Path
    tests: tuple[TestCase, ...]
    feedback: FeedbackPolicy = field(default_factory=FeedbackPolicy)

    @property
    def statement(self) -> str:
        path = self.root / "statement.md"
        return path.read_text(encoding="utf-8") if path.is_file() else ""


def _positive_int(meta: dict[str, Any], key: str, where: str, upper: int) -> int:
    value = meta.get(key)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 < value <= upper:
        raise ProblemError(f"{where}: {key!r} must be an integer between 1 and {upper}, got {value!r}")
    return value


def load_problem(root: str | Path) -> Problem:
    """Read and validate one problem directory."""
    root = Path(root)
    where = str(root / "problem.json")
    try:
        meta = json.loads((root / "problem.json").read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ProblemError(f"{where}: missing") from exc
    except json.JSONDecodeError as exc:
        raise ProblemError(f"{where}: not valid JSON: {exc}") from exc
    if not isinstance(meta, dict):
        raise ProblemError(f"{where}: must be a JSON object")
    problem_id = meta.get("id")
    if not isinstance(problem_id, str) or not PROBLEM_ID.match(problem_id):
        raise ProblemError(f"{where}: 'id' must be 1-64 characters of [a-z0-9_-]")
    if problem_id != root.name:
        raise ProblemError(f"{where}: 'id' is {problem_id!r} but the directory is named {root.name!r}")
    title = meta.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ProblemError(f"{where}: 'title' must be a non-empty string")
    checker = Checker.from_dict(meta.get("checker"), where)
    if checker.program and not (root / checker.program).is_file():
        raise ProblemError(f"{where}: checker program {checker.program!r} not found")

    tests_dir = root / "tests"
    inputs = sorted(tests_dir.glob("*.in")) if tests_dir.is_dir() else []
    if not inputs:
        raise ProblemError(f"{tests_dir}: no tests (expected NN.in with NN.out)")
    for input_path in inputs:
        output_path = input_path.with_suffix(".out")
        if not output_path.is_file():
            raise ProblemError(f"{input_path}: has no matching {output_path.name}")
    try:
        feedback = FeedbackPolicy.from_dict(meta.get("feedback"), (path.stem for path in inputs))
    except FeedbackError as exc:
        raise ProblemError(f"{where}: {exc}") from exc
    tests = [
        TestCase(
            name=path.stem,
            input_path=path,
            output_path=path.with_suffix(".out"),
            visible=feedback.shows_detail(path.stem),
        )
        for path in inputs
    ]

    return Problem(
        id=problem_id,
        title=title.strip(),
        time_limit_ms=_positive_int(meta, "time_limit_ms", where, 60_000),
        memory_limit_mb=_positive_int(meta, "memory_limit_mb", where, 4096),
        output_limit_kb=_positive_int(meta, "output_limit_kb", where, 1024 * 1024),
        checker=checker,
        root=root,
        tests=tuple(tests),
        feedback=feedback,
    )


def load_problems(directory: str | Path) -> list[Problem]:
    """Load every problem directory under ``directory`` (each child holding a problem.json)."""
    directory = Path(directory)
    return [load_problem(child) for child in sorted(directory.iterdir()) if (child / "problem.json").is_file()]
