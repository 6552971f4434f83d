"""The web app against a real PostgreSQL: pages, API, bad input, CSRF, escaping, headers, rate limits."""

from __future__ import annotations

import re
import urllib.request

import boto3
import pytest
from gradestack_protocol.messages import REQUEST_QUEUE, GradingRequest, GradingResult, TestResult
from gradestack_web import migrate
from gradestack_web.app import create_app
from gradestack_web.config import Settings
from gradestack_web.consumer import apply_result
from gradestack_web.models import OutboxMessage, Problem, Submission
from gradestack_web.problems_loader import load_directory
from sqlalchemy import func, select

from .webhelp import as_user, log_in

pytestmark = pytest.mark.usefixtures("clean_tables")

GOOD = {"problem_id": "aplusb", "language": "python3", "source": "print(sum(map(int, input().split())))\n"}


def counts(sessions) -> tuple[int, int]:
    with sessions() as session:
        return (
            session.scalar(select(func.count()).select_from(Submission)),
            session.scalar(select(func.count()).select_from(OutboxMessage)),
        )


def csrf_from(page: str) -> str:
    match = re.search(r'name="csrf_token" value="([^"]+)"', page)
    assert match, "the problem page has no CSRF token field"
    return match.group(1)


def test_health_needs_no_database(db_env):
    # The ALB's check must stay green while the database blips; readiness must not.
    env = {**db_env, "DATABASE_PORT": "1", "DATABASE_CONNECT_TIMEOUT": "1", "SECRET_KEY": "x" * 32}
    app = create_app(Settings.from_env(env), environ=env)
    client = app.test_client()
    health = client.get("/health")
    assert health.status_code == 200
    assert health.json == {"status": "ok"}
    ready = client.get("/health/ready")
    assert ready.status_code == 503
    assert ready.json["checks"]["database"].startswith("error")
    assert ready.json["checks"]["broker"].startswith("error")


def test_pages_render(make_app):
    client = make_app().test_client()
    index = client.get("/")
    assert index.status_code == 200
    assert index.content_type.startswith("text/html")
    assert "A plus B" in index.text
    problem = client.get("/problems/aplusb")
    assert problem.status_code == 200
    assert '<option value="python3"' in problem.text
    assert "<strong>a+b</strong>" in problem.text  # the statement's Markdown subset
    csrf_from(problem.text)
    listing = client.get("/submissions")
    assert listing.status_code == 200
    assert "<h1>Recent submissions</h1>" in listing.text
    assert '<p class="empty">No submissions yet.</p>' in listing.text  # each test starts with no submission
    missing = client.get("/problems/nope")
    assert missing.status_code == 404
    assert "there is no problem &#39;nope&#39;" in missing.text


def test_security_headers(make_app):
    response = make_app().test_client().get("/")
    assert "script-src 'self'" in response.headers["Content-Security-Policy"]
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["X-Frame-Options"] == "DENY"


def test_api_submission_writes_submission_and_outbox_together(make_app, sessions, contestant):
    client = as_user(make_app(), contestant)
    response = client.post("/api/submissions", json=GOOD)
    assert response.status_code == 201, response.json
    body = response.json
    assert body["user"] == "contestant"
    assert body["state"] == "queued"
    assert body["final"] is False
    assert response.headers["Location"] == f"/api/submissions/{body['id']}"
    with sessions() as session:
        outbox = session.scalars(select(OutboxMessage)).all()
    assert len(outbox) == 1
    assert outbox[0].destination == REQUEST_QUEUE
    request = GradingRequest.from_json(outbox[0].payload)
    assert (request.submission_id, request.problem_id, request.language) == (body["id"], "aplusb", "python3")
    assert request.source == GOOD["source"]
    polled = client.get(f"/api/submissions/{body['id']}")
    assert polled.status_code == 200
    assert polled.json["state"] == "queued"
    assert client.get("/api/problems").json["problems"][0]["id"] == "aplusb"


