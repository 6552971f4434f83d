"""Accounts and access control against a real PostgreSQL: sessions, tokens, ownership, staff, limits."""

from __future__ import annotations

import io
import re

import pytest
from gradestack_protocol.messages import GradingRequest, GradingResult, TestResult
from gradestack_web import accounts, cli
from gradestack_web.consumer import apply_result
from gradestack_web.models import ApiToken, OutboxMessage, Problem, Submission, User
from sqlalchemy import func, select, text

from .webhelp import PASSWORD, as_user, log_in

pytestmark = pytest.mark.usefixtures("clean_tables")

GOOD = {"problem_id": "aplusb", "language": "python3", "source": "print(sum(map(int, input().split())))\n"}


def csrf(client, path: str = "/") -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert match, f"{path} has no CSRF token"
    return match.group(1)


def submit_as(app, account) -> str:
    response = as_user(app, account).post("/api/submissions", json=GOOD)
    assert response.status_code == 201, response.json
    return response.json["id"]


def finish(sessions, submission_id: str, verdict: str = "WA") -> None:
    with sessions() as session, session.begin():
        apply_result(
            session,
            GradingResult(
                submission_id=submission_id,
                problem_id="aplusb",
                state="done",
                verdict=verdict,
                compile_output="warning: secret-ish compiler output",
                tests=(TestResult(name="01", verdict=verdict, detail="expected 3", visible=True),),
            ),
        )


def test_register_login_logout_and_change_password(make_app, sessions):
    client = make_app().test_client()
    token = csrf(client, "/register")
    form = {"csrf_token": token, "username": "carol", "password": PASSWORD, "password_again": PASSWORD}
    registered = client.post("/register", data=form)
    assert registered.status_code == 303
    cookie = registered.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and cookie.startswith("session=")
    assert 'id="account-link">carol</a>' in client.get("/").text
    taken = make_app().test_client()
    again = taken.post("/register", data={**form, "csrf_token": csrf(taken, "/register"), "username": "Carol"})
    assert again.status_code == 400
    assert "not available" in again.text

    # Only a scrypt hash is stored, never the password.
    with sessions() as session:
        stored = session.scalars(select(User.password_hash)).one()
    assert stored.startswith("scrypt$") and PASSWORD not in stored

    client.post("/logout", data={"csrf_token": csrf(client)})
    assert 'id="login-link"' in client.get("/").text
    log_in(client, "carol")

    # Changing the password keeps this session and ends every other one.
    other = make_app().test_client()
    log_in(other, "carol")
    new = "a much better passphrase"
    changed = client.post(
        "/account/password",
        data={
            "csrf_token": csrf(client, "/account"),
            "current_password": PASSWORD,
            "new_password": new,
            "new_password_again": new,
        },
    )
    assert changed.status_code == 200 and "password changed" in changed.text
    assert 'id="account-link">carol</a>' in client.get("/").text
    assert 'id="login-link"' in other.get("/").text
    log_in(make_app().test_client(), "carol", new)
    wrong_current = client.post(
        "/account/password",
        data={"csrf_token": csrf(client, "/account"), "current_password": "nope", "new_password": new},
    )
    assert wrong_current.status_code == 400


def test_login_does_not_tell_unknown_accounts_apart(make_app, contestant, monkeypatch):
    app = make_app()
    verified = []
    real = accounts.verify_password
    monkeypatch.setattr(accounts, "verify_password", lambda pw, stored: verified.append(stored) or real(pw, stored))

    def attempt(username: str):
        client = app.test_client()
        return client.post(
            "/login", data={"csrf_token": csrf(client, "/login"), "username": username, "password": "wrong password"}
        )

    unknown, wrong = attempt("nobody-here"), attempt(contestant.username)
    assert unknown.status_code == wrong.status_code == 401
    message = "wrong username or password"
    assert message in unknown.text and message in wrong.text

    def normalized(page: str, username: str) -> str:
        return re.sub(r'name="csrf_token" value="[^"]+"', "", page).replace(username, "X")

    assert normalized(unknown.text, "nobody-here") == normalized(wrong.text, contestant.username)
    # An unknown name costs a full scrypt verification too (against a dummy hash), so timing
    # does not reveal which accounts exist.
    assert len(verified) == 2 and all(stored.startswith("scrypt$") for stored in verified)


