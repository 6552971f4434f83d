"""Fixtures of the web app's tests: a migrated database with a fixture problem, and app factories."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from flask import Flask
from gradestack_web import migrate
from gradestack_web.config import Settings
from gradestack_web.db import make_engine, make_sessionmaker
from gradestack_web.problems_loader import load_directory
from sqlalchemy import Engine, delete, update
from sqlalchemy.orm import Session, sessionmaker

from .webhelp import PASSWORD, Account

TEST_SECRET = "test-secret-key-0123456789abcdef"  # noqa: S105  (test-only value)


def write_problem(root: Path, problem_id: str = "aplusb", title: str = "A plus B") -> Path:
    """A tiny problem in the shared format: read two integers, print their sum."""
    directory = root / problem_id
    (directory / "tests").mkdir(parents=True)
    meta = {"id": problem_id, "title": title, "time_limit_ms": 2000, "memory_limit_mb": 128, "output_limit_kb": 64}
    (directory / "problem.json").write_text(json.dumps(meta))
    (directory / "statement.md").write_text("# Sum\n\nRead `a` and `b`, print **a+b**.\n")
    (directory / "tests" / "01.in").write_text("1 2\n")
    (directory / "tests" / "01.out").write_text("3\n")
    (directory / "tests" / "02.in").write_text("40 2\n")
    (directory / "tests" / "02.out").write_text("42\n")
    return directory


@pytest.fixture(scope="module")
def problems_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("problems")
    write_problem(root)
    return root


@pytest.fixture(scope="module")
def db_env(postgres_database) -> dict[str, str]:
    return postgres_database.env()


@pytest.fixture(scope="module")
def engine(db_env: dict[str, str], problems_dir: Path) -> Iterator[Engine]:
    """The module's database, migrated to head, with the fixture problem loaded."""
    settings = Settings.from_env({**db_env, "SECRET_KEY": TEST_SECRET})
    engine = make_engine(settings.database)
    migrate.upgrade(engine)
    with make_sessionmaker(engine)() as session, session.begin():
        load_directory(session, problems_dir)
    yield engine
    engine.dispose()


@pytest.fixture
def sessions(engine: Engine) -> sessionmaker[Session]:
    return make_sessionmaker(engine)


@pytest.fixture
def clean_tables(sessions: sessionmaker[Session]) -> None:
    """Start a test with no submissions, outbox rows or rate-limit counters."""
    from gradestack_web.models import ApiToken, OutboxMessage, Problem, RateLimit, Submission, User  # noqa: PLC0415

    with sessions() as session, session.begin():
        session.execute(delete(OutboxMessage))
        session.execute(delete(Submission))
        session.execute(delete(RateLimit))
        session.execute(delete(ApiToken))
        session.execute(delete(User))
        session.execute(update(Problem).values(hidden=False))


@pytest.fixture
def make_user(sessions: sessionmaker[Session], clean_tables: None) -> Callable[..., Account]:
    """Create an account (password PASSWORD) with one live API token."""
    from gradestack_web import accounts  # noqa: PLC0415

    def create(username: str, staff: bool = False) -> Account:
        with sessions() as session, session.begin():
            user = accounts.create_user(session, username, PASSWORD, is_staff=staff)
            _, token = accounts.create_token(session, user, "tests")
            return Account(user.id, user.username, token)

    return create


@pytest.fixture
def contestant(make_user: Callable[..., Account]) -> Account:
    return make_user("contestant")


@pytest.fixture
def make_app(engine: Engine, db_env: dict[str, str]) -> Callable[..., Flask]:
    """Build an app on the module's database; keyword arguments override environment variables."""
    from gradestack_web.app import create_app  # noqa: PLC0415

    def build(**overrides: str) -> Flask:
        env = {**db_env, "SECRET_KEY": TEST_SECRET, "GRADESTACK_ENV": "test", **overrides}
        app = create_app(Settings.from_env(env), engine=engine, environ=env)
        app.testing = True
        return app

    return build