def test_form_submission_with_csrf_redirects_to_status_page(make_app, sessions, contestant):
    client = make_app().test_client()
    log_in(client, contestant.username)
    token = csrf_from(client.get("/problems/aplusb").text)
    response = client.post(
        "/problems/aplusb/submit", data={"csrf_token": token, "language": "python3", "source": GOOD["source"]}
    )
    assert response.status_code == 303
    page = client.get(response.headers["Location"])
    assert page.status_code == 200
    assert 'id="state" class="state-queued"' in page.text
    assert counts(sessions) == (1, 1)
    # The recent submissions list shows it: its link (it is ours), problem, user, language and state.
    submission_id = response.headers["Location"].rsplit("/", 1)[1]
    listing = client.get("/submissions")
    assert listing.status_code == 200
    row = re.search(
        r"<tr>\s*<td><a href=\"/submissions/([^\"]+)\"><code>([^<]+)</code></a></td>(.*?)</tr>", listing.text, re.S
    )
    assert row, listing.text
    assert row.group(1) == submission_id and row.group(2) == submission_id[:12]
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", row.group(3))
    assert cells[:4] == ["aplusb", "contestant", "python3", "queued"], cells
    assert GOOD["source"].strip() not in listing.text  # never a source in the list


def test_form_upload(make_app, sessions, tmp_path, contestant):
    client = make_app().test_client()
    log_in(client, contestant.username)
    token = csrf_from(client.get("/problems/aplusb").text)
    source = tmp_path / "sol.py"
    source.write_text(GOOD["source"])
    with source.open("rb") as handle:
        response = client.post(
            "/problems/aplusb/submit",
            data={"csrf_token": token, "language": "python3", "source": "", "file": (handle, "sol.py")},
            content_type="multipart/form-data",
        )
    assert response.status_code == 303
    with sessions() as session:
        assert session.scalars(select(Submission.source)).one() == GOOD["source"]


BAD_API_INPUTS = [
    pytest.param({**GOOD, "source": "x" * 65537}, 413, "limit is 65536 bytes", id="oversize-source"),
    pytest.param({**GOOD, "language": "cobol"}, 400, "unknown language 'cobol'", id="unknown-language"),
    pytest.param({**GOOD, "problem_id": "no-such"}, 404, "unknown problem 'no-such'", id="unknown-problem"),
    pytest.param({**GOOD, "source": "   "}, 400, "source is empty", id="empty-source"),
    pytest.param({"problem_id": "aplusb", "language": "python3"}, 400, "'source' is required", id="missing-field"),
    pytest.param({**GOOD, "language": 3}, 400, "'language' is required and must be a string", id="wrong-type"),
]


@pytest.mark.parametrize(("payload", "status", "message"), BAD_API_INPUTS)
def test_api_bad_input_is_refused_and_creates_nothing(make_app, sessions, contestant, *, payload, status, message):
    response = as_user(make_app(), contestant).post("/api/submissions", json=payload)
    assert response.status_code == status
    assert message in response.json["error"]
    assert counts(sessions) == (0, 0)


def test_api_malformed_json_and_wrong_content_type(make_app, sessions, contestant):
    client = as_user(make_app(), contestant)
    broken = client.post("/api/submissions", data='{"problem_id": "aplusb",', content_type="application/json")
    assert broken.status_code == 400
    assert "the body is not valid JSON (Expecting" in broken.json["error"]
    array = client.post("/api/submissions", json=[GOOD])
    assert array.status_code == 400
    assert "must be a JSON object" in array.json["error"]
    form = client.post("/api/submissions", data=GOOD)
    assert form.status_code == 415
    assert "application/json" in form.json["error"]
    huge = client.post("/api/submissions", data="x" * 400_000, content_type="application/json")
    assert huge.status_code == 413
    assert "too large" in huge.json["error"]
    assert counts(sessions) == (0, 0)


def test_form_bad_input_shows_the_error_and_creates_nothing(make_app, sessions, contestant):
    client = make_app().test_client()
    log_in(client, contestant.username)
    token = csrf_from(client.get("/problems/aplusb").text)
    missing_csrf = client.post("/problems/aplusb/submit", data={"language": "python3", "source": GOOD["source"]})
    assert missing_csrf.status_code == 400
    assert "CSRF" in missing_csrf.text
    assert GOOD["source"].strip() in missing_csrf.text  # the form keeps what was typed
    wrong_csrf = client.post(
        "/problems/aplusb/submit", data={"csrf_token": "forged", "language": "python3", "source": GOOD["source"]}
    )
    assert wrong_csrf.status_code == 400
    assert "the form expired or was not sent by this site (missing CSRF token)" in wrong_csrf.text
    assert GOOD["source"].strip() in wrong_csrf.text
    oversize = client.post(
        "/problems/aplusb/submit", data={"csrf_token": token, "language": "python3", "source": "x" * 70000}
    )
    assert oversize.status_code == 413
    assert "the limit is 65536 bytes" in oversize.text
    language = client.post("/problems/aplusb/submit", data={"csrf_token": token, "language": "bf", "source": "+"})
    assert language.status_code == 400
    assert "unknown language" in language.text
    unknown = client.post("/problems/zzz/submit", data={"csrf_token": token, "language": "c", "source": "int main;"})
    assert unknown.status_code == 404
    assert "there is no problem &#39;zzz&#39;" in unknown.text
    assert counts(sessions) == (0, 0)


