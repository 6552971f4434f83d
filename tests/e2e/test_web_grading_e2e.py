"""End to end: the web app (gunicorn), its outbox publisher and results consumer, the REAL
grading worker, ActiveMQ, PostgreSQL and moto S3, all as separate processes.

An accepted and a wrong solution go in through the JSON API (with a personal API token) and
come back with their final verdicts; a headless Chromium (Debian's, driven by Playwright)
registers, submits through the form, sees the verdict on the submission page and opens an
artifact, while a second browser context, another user, cannot open either; screenshots of both.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from html import unescape as html_unescape
from pathlib import Path

import boto3
import pytest

from testsupport.activemq import start_activemq
from testsupport.ports import free_port, wait_for_port

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
WORKER = REPO / "services" / "grading" / "grading_worker.py"
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PROBLEM_ID = "e2e-sum"
AC_SOURCE = "a, b = map(int, input().split())\nprint(a + b)\n"
WA_SOURCE = "a, b = map(int, input().split())\nprint(a - b)\n"
VERDICT_TIMEOUT = 180  # a liveness bound for a shared 2-core machine, not a performance assertion


def write_problem(root: Path) -> Path:
    directory = root / PROBLEM_ID
    (directory / "tests").mkdir(parents=True)
    meta = {
        "id": PROBLEM_ID,
        "title": "Sum of two integers",
        "time_limit_ms": 2000,
        "memory_limit_mb": 256,
        "output_limit_kb": 64,
        "checker": "token",
    }
    (directory / "problem.json").write_text(json.dumps(meta, indent=2))
    (directory / "statement.md").write_text("# Sum\n\nRead two integers `a` and `b`; print `a + b`.\n")
    for number, (a, b) in enumerate([(1, 2), (-5, 12), (1000000, 2345678)], start=1):
        (directory / "tests" / f"{number:02d}.in").write_text(f"{a} {b}\n")
        (directory / "tests" / f"{number:02d}.out").write_text(f"{a + b}\n")
    return directory


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """Show a redirect to the test instead of following it (with our Authorization header)."""

    def redirect_request(self, req, fp, code, msg, headers, newurl):  # noqa: PLR0917 (urllib's signature)
        return None


_NO_REDIRECT = urllib.request.build_opener(_NoRedirect)


@dataclass
class Stack:
    base_url: str
    workdir: Path
    env: dict[str, str]
    token: str = ""
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    def logs(self, tail: int | None = 2000) -> str:
        parts = []
        for name in self.processes:
            path = self.workdir / f"{name}.log"
            if path.exists():
                text = path.read_text(errors="replace")
                parts.append(f"--- {name} ---\n{text[-tail:] if tail else text}")
        return "\n".join(parts)

    def start(self, name: str, argv: list[str], extra_env: dict[str, str] | None = None) -> subprocess.Popen:
        log = (self.workdir / f"{name}.log").open("wb")
        process = subprocess.Popen(
            argv, env={**self.env, **(extra_env or {})}, cwd=REPO, stdout=log, stderr=subprocess.STDOUT
        )
        log.close()
        self.processes[name] = process
        return process

    def check_alive(self) -> None:
        dead = {name: p.returncode for name, p in self.processes.items() if p.poll() is not None}
        assert not dead, f"processes exited early: {dead}\n{self.logs()}"

    def get(self, path: str, token: str | None = None) -> tuple[int, dict[str, str], bytes]:
        """GET without following redirects; ``token`` defaults to the stack's API token ("" for none)."""
        token = self.token if token is None else token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        request = urllib.request.Request(self.base_url + path, headers=headers)  # noqa: S310  (loopback)
        try:
            with _NO_REDIRECT.open(request, timeout=30) as response:
                return response.status, dict(response.headers), response.read()
        except urllib.error.HTTPError as exc:
            return exc.code, dict(exc.headers), exc.read()

    def api(self, method: str, path: str, body: dict | None = None) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        request = urllib.request.Request(  # noqa: S310  (our loopback server)
            self.base_url + path, data=data, method=method, headers=headers
        )
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  (our loopback server)
                return response.status, json.loads(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"{}")

    def wait_final(self, submission_id: str) -> dict:
        deadline = time.monotonic() + VERDICT_TIMEOUT
        body: dict = {}
        while time.monotonic() < deadline:
            self.check_alive()
            status, body = self.api("GET", f"/api/submissions/{submission_id}")
            assert status == 200, body
            if body["final"]:
                return body
            time.sleep(0.5)
        raise AssertionError(f"{submission_id} not final after {VERDICT_TIMEOUT}s: {body}\n{self.logs()}")

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                process.terminate()
        for process in self.processes.values():
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def upload_problem(s3, bucket: str, directory: Path) -> None:
    for path in sorted(directory.rglob("*")):
        if path.is_file():
            s3.upload_file(str(path), bucket, f"problems/{directory.name}/{path.relative_to(directory).as_posix()}")