def test_login_is_rate_limited_per_account_and_per_address(make_app, contestant):
    app = make_app(LOGIN_RATE_LIMIT_ATTEMPTS="3", LOGIN_RATE_LIMIT_WINDOW_SECONDS="600", TRUSTED_PROXIES="127.0.0.1")

    def attempt(username: str, password: str, address: str):
        client = app.test_client()
        headers = {"X-Forwarded-For": address}
        token = csrf(client, "/login")
        return client.post(
            "/login", data={"csrf_token": token, "username": username, "password": password}, headers=headers
        )

    # Per account: guesses from many addresses still exhaust the account's budget ...
    for i in range(3):
        assert attempt(contestant.username, "guess", f"198.51.100.{i}").status_code == 401
    locked = attempt(contestant.username, PASSWORD, "198.51.100.99")
    assert locked.status_code == 429 and int(locked.headers["Retry-After"]) > 0
    # ... the same answer for an account that does not exist (no enumeration through the limit).
    for i in range(3):
        attempt("ghost-user", "guess", f"203.0.113.{i}")
    assert attempt("ghost-user", "guess", "203.0.113.99").status_code == 429
    # Per address: one address trying many names is stopped too.
    for name in ("a-user", "b-user", "c-user"):
        assert attempt(name, "guess", "192.0.2.7").status_code == 401
    assert attempt("d-user", "guess", "192.0.2.7").status_code == 429


def test_submitting_needs_an_account(make_app, sessions):
    client = make_app().test_client()
    api = client.post("/api/submissions", json=GOOD)
    assert api.status_code == 401
    assert "Bearer" in api.headers["WWW-Authenticate"]
    page = client.get("/problems/aplusb").text
    assert 'id="login-to-submit"' in page
    form = client.post("/problems/aplusb/submit", data={"csrf_token": csrf(client, "/problems/aplusb"), **GOOD})
    assert form.status_code == 401 and "log in to submit" in form.text
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 0


def test_a_submission_is_its_authors_and_staffs_only(make_app, sessions, make_user):
    app = make_app()
    alice, bob, judge = make_user("alice"), make_user("bob"), make_user("judge", staff=True)
    sid = submit_as(app, alice)
    finish(sessions, sid)
    page, api = f"/submissions/{sid}", f"/api/submissions/{sid}"

    mine = as_user(app, alice).get(page)
    assert mine.status_code == 200 and "print(sum(" in mine.text and "expected 3" in mine.text
    assert mine.headers["Cache-Control"] == "private, no-store"
    assert as_user(app, alice).get(api).json["user"] == "alice"
    for client in (as_user(app, bob), app.test_client()):
        for path in (page, api):
            response = client.get(path)
            assert response.status_code == 404, path
            assert "print(sum(" not in response.text and "expected 3" not in response.text
    # Through a logged-in browser session as well as a token.
    browser = app.test_client()
    log_in(browser, "bob")
    assert browser.get(page).status_code == 404
    staff_page = as_user(app, judge).get(page)
    assert staff_page.status_code == 200 and "print(sum(" in staff_page.text
    assert as_user(app, judge).get(api).status_code == 200

    # The public list: problem, user, language, verdict, time, memory; no source, no link to others'.
    listing = as_user(app, bob).get("/submissions").text
    assert "alice" in listing and "WA" in listing
    assert "print(sum(" not in listing
    assert f'href="/submissions/{sid}"' not in listing
    assert f'href="/submissions/{sid}"' in as_user(app, alice).get("/submissions").text


def test_rows_from_before_accounts_are_staff_only(make_app, sessions, make_user, contestant):
    # A row as the previous release writes it (no user_id): expand-only schema, old inserts work.
    with sessions() as session, session.begin():
        session.execute(
            text(
                "INSERT INTO submissions (id, problem_id, language, source, tests) "
                "VALUES ('old0000000000000000000000000000', 'aplusb', 'python3', 'print(1)', '[]')"
            )
        )
    app = make_app()
    assert as_user(app, contestant).get("/submissions/old0000000000000000000000000000").status_code == 404
    judge = make_user("judge", staff=True)
    assert as_user(app, judge).get("/submissions/old0000000000000000000000000000").status_code == 200