def test_user_strings_are_escaped(make_app, sessions, contestant):
    client = as_user(make_app(), contestant)
    evil = "</pre><script>alert(1)</script><img src=x onerror=alert(2)>"
    created = client.post("/api/submissions", json={**GOOD, "source": evil}).json
    with sessions() as session, session.begin():
        apply_result(
            session,
            GradingResult(
                submission_id=created["id"],
                problem_id="aplusb",
                state="done",
                verdict="CE",
                compile_output="error: <b>bad</b> & <script>x()</script>",
                tests=(TestResult(name="01", verdict="WA", detail="<i>expected</i>", visible=True),),
            ),
        )
    page = client.get(created["url"]).text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;/pre&gt;&lt;script&gt;alert(1)&lt;/script&gt;" in page
    assert "&lt;b&gt;bad&lt;/b&gt; &amp; &lt;script&gt;x()&lt;/script&gt;" in page
    assert "&lt;i&gt;expected&lt;/i&gt;" in page
    assert "<script" not in page.replace('<script src="/static/status.js"', "")
    reflected = client.get("/problems/%3Cscript%3Ealert(1)%3C%2Fscript%3E")
    assert reflected.status_code == 404
    assert "<script>alert(1)" not in reflected.text


def test_rate_limit_per_user_and_trusted_proxies(make_app, sessions, make_user):
    alice, bob = make_user("alice"), make_user("bob")
    app = make_app(RATE_LIMIT_SUBMISSIONS="2", RATE_LIMIT_WINDOW_SECONDS="600")
    limited = as_user(app, alice)
    for _ in range(2):
        assert limited.post("/api/submissions", json=GOOD).status_code == 201
    refused = limited.post("/api/submissions", json=GOOD, headers={"X-Forwarded-For": "203.0.113.9"})
    assert refused.status_code == 429, "a user must not escape the limit by changing address"
    assert int(refused.headers["Retry-After"]) > 0
    assert "too many submissions from your account" in refused.json["error"]
    # The same form session is limited too: the limit is the account's, whatever the channel.
    browser = app.test_client()
    log_in(browser, "alice")
    token = re.search(r'name="csrf_token" value="([^"]+)"', browser.get("/problems/aplusb").text).group(1)
    form = browser.post(
        "/problems/aplusb/submit", data={"csrf_token": token, "language": "python3", "source": GOOD["source"]}
    )
    assert form.status_code == 429
    # Another user from the same address has a budget of their own.
    assert as_user(app, bob).post("/api/submissions", json=GOOD).status_code == 201
    assert counts(sessions) == (3, 3)

    # Behind a configured proxy, the recorded client address is the forwarded one.
    proxied = as_user(make_app(RATE_LIMIT_ENABLED="false", TRUSTED_PROXIES="127.0.0.1/32"), bob)
    response = proxied.post("/api/submissions", json=GOOD, headers={"X-Forwarded-For": "10.9.9.9, 198.51.100.1"})
    assert response.status_code == 201
    with sessions() as session:
        ips = set(session.scalars(select(Submission.client_ip)))
    assert ips == {"127.0.0.1", "198.51.100.1"}


def _finished_with_artifact(client, sessions, s3, bucket: str) -> tuple[dict, str]:
    created = client.post("/api/submissions", json=GOOD).json
    prefix = f"results/{created['id']}/"
    s3.put_object(Bucket=bucket, Key=prefix + "report.json", Body=b'{"verdict": "AC"}')
    with sessions() as session, session.begin():
        apply_result(
            session,
            GradingResult(
                submission_id=created["id"], problem_id="aplusb", state="done", verdict="AC", artifacts_prefix=prefix
            ),
        )
    return created, prefix


