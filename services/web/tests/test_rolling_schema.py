"""A rolling deploy across the accounts schema change, with the real previous release.

The deploy's data stage migrates once (`gradestack-web migrate` of the new release), then
the web stage replaces the hosts one by one: for a while the previous release and the new
one serve side by side against the migrated schema (services/web/README.md, "Schema
changes during a rolling deploy"). This module reproduces that with the previous
release's own sources, taken from git history:

1. the old release migrates an empty database and loads the problems, as its deploy did;
2. the old release serves (gunicorn, as the web role runs it) while the new release's
   `gradestack-web migrate` upgrades the schema under it;
3. the new release serves beside it; requests go to both, in both directions of the
   roll (rows the old release writes read by the new one, and the other way round).

A database upgraded this way must end with the same schema as one the new release
migrates from empty.
"""

from __future__ import annotations

import io
import json
import os
import re
import subprocess
import sys
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import gradestack_protocol
import gradestack_web
import psycopg
import pytest
import requests
from gradestack_protocol.messages import GradingRequest
from gradestack_web import accounts, migrate
from gradestack_web.config import Settings
from gradestack_web.db import make_engine, make_sessionmaker
from gradestack_web.models import OutboxMessage, Submission
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session, sessionmaker

from testsupport.ci import require
from testsupport.ports import free_port, wait_for_port
from testsupport.postgres import PostgresServer

from .conftest import TEST_SECRET, write_problem
from .webhelp import PASSWORD

pytestmark = pytest.mark.slow

# The previous release: main just before the accounts branch was merged (bf277b8's first
# parent). Its migrations end at 0002, the outbox NOTIFY trigger; it knows no users,
# API tokens or hidden problems.
OLD_RELEASE = "3eedcc3cf271731b85cdd50e437fcaf1dd030d51"
OLD_HEAD = "0002"

REPO = Path(__file__).resolve().parents[3]
GUNICORN = Path(sys.executable).parent / "gunicorn"
# The new release is the code this test process imports (the worktree under test).
NEW_PYTHONPATH = os.pathsep.join(
    str(Path(package.__file__).resolve().parents[1]) for package in (gradestack_web, gradestack_protocol)
)
SOURCE = "a, b = map(int, input().split())\nprint(a + b)\n"
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
SUBMISSION_LINK = re.compile(r"/submissions/([0-9a-f-]{8,64})$")


@dataclass
class Release:
    """One release's gunicorn, serving on 127.0.0.1."""

    name: str
    url: str
    log: Path
    process: subprocess.Popen

    def browser(self) -> requests.Session:
        """A cookie-keeping client; redirects are checked by the tests, not followed."""
        return requests.Session()

    def get(self, client: requests.Session, path: str, status: int = 200) -> requests.Response:
        response = client.get(self.url + path, allow_redirects=False, timeout=30)
        assert response.status_code == status, f"{self.name} GET {path}: {response.status_code}\n{response.text}"
        return response

    def post_form(self, client: requests.Session, page: str, action: str, **fields: str) -> requests.Response:
        """Submit a form the way a browser does: the CSRF token from the page, then the POST."""
        token = CSRF.search(self.get(client, page).text)
        assert token, f"{self.name} {page} has no CSRF token"
        return client.post(
            self.url + action, data={"csrf_token": token.group(1), **fields}, allow_redirects=False, timeout=30
        )


def _old_sources(root: Path) -> str:
    """Extract the old release's web and protocol packages; return its PYTHONPATH."""
    found = subprocess.run(
        ["git", "-C", str(REPO), "cat-file", "-e", f"{OLD_RELEASE}^{{commit}}"], capture_output=True, check=False
    )
    require(
        found.returncode == 0,
        f"commit {OLD_RELEASE} (the release before accounts) is not in {REPO}'s history: a shallow clone? "
        "`git fetch --unshallow` gives the rolling-deploy test the previous release it runs",
    )
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", "--format=tar", OLD_RELEASE, "services/web", "services/protocol"],
        capture_output=True,
        check=True,
    )
    with tarfile.open(fileobj=io.BytesIO(archive.stdout)) as tar:
        tar.extractall(root, filter="data")
    return os.pathsep.join(str(root / "services" / name) for name in ("web", "protocol"))