def test_api_tokens_are_created_once_work_and_stop_when_revoked(make_app, sessions, contestant):
    app = make_app()
    browser = app.test_client()
    log_in(browser, contestant.username)
    created = browser.post("/account/tokens", data={"csrf_token": csrf(browser, "/account"), "name": "laptop"})
    assert created.status_code == 200
    token = re.search(r'<pre id="new-token">([^<]+)</pre>', created.text).group(1)
    assert token.startswith("gst_")
    assert token not in browser.get("/account").text, "a token is shown once only"
    with sessions() as session:
        hashes = set(session.scalars(select(ApiToken.token_hash)))
    assert token not in hashes and accounts.token_hash(token) in hashes  # only hashes in the database

    headers = {"Authorization": f"Bearer {token}"}
    client = app.test_client()
    assert client.post("/api/submissions", json=GOOD, headers=headers).status_code == 201
    wrong = client.post("/api/submissions", json=GOOD, headers={"Authorization": "Bearer gst_not-a-token"})
    assert wrong.status_code == 401 and "invalid_token" in wrong.headers["WWW-Authenticate"]
    basic = client.get("/api/problems", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert basic.status_code == 401
    page = client.get("/", headers={"Authorization": "Bearer gst_not-a-token"})  # an HTML error page
    assert page.status_code == 401 and "API token is missing, wrong or revoked" in page.text

    with sessions() as session:
        token_id = session.scalar(select(ApiToken.id).where(ApiToken.name == "laptop"))
    revoked = browser.post(f"/account/tokens/{token_id}/revoke", data={"csrf_token": csrf(browser, "/account")})
    assert revoked.status_code == 200 and "token revoked" in revoked.text
    assert client.post("/api/submissions", json=GOOD, headers=headers).status_code == 401
    # Someone else's token id cannot be revoked by this user.
    other = make_app().test_client()
    with sessions() as session, session.begin():
        stranger = accounts.create_user(session, "stranger", PASSWORD)
        row, _ = accounts.create_token(session, stranger, "theirs")
        their_id = row.id
    log_in(other, contestant.username)
    assert (
        other.post(f"/account/tokens/{their_id}/revoke", data={"csrf_token": csrf(other, "/account")}).status_code
        == 404
    )


def test_staff_rejudge_and_hide(make_app, sessions, make_user):
    app = make_app(RATE_LIMIT_ENABLED="false")
    alice, judge = make_user("alice"), make_user("judge", staff=True)
    first, second = submit_as(app, alice), submit_as(app, alice)
    finish(sessions, first)
    finish(sessions, second)

    contestant_browser = app.test_client()
    log_in(contestant_browser, "alice")
    token = csrf(contestant_browser)
    assert contestant_browser.post(f"/submissions/{first}/rejudge", data={"csrf_token": token}).status_code == 404
    assert (
        contestant_browser.post("/problems/aplusb/visibility", data={"csrf_token": token, "hidden": "1"}).status_code
        == 404
    )

    staff = app.test_client()
    log_in(staff, "judge")
    assert 'id="rejudge-button"' in staff.get(f"/submissions/{first}").text
    assert staff.post(f"/submissions/{first}/rejudge", data={}).status_code == 400  # CSRF as every form
    one = staff.post(f"/submissions/{first}/rejudge", data={"csrf_token": csrf(staff)})
    assert one.status_code == 303
    with sessions() as session:
        assert session.get(Submission, first).state == "queued" and session.get(Submission, first).verdict is None
        assert session.get(Submission, second).state == "done"
        requests = [GradingRequest.from_json(row.payload) for row in session.scalars(select(OutboxMessage))]
    assert [r.submission_id for r in requests].count(first) == 2  # the new grading request, through the outbox
    whole = staff.post("/problems/aplusb/rejudge", data={"csrf_token": csrf(staff)})
    assert whole.status_code == 303 and "rejudged=2" in whole.headers["Location"]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(OutboxMessage)) == 5
        assert set(session.scalars(select(Submission.state))) == {"queued"}

    # Hidden: invisible and unsubmittable for contestants, still there for staff.
    hidden = staff.post("/problems/aplusb/visibility", data={"csrf_token": csrf(staff), "hidden": "1"})
    assert hidden.status_code == 303
    assert "A plus B" not in contestant_browser.get("/").text
    assert contestant_browser.get("/problems/aplusb").status_code == 404
    assert as_user(app, alice).get("/api/problems").json["problems"] == []
    assert as_user(app, alice).get("/api/problems/aplusb").status_code == 404
    refused = as_user(app, alice).post("/api/submissions", json=GOOD)
    assert refused.status_code == 404 and "unknown problem 'aplusb'" in refused.json["error"]
    assert str(first[:12]) not in contestant_browser.get("/submissions").text
    assert "A plus B" in staff.get("/").text
    assert as_user(app, judge).post("/api/submissions", json=GOOD).status_code == 201
    with sessions() as session:
        assert session.get(Problem, "aplusb").hidden is True