def test_artifacts_go_through_the_app(make_app, sessions, moto_server, monkeypatch, make_user):
    for key, value in moto_server.client_env().items():
        monkeypatch.setenv(key, value)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="web-artifacts", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
    alice, bob, staff = make_user("alice"), make_user("bob"), make_user("judge", staff=True)

    # AWS: the app authorizes, then redirects to a short-lived presigned URL.
    redirecting = make_app(GRADING_BUCKET="web-artifacts", ARTIFACT_URL_SECONDS="120", ARTIFACT_DELIVERY="redirect")
    created, prefix = _finished_with_artifact(as_user(redirecting, alice), sessions, s3, "web-artifacts")
    page = as_user(redirecting, alice).get(created["url"]).text
    match = re.search(r'<a href="([^"]+)" rel="noopener noreferrer">report.json</a>', page)
    assert match, page
    link = match.group(1)
    assert link == f"/submissions/{created['id']}/artifacts/report.json", "links lead to the app, never to S3"
    redirect = as_user(redirecting, alice).get(link)
    assert redirect.status_code == 302
    presigned = redirect.headers["Location"]
    assert presigned.startswith(moto_server.endpoint + "/web-artifacts/" + prefix + "report.json?")
    assert "X-Amz-Expires=120" in presigned and "X-Amz-Signature=" in presigned
    with urllib.request.urlopen(presigned, timeout=10) as response:  # noqa: S310 (moto on loopback)
        assert response.read() == b'{"verdict": "AC"}'
    assert as_user(redirecting, bob).get(link).status_code == 404
    assert redirecting.test_client().get(link).status_code == 404  # anonymous
    assert as_user(redirecting, staff).get(link).status_code == 302
    assert as_user(redirecting, alice).get(link.replace("report.json", "summary.json")).status_code == 404

    # Local: the app streams the object itself (the S3 stand-in is not reachable from browsers).
    streaming = make_app(GRADING_BUCKET="web-artifacts", ARTIFACT_DELIVERY="stream")
    streamed = as_user(streaming, alice).get(link)
    assert streamed.status_code == 200
    assert streamed.data == b'{"verdict": "AC"}'
    assert streamed.headers["Content-Type"] == "application/octet-stream"
    assert streamed.headers["Content-Disposition"] == 'attachment; filename="report.json"'
    assert streamed.headers["Cache-Control"] == "private, no-store"
    assert as_user(streaming, bob).get(link).status_code == 404
    assert as_user(streaming, staff).get(link).data == b'{"verdict": "AC"}'


def test_migrate_and_load_problems_are_idempotent(engine, sessions, problems_dir):
    head = migrate.head_revision()
    assert migrate.upgrade(engine) == (head, head)
    with sessions() as session, session.begin():
        session.get(Problem, "aplusb").hidden = True
    with sessions() as session, session.begin():
        assert load_directory(session, problems_dir) == ["aplusb"]
    with sessions() as session:
        assert session.scalar(select(func.count()).select_from(Problem)) == 1
        assert session.get(Problem, "aplusb").hidden is True, "reloading problems must not unhide one"


def test_session_cookie_secure_follows_the_scheme(make_app):
    def cookie(app, **headers) -> str:
        return app.test_client().get("/problems/aplusb", headers=headers).headers["Set-Cookie"]

    auto = make_app(TRUSTED_PROXIES="127.0.0.1/32")
    assert "Secure" not in cookie(auto)
    assert "HttpOnly" in cookie(auto)
    assert "SameSite=Lax" in cookie(auto)
    assert "Secure" in cookie(auto, **{"X-Forwarded-Proto": "https"})
    untrusted = make_app(TRUSTED_PROXIES="10.0.0.0/8")
    assert "Secure" not in cookie(untrusted, **{"X-Forwarded-Proto": "https"})
    assert "Secure" in cookie(make_app(SESSION_COOKIE_SECURE="true"))


def test_hsts_only_over_https_from_a_trusted_proxy(make_app):
    def hsts(app, **headers) -> str | None:
        return app.test_client().get("/problems/aplusb", headers=headers).headers.get("Strict-Transport-Security")

    proxied = make_app(TRUSTED_PROXIES="127.0.0.1/32")
    assert hsts(proxied, **{"X-Forwarded-Proto": "https"}) == "max-age=31536000"
    assert hsts(proxied) is None, "plain HTTP (dev, local) must never pin a browser to HTTPS"
    assert hsts(proxied, **{"X-Forwarded-Proto": "http"}) is None
    untrusted = make_app(TRUSTED_PROXIES="10.0.0.0/8")
    assert hsts(untrusted, **{"X-Forwarded-Proto": "https"}) is None
    assert hsts(make_app(TRUSTED_PROXIES="127.0.0.1/32", HSTS_MAX_AGE="600"), **{"X-Forwarded-Proto": "https"}) == (
        "max-age=600"
    )
    assert hsts(make_app(TRUSTED_PROXIES="127.0.0.1/32", HSTS_MAX_AGE="0"), **{"X-Forwarded-Proto": "https"}) is None
