"""The WSGI entry point under the real gunicorn, as the web role runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from testsupport.ports import free_port, wait_for_port

from .conftest import TEST_SECRET

pytestmark = pytest.mark.slow

GUNICORN = Path(sys.executable).parent / "gunicorn"


def gunicorn(env: dict[str, str], port: int, log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [str(GUNICORN), "--bind", f"127.0.0.1:{port}", "--workers", "2", "--timeout", "30", "gradestack_web.wsgi:app"],
        env={"PATH": os.environ["PATH"], **env},
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )


def wait_for_health(url: str, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while True:
        assert process.poll() is None, "gunicorn exited"
        try:
            with urllib.request.urlopen(url, timeout=10) as health:  # noqa: S310  (loopback URL built above)
                assert health.status == 200
                assert json.loads(health.read()) == {"status": "ok"}
                return
        except (OSError, urllib.error.URLError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def test_gunicorn_serves_the_app(engine, db_env, tmp_path):
    port = free_port()
    process = gunicorn({**db_env, "SECRET_KEY": TEST_SECRET, "GRADESTACK_ENV": "production"}, port, tmp_path / "g.log")
    try:
        wait_for_port(port, timeout=60, process=process)
        # The master listens before its workers have imported the app: wait for the app to answer.
        wait_for_health(f"http://127.0.0.1:{port}/health", process)
        # What the deployment guide's verification does: `curl -I http://$ALB_DNS` -> 200 text/html.
        head = urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/", method="HEAD"), timeout=30)
        assert head.status == 200
        assert head.headers["Content-Type"].startswith("text/html")
    finally:
        process.terminate()
        process.wait(timeout=30)
    log = (tmp_path / "g.log").read_text()
    assert TEST_SECRET not in log
    assert db_env["DATABASE_PASSWORD"] not in log


def test_gunicorn_refuses_to_start_without_a_secret_key(db_env, tmp_path):
    process = gunicorn({**db_env, "GRADESTACK_ENV": "production"}, free_port(), tmp_path / "g.log")
    assert process.wait(timeout=60) != 0
    assert "SECRET_KEY is missing, a placeholder or shorter than 16 characters" in (tmp_path / "g.log").read_text()