def test_nul_bytes_are_a_clear_400(make_app, sessions, contestant):
    client = as_user(make_app(), contestant)
    for path in ("/problems/a%00b", "/api/problems/a%00b", "/submissions/x%00y", "/api/submissions/x%00y"):
        response = client.get(path)
        assert response.status_code == 400, path
        assert "NUL byte" in response.text
    for field in ("source", "problem_id", "language"):
        payload = {**GOOD, field: GOOD[field][:3] + "\x00" + GOOD[field][3:]}
        response = client.post("/api/submissions", json=payload)
        assert response.status_code == 400, field
        assert "NUL byte" in response.json["error"] and response.json["field"] == field
    browser = make_app().test_client()
    login = browser.post(
        "/login", data={"csrf_token": csrf(browser, "/login"), "username": "a\x00b", "password": "x\x00y"}
    )
    assert login.status_code == 401
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Submission)) == 0


def _cli(monkeypatch, capsys, argv: list[str], stdin: str = "") -> tuple[int, str, str]:
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    status = cli.main(argv)
    out, err = capsys.readouterr()
    return status, out, err


def test_cli_creates_the_first_staff_account_and_the_verifier(db_env, monkeypatch, capsys, sessions, tmp_path):
    for key, value in {**db_env, "SECRET_KEY": "cli-secret-0123456789abcdef"}.items():
        monkeypatch.setenv(key, value)
    argv = ["create-user", "--staff", "--username", "admin", "--password-stdin"]
    assert _cli(monkeypatch, capsys, argv, PASSWORD + "\n")[:2] == (0, "created staff account admin\n")
    assert _cli(monkeypatch, capsys, argv, PASSWORD + "\n")[:2] == (0, "account admin already exists: nothing to do\n")
    short = _cli(monkeypatch, capsys, ["create-user", "--username", "shorty", "--password-stdin"], "short\n")
    assert short[0] == 2 and "10 to 1024 characters" in short[2]
    with sessions() as session:
        admin = session.scalar(select(User).where(User.username == "admin"))
        assert admin.is_staff and accounts.verify_password(PASSWORD, admin.password_hash)

    secret = tmp_path / "verify_api_token"
    secret.write_text("verify-token-0123456789abcdefghij\n")
    ensure = [
        "ensure-token",
        "--username",
        "gradestack-verifier",
        "--token-name",
        "verify",
        "--token-file",
        str(secret),
    ]
    status, out, _ = _cli(monkeypatch, capsys, ensure)
    assert status == 0 and "account created" in out and "token installed" in out
    status, out, _ = _cli(monkeypatch, capsys, ensure)
    assert (status, out) == (0, "account gradestack-verifier already holds the token: nothing to do\n")
    secret.write_text("rotated-token-0123456789abcdefghij\n")
    status, out, _ = _cli(monkeypatch, capsys, ensure)
    assert status == 0 and "1 other token(s) revoked" in out and "token installed" in out
    with sessions() as session:
        verifier = session.scalar(select(User).where(User.username == "gradestack-verifier"))
        live = session.scalars(select(ApiToken.token_hash).where(ApiToken.revoked_at.is_(None))).all()
    assert not verifier.is_staff
    assert live == [accounts.token_hash("rotated-token-0123456789abcdefghij")]