@pytest.fixture(scope="module")
def stack(tmp_path_factory, postgres_database, moto_server) -> Iterator[Stack]:
    if not WORKER.is_file():
        pytest.fail(f"the grading worker {WORKER} is missing: the end-to-end test needs the real worker")
    workdir = tmp_path_factory.mktemp("web-e2e")
    problem_dir = write_problem(workdir / "problems")

    # A private broker: this module's queues must not mix with other suites' messages.
    broker = start_activemq(workdir / "activemq")
    bucket = f"gradestack-e2e-{secrets.token_hex(4)}"
    aws_env = moto_server.client_env()
    s3 = boto3.client(
        "s3",
        endpoint_url=moto_server.endpoint,
        region_name=aws_env["AWS_REGION"],
        aws_access_key_id=aws_env["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=aws_env["AWS_SECRET_ACCESS_KEY"],
    )
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": aws_env["AWS_REGION"]})
    upload_problem(s3, bucket, problem_dir)

    port = free_port()
    env = {
        "PATH": f"{VENV_BIN}:/usr/local/bin:/usr/bin:/bin",
        # The services of this checkout, whatever checkout the venv's editable installs point at.
        "PYTHONPATH": os.pathsep.join(str(REPO / "services" / name) for name in ("web", "protocol", "grading")),
        "LANG": "C.UTF-8",
        "HOME": str(workdir),
        **postgres_database.env(),
        **broker.endpoints_env(),
        **aws_env,
        "GRADING_BUCKET": bucket,
        "GRADESTACK_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
        "TRUSTED_PROXIES": "127.0.0.1/32",
        "OUTBOX_POLL_SECONDS": "0.2",
    }
    stack = Stack(f"http://127.0.0.1:{port}", workdir, env, token=secrets.token_urlsafe(32))
    try:
        # The API client's account, made as the deploy makes the verifier's (token through stdin).
        api_account = ["ensure-token", "--username", "e2e-api", "--token-name", "e2e", "--token-stdin"]
        for argv, stdin in (
            (["migrate"], ""),
            (["load-problems", str(problem_dir.parent)], ""),
            (api_account, stack.token + "\n"),
        ):
            done = subprocess.run(
                [str(VENV_BIN / "gradestack-web"), *argv],
                env=env,
                input=stdin,
                capture_output=True,
                text=True,
                check=False,
            )
            assert done.returncode == 0, f"gradestack-web {argv}: {done.stdout}{done.stderr}"
        stack.start(
            "gunicorn",
            [str(VENV_BIN / "gunicorn"), "--bind", f"127.0.0.1:{port}", "--workers", "2", "gradestack_web.wsgi:app"],
        )
        stack.start("outbox", [str(VENV_BIN / "gradestack-web"), "publish-outbox"])
        stack.start("results", [str(VENV_BIN / "gradestack-web"), "consume-results"])
        stack.start(
            "worker",
            [sys.executable, str(WORKER)],
            {
                "WORKER_CONCURRENCY": "1",
                "HEALTH_HOST": "127.0.0.1",
                "HEALTH_PORT": str(free_port()),
                # Clear of the local environment's worker containers (20000+) and the grading tests' slots.
                "SANDBOX_UID_BASE": "39000",
                "PROBLEM_CACHE_DIR": str(workdir / "problem-cache"),
            },
        )
        wait_for_port(port, timeout=60, process=stack.processes["gunicorn"])
        yield stack
    finally:
        stack.stop()
        broker.stop()
    if os.environ.get("REPORTS_DIR"):
        target = Path(os.environ["REPORTS_DIR"]) / "web-e2e-logs"
        target.mkdir(parents=True, exist_ok=True)
        for log in workdir.glob("*.log"):
            shutil.copy(log, target / log.name)


def test_accepted_and_wrong_answer_reach_final_verdicts(stack: Stack):
    status, ready = stack.api("GET", "/health/ready")
    assert status == 200, ready
    assert ready["checks"] == {"database": "ok", "broker": "ok"}
    assert ready["outbox"]["unsent"] == 0
    created = {}
    for name, source in (("ac", AC_SOURCE), ("wa", WA_SOURCE)):
        status, body = stack.api(
            "POST", "/api/submissions", {"problem_id": PROBLEM_ID, "language": "python3", "source": source}
        )
        assert status == 201, body
        created[name] = body["id"]

    accepted = stack.wait_final(created["ac"])
    wrong = stack.wait_final(created["wa"])
    assert accepted["verdict"] == "AC", accepted
    assert [t["verdict"] for t in accepted["tests"]] == ["AC", "AC", "AC"]
    assert wrong["verdict"] == "WA", wrong
    assert "WA" in [t["verdict"] for t in wrong["tests"]]

    # The submission page links the worker's artifacts through the app, which authorizes the
    # request and then redirects to a short-lived presigned S3 URL (ARTIFACT_DELIVERY=redirect).
    status, _, page = stack.get(f"/submissions/{created['ac']}")
    assert status == 200
    html = page.decode()
    links = [html_unescape(u) for u in re.findall(r'<a href="(/[^"]+)" rel="noopener noreferrer">', html)]
    assert links, f"no artifact links on the page:\n{html}"
    assert all(link.startswith(f"/submissions/{created['ac']}/artifacts/") for link in links), links
    status, headers, _ = stack.get(links[0])
    assert status == 302, headers
    presigned = headers["Location"]
    assert "X-Amz-Signature=" in presigned and "X-Amz-Expires=" in presigned
    with urllib.request.urlopen(presigned, timeout=30) as artifact:  # noqa: S310  (moto on loopback)
        assert artifact.status == 200
    # Nobody else: neither anonymous nor another account gets the page, the status or the artifact.
    for path in (links[0], f"/submissions/{created['ac']}", f"/api/submissions/{created['ac']}"):
        assert stack.get(path, token="")[0] == 404, path

    # No process logged a secret.
    for name in ("MQ_PASSWORD", "DATABASE_PASSWORD", "SECRET_KEY"):
        assert stack.env[name] not in stack.logs(tail=None), f"{name} appears in a log"

    # Bad input through the real server: a clear 4xx, nothing queued.
    status, body = stack.api("POST", "/api/submissions", {"problem_id": PROBLEM_ID, "language": "rust", "source": "x"})
    assert status == 400
    assert "unknown language" in body["error"]


def _register(page, base_url: str, username: str, password: str) -> None:
    page.goto(f"{base_url}/register")
    page.fill("#username", username)
    page.fill("#password", password)
    page.fill("#password_again", password)
    page.click("#register-button")
    page.wait_for_selector("#account-link")
    assert page.inner_text("#account-link") == username


@pytest.mark.browser
def test_browser_submits_through_the_form_and_sees_the_verdict(stack: Stack, tmp_path: Path):
    if not Path(CHROMIUM).is_file():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (scripts/setup.sh installs it)")
    from playwright.sync_api import sync_playwright  # noqa: PLC0415  (only this test needs it)

    screenshot = tmp_path / "web-submission-verdict.png"
    denied_screenshot = tmp_path / "web-submission-other-user.png"
    password = secrets.token_urlsafe(16)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            owner = browser.new_context(viewport={"width": 1100, "height": 900})
            page = owner.new_page()
            # CSP violations and script errors show up as console errors: the pages must have none.
            console_errors: list[str] = []
            page.on("console", lambda msg: console_errors.append(msg.text) if msg.type == "error" else None)
            page.on("pageerror", lambda exc: console_errors.append(str(exc)))
            page.goto(f"{stack.base_url}/problems/{PROBLEM_ID}")
            assert page.is_visible("#login-to-submit"), "an anonymous visitor is asked to log in"
            _register(page, stack.base_url, "e2e-alice", password)
            page.goto(f"{stack.base_url}/")
            page.click(f"text={PROBLEM_ID}")
            page.wait_for_url(f"**/problems/{PROBLEM_ID}")
            assert page.inner_text("h1") == "Sum of two integers"
            page.select_option("#language", "python3")
            page.fill("#source", AC_SOURCE)
            page.click("#submit-button")
            page.wait_for_url("**/submissions/*")
            submission_url = page.url
            # status.js polls the API and reloads once the verdict is final. (A CSS selector, not a JS
            # predicate: the page's CSP forbids the eval that wait_for_function needs.)
            page.wait_for_selector("#state.state-done", timeout=VERDICT_TIMEOUT * 1000)
            verdict = page.inner_text("#verdict").strip()
            state = page.inner_text("#state").strip()
            author = page.inner_text("#author").strip()
            page.screenshot(path=str(screenshot), full_page=True)
            # The artifact, with this browser's session (the request context shares its cookies):
            # the app authorizes it and redirects to the presigned URL.
            artifact_href = page.get_attribute("#artifacts a", "href")
            assert artifact_href and artifact_href.startswith("/submissions/"), artifact_href
            artifact = page.request.get(stack.base_url + artifact_href)
            artifact_status, artifact_body = artifact.status, artifact.body()

            # Another user, in a second browser context (its own cookies): neither the page nor the artifact.
            other = browser.new_context(viewport={"width": 1100, "height": 900})
            intruder = other.new_page()
            _register(intruder, stack.base_url, "e2e-mallory", password)
            denied_page = intruder.goto(submission_url)
            denied_page_status = denied_page.status if denied_page else 0
            intruder.screenshot(path=str(denied_screenshot), full_page=True)
            denied_artifact_status = intruder.request.get(stack.base_url + artifact_href).status
            listing = intruder.goto(f"{stack.base_url}/submissions")
            listing_text = listing.text() if listing else ""
        finally:
            browser.close()
    assert (state, verdict, author) == ("done", "AC", "e2e-alice"), stack.logs()
    assert artifact_status == 200 and json.loads(artifact_body), artifact_body[:300]
    assert (denied_page_status, denied_artifact_status) == (404, 404)
    # The public list names the author and the verdict, never the source.
    assert "e2e-alice" in listing_text and "AC" in listing_text and "print(a + b)" not in listing_text
    assert console_errors == []
    assert screenshot.stat().st_size > 0 and denied_screenshot.stat().st_size > 0
    if os.environ.get("REPORTS_DIR"):
        reports = Path(os.environ["REPORTS_DIR"])
        reports.mkdir(parents=True, exist_ok=True)
        shutil.copy(screenshot, reports / screenshot.name)
        shutil.copy(denied_screenshot, reports / denied_screenshot.name)
