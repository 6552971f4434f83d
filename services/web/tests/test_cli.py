"""`gradestack-web` commands against a real PostgreSQL: migrate, load-problems (the repo's problems/)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from gradestack_web.cli import main
from gradestack_web.models import Problem
from sqlalchemy import select

REPO_PROBLEMS = Path(__file__).resolve().parents[3] / "problems"


@pytest.fixture
def env(db_env, monkeypatch) -> None:
    for key, value in db_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("GRADESTACK_ENV", "test")


@pytest.mark.usefixtures("env")
def test_migrate_twice(capsys, engine):
    assert main(["migrate"]) == 0
    assert "nothing to do" in capsys.readouterr().out


@pytest.mark.usefixtures("env")
def test_load_the_repository_problems_twice(capsys, sessions):
    expected = sorted(p.name for p in REPO_PROBLEMS.iterdir() if (p / "problem.json").is_file())
    assert expected, f"{REPO_PROBLEMS} holds no problems"
    for _ in range(2):
        assert main(["load-problems", str(REPO_PROBLEMS)]) == 0
        assert f"loaded {len(expected)} problem(s)" in capsys.readouterr().out
    with sessions() as session:
        loaded = session.scalars(select(Problem.id).where(Problem.id.in_(expected))).all()
    assert sorted(loaded) == expected


@pytest.mark.usefixtures("env")
def test_a_broken_problem_loads_nothing(capsys, sessions, tmp_path):
    good = tmp_path / "fine"
    (good / "tests").mkdir(parents=True)
    (good / "problem.json").write_text(
        json.dumps({"id": "fine", "title": "Fine", "time_limit_ms": 1000, "memory_limit_mb": 64, "output_limit_kb": 8})
    )
    (good / "tests" / "1.in").write_text("1\n")
    (good / "tests" / "1.out").write_text("1\n")
    broken = tmp_path / "zbroken"
    broken.mkdir()
    (broken / "problem.json").write_text('{"id": "zbroken", "title": ""}')
    assert main(["load-problems", str(tmp_path)]) == 2
    assert "'title' must be a non-empty string" in capsys.readouterr().err
    with sessions() as session:
        assert session.get(Problem, "fine") is None
    assert main(["load-problems", str(tmp_path / "missing")]) == 2
    assert "is not a directory" in capsys.readouterr().err