def _environment(database: PostgresServer, pythonpath: str) -> dict[str, str]:
    # The names the web role writes to web.env (both releases read the same ones); one
    # SECRET_KEY for every host, as the deployment shares it. No MQ_ENDPOINTS: readiness
    # then reports the broker as not configured; its database check is what counts here.
    return {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": pythonpath,
        "GRADESTACK_ENV": "test",
        "SECRET_KEY": TEST_SECRET,
        "LOG_LEVEL": "INFO",
        **database.env(),
    }


def _cli(env: dict[str, str], cwd: Path, *argv: str) -> str:
    """`gradestack-web ARGV` of the release PYTHONPATH points at, as the role's admin entry runs it."""
    done = subprocess.run(
        [sys.executable, "-m", "gradestack_web.cli", *argv],
        env=env,
        cwd=cwd,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, f"gradestack-web {' '.join(argv)}: {done.stdout}{done.stderr}"
    return done.stdout


def _serve(name: str, env: dict[str, str], cwd: Path, log: Path) -> Release:
    port = free_port()
    # cwd: gunicorn puts its working directory first on sys.path, so it must not hold a
    # gradestack_web of another release.
    process = subprocess.Popen(
        [str(GUNICORN), "--bind", f"127.0.0.1:{port}", "--workers", "2", "--timeout", "30", "gradestack_web.wsgi:app"],
        env=env,
        cwd=cwd,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    release = Release(name, f"http://127.0.0.1:{port}", log, process)
    wait_for_port(port, timeout=60, process=process)
    # The master listens before its workers have imported the app: wait until one answers.
    deadline = time.monotonic() + 60
    while True:
        assert process.poll() is None, f"{name} gunicorn exited:\n{log.read_text()}"
        try:
            if requests.get(release.url + "/health", timeout=10).status_code == 200:
                return release
        except requests.ConnectionError:
            pass
        assert time.monotonic() < deadline, f"{name} never answered /health:\n{log.read_text()}"
        time.sleep(0.3)


def _stop(release: Release) -> None:
    release.process.terminate()
    try:
        release.process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        release.process.kill()
        release.process.wait(timeout=10)


def _schema(database: PostgresServer) -> dict[str, list[tuple]]:
    """Columns, indexes, constraints and triggers of the public schema, comparably."""
    queries = {
        "columns": "SELECT table_name, column_name, data_type, is_nullable, column_default "
        "FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1, 2",
        "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY 1, 2",
        "constraints": "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE connamespace = 'public'::regnamespace ORDER BY 1, 2",
        "triggers": "SELECT tgrelid::regclass::text, tgname, pg_get_triggerdef(oid) FROM pg_trigger "
        "WHERE NOT tgisinternal ORDER BY 1, 2",
        "revision": "SELECT version_num FROM alembic_version",
    }
    with database.connect() as conn:
        return {name: conn.execute(query).fetchall() for name, query in queries.items()}


@dataclass
class Roll:
    old: Release
    new: Release
    database: PostgresServer
    engine: Engine
    sessions: sessionmaker[Session]
    migrate_output: str


@pytest.fixture(scope="module")
def roll(postgres_database: PostgresServer, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Roll]:
    tmp = tmp_path_factory.mktemp("rolling")
    old_path = _old_sources(tmp / "old-release")
    problems = tmp / "problems"
    write_problem(problems)
    write_problem(problems, "secret", "Kept for the contest")
    old_env = _environment(postgres_database, old_path)
    new_env = _environment(postgres_database, NEW_PYTHONPATH)

    # What the previous deploy's data stage did, with the previous release's own code.
    assert _cli(old_env, tmp, "migrate").strip() == f"schema upgraded from empty to {OLD_HEAD}"
    _cli(old_env, tmp, "load-problems", str(problems))
    old = _serve("old release", old_env, tmp, tmp / "old.log")
    new: Release | None = None
    engine = make_engine(Settings.from_env({**postgres_database.env(), "SECRET_KEY": TEST_SECRET}).database)
    try:
        # The new deploy's data stage, while the old hosts keep serving.
        migrated = _cli(new_env, tmp, "migrate")
        new = _serve("new release", new_env, tmp, tmp / "new.log")
        yield Roll(old, new, postgres_database, engine, make_sessionmaker(engine), migrated)
    finally:
        engine.dispose()
        for release in (old, new):
            if release is not None:
                _stop(release)


def _create_user(roll: Roll, username: str, staff: bool = False) -> None:
    with roll.sessions() as session, session.begin():
        accounts.create_user(session, username, PASSWORD, is_staff=staff)


def _log_in(release: Release, username: str) -> requests.Session:
    client = release.browser()
    response = release.post_form(client, "/login", "/login", username=username, password=PASSWORD)
    assert response.status_code == 303, f"{release.name} login of {username}: {response.status_code}"
    return client


def _submitted_id(release: Release, response: requests.Response) -> str:
    assert response.status_code == 303, f"{release.name} submit: {response.status_code}\n{response.text}"
    link = SUBMISSION_LINK.search(response.headers["Location"])
    assert link, response.headers["Location"]
    return link.group(1)


def test_the_releases_are_the_old_and_the_new_code(roll):
    # The old release has no accounts: its /login is the 404 of an unknown page.
    roll.old.get(requests.Session(), "/login", status=404)
    roll.new.get(requests.Session(), "/login")


def test_the_data_stage_upgrades_the_old_schema_to_the_fresh_head(roll, postgres_server):
    head = migrate.head_revision()
    assert roll.migrate_output.strip() == f"schema upgraded from {OLD_HEAD} to {head}"
    reference = postgres_server.create_database("t_rolling_reference")
    try:
        engine = make_engine(Settings.from_env({**reference.env(), "SECRET_KEY": TEST_SECRET}).database)
        try:
            assert migrate.upgrade(engine) == ("", head)
        finally:
            engine.dispose()
        assert _schema(roll.database) == _schema(reference)
    finally:
        postgres_server.drop_database("t_rolling_reference")


def test_the_old_release_serves_and_is_ready_on_the_new_schema(roll):
    browser = roll.old.browser()
    assert "A plus B" in roll.old.get(browser, "/").text
    assert "Read <code>a</code> and <code>b</code>" in roll.old.get(browser, "/problems/aplusb").text
    assert roll.old.get(browser, "/health").json() == {"status": "ok"}
    ready = roll.old.get(browser, "/health/ready", status=503).json()  # no broker in this module
    assert ready["checks"]["database"] == "ok"
    assert set(ready["outbox"]) == {"unsent", "oldest_unsent_seconds"}, ready


def test_an_anonymous_submission_through_the_old_release_reaches_the_new_one(roll):
    with psycopg.connect(roll.database.url(driver="postgresql"), autocommit=True) as listener:
        listener.execute("LISTEN gradestack_outbox")
        browser = roll.old.browser()
        submitted = roll.old.post_form(
            browser, "/problems/aplusb", "/problems/aplusb/submit", language="python3", source=SOURCE
        )
        submission_id = _submitted_id(roll.old, submitted)
        # The outbox trigger wakes the new release's publisher for an old host's insert too.
        notes = list(listener.notifies(timeout=10, stop_after=1))
        assert [note.channel for note in notes] == ["gradestack_outbox"]
    assert SOURCE.splitlines()[1] in roll.old.get(browser, f"/submissions/{submission_id}").text

    with roll.sessions() as session:
        row = session.get(Submission, submission_id)
        assert row is not None
        assert (row.user_id, row.problem_id, row.language, row.state) == (None, "aplusb", "python3", "queued")
        outbox = session.scalars(select(OutboxMessage).where(OutboxMessage.submission_id == submission_id)).one()
        assert outbox.sent_at is None
        # The new release's publisher sends the old release's payload as it stands.
        request = GradingRequest.from_json(outbox.payload)
        assert (request.submission_id, request.problem_id, request.source) == (submission_id, "aplusb", SOURCE)

    # No owner: only staff see it in the new release.
    _create_user(roll, "rollstaff", staff=True)
    _create_user(roll, "rollcontestant")
    staff = _log_in(roll.new, "rollstaff")
    page = roll.new.get(staff, f"/submissions/{submission_id}").text
    assert "print(a + b)" in page
    assert submission_id in roll.new.get(staff, "/submissions").text
    roll.new.get(_log_in(roll.new, "rollcontestant"), f"/submissions/{submission_id}", status=404)
    roll.new.get(roll.new.browser(), f"/submissions/{submission_id}", status=404)


def test_rows_the_new_release_writes_do_not_break_the_old_one(roll):
    _create_user(roll, "rollauthor")
    _create_user(roll, "rolladmin", staff=True)
    author = _log_in(roll.new, "rollauthor")
    submitted = roll.new.post_form(
        author, "/problems/aplusb", "/problems/aplusb/submit", language="python3", source=SOURCE
    )
    submission_id = _submitted_id(roll.new, submitted)
    roll.new.get(author, f"/submissions/{submission_id}")
    admin = _log_in(roll.new, "rolladmin")
    hidden = roll.new.post_form(admin, "/problems/secret", "/problems/secret/visibility", hidden="1")
    assert hidden.status_code == 303, hidden.text
    roll.new.get(author, "/problems/secret", status=404)

    with roll.sessions() as session:
        row = session.get(Submission, submission_id)
        assert row is not None and row.user_id is not None
        assert session.scalars(select(OutboxMessage).where(OutboxMessage.submission_id == submission_id)).one()

    # An old host, still in the pool, reads those rows without a 500. It knows neither
    # owners nor hidden problems (README: what a roll shows while old hosts serve).
    browser = roll.old.browser()
    assert "Kept for the contest" in roll.old.get(browser, "/").text
    roll.old.get(browser, "/problems/secret")
    assert submission_id in roll.old.get(browser, "/submissions").text
    roll.old.get(browser, f"/submissions/{submission_id}")
    assert json.loads(roll.old.get(browser, "/health").text) == {"status": "ok"}


def test_a_form_from_one_release_posts_to_the_other(roll):
    # Behind the load balancer one browser meets both releases under one host name: the
    # session cookie (one name, one SECRET_KEY) carries the CSRF token across them.
    _create_user(roll, "rollcrossing")
    browser = _log_in(roll.new, "rollcrossing")
    token = CSRF.search(roll.old.get(browser, "/problems/aplusb").text)
    assert token, "the old release's form has no CSRF token"
    submitted = browser.post(
        roll.new.url + "/problems/aplusb/submit",
        data={"csrf_token": token.group(1), "language": "python3", "source": SOURCE},
        allow_redirects=False,
        timeout=30,
    )
    submission_id = _submitted_id(roll.new, submitted)
    with roll.sessions() as session:
        row = session.get(Submission, submission_id)
        assert row is not None and row.user_id is not None, "the new release kept the login the old one passed on"


def test_neither_release_logged_a_traceback(roll):
    # Last in the module: every request above has been served by then.
    for release in (roll.old, roll.new):
        log = release.log.read_text()
        assert "Traceback" not in log, f"{release.name}:\n{log}"
        assert TEST_SECRET not in log
        assert roll.database.password not in log
