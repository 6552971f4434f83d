"""`gradestack-web` commands against a real PostgreSQL: migrate, load-problems (the repo's problems/)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from gradestack_web.cli import main
from gradestack_web.config import DatabaseSettings
from gradestack_web.db import make_engine
from gradestack_web.models import Problem
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError

from .conftest import TEST_SECRET

REPO_PROBLEMS = Path(__file__).resolve().parents[3] / "problems"


@pytest.fixture
def env(db_env, monkeypatch) -> None:
    for key, value in db_env.items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("GRADESTACK_ENV", "test")
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET)


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


@pytest.mark.parametrize("mode", ["require", "verify-full"])
def test_database_tls_modes(postgres_database, mode):
    """What RDS needs: encrypted sessions, and with verify-full a certificate checked against the CA."""
    env = {**postgres_database.env(), "DATABASE_SSLMODE": mode, "DATABASE_SSLROOTCERT": str(postgres_database.ca_cert)}
    engine = make_engine(DatabaseSettings.from_env(env))
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")).scalar() is True
    finally:
        engine.dispose()


def test_verify_full_refuses_an_untrusted_server(postgres_database):
    env = {
        **postgres_database.env(),
        "DATABASE_SSLMODE": "verify-full",
        "DATABASE_SSLROOTCERT": "/etc/ssl/certs/ca-certificates.crt",  # public CAs never signed the test server
        "DATABASE_CONNECT_TIMEOUT": "5",
    }
    engine = make_engine(DatabaseSettings.from_env(env))
    try:
        with pytest.raises(OperationalError, match="certificate verify failed"), engine.connect():
            pass
    finally:
        engine.dispose()


def test_concurrent_migrations_both_succeed(postgres_server, tmp_path):
    """Two web hosts converging at once: the advisory lock makes the second wait, then find nothing to do."""
    database = postgres_server.create_database("t_concurrent_migrate")
    env = {**os.environ, **database.env(), "GRADESTACK_ENV": "test", "SECRET_KEY": TEST_SECRET}
    command = [str(Path(sys.executable).parent / "gradestack-web"), "migrate"]
    runs = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert [run.returncode for run in runs] == [0, 0], outputs
    assert sorted("nothing to do" in out for out in outputs) == [False, True], outputs
    postgres_server.drop_database("t_concurrent_migrate")
