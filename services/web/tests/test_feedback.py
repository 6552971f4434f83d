"""The submission page and the JSON API show a hidden test's verdict, time and memory only.

Three ways hidden detail could reach a contestant, each closed here: a result message
that carries it (an older worker), a row stored before the feedback policy existed, and
artifact links (the pre-policy full ``summary.json``, the staff-only prefix).
"""

from __future__ import annotations

import json
import re

import boto3
import pytest
from gradestack_protocol.messages import GradingResult
from gradestack_web.consumer import apply_result
from gradestack_web.models import Submission

from .webhelp import as_user

pytestmark = pytest.mark.usefixtures("clean_tables")

GOOD = {"problem_id": "aplusb", "language": "python3", "source": "print(sum(map(int, input().split())))\n"}
SAMPLE_DETAIL = "token 1 differs: expected '3', got '4'"
HIDDEN_DETAILS = {
    "02": ("WA", "token 1 differs: expected '1999999999999999999', got '?'"),
    "03": ("RTE", "killed by SIGSEGV"),
    "04": ("IR", "exit code 3"),
}
LEAKS = ("1999999999999999999", "SIGSEGV", "exit code 3")


def _result_json(submission_id: str, with_flags: bool, prefix: str = "") -> str:
    """A done result as it arrives on grading.results; ``with_flags=False`` is a pre-policy worker's."""
    tests = [{"name": "01", "verdict": "WA", "time_ms": 3, "memory_kb": 900, "detail": SAMPLE_DETAIL}]
    tests += [
        {"name": name, "verdict": verdict, "time_ms": 5, "memory_kb": 1000, "detail": detail}
        for name, (verdict, detail) in HIDDEN_DETAILS.items()
    ]
    if with_flags:
        for test in tests:
            test["visible"] = test["name"] == "01"
    return json.dumps(
        {
            "schema": "gradestack.grading.result",
            "version": 1,
            "submission_id": submission_id,
            "problem_id": "aplusb",
            "state": "done",
            "verdict": "WA",
            "time_ms": 5,
            "memory_kb": 1000,
            "compile_output": "",
            "tests": tests,
            "artifacts_prefix": prefix,
            "worker": "w",
            "emitted_at": "2026-11-26T08:00:01Z",
        }
    )


def _assert_hidden(api: dict, page: str, hidden: int = 3) -> None:
    for leak in LEAKS:
        assert leak not in page, leak
        assert leak not in json.dumps(api), leak
    tests = {t["name"]: t for t in api["tests"]}
    for name, (verdict, _detail) in HIDDEN_DETAILS.items():
        assert (tests[name]["verdict"], tests[name]["detail"], tests[name]["visible"]) == (verdict, "", False)
        assert (tests[name]["time_ms"], tests[name]["memory_kb"]) == (5, 1000)
    assert page.count("hidden test") == hidden


def test_page_and_api_show_hidden_tests_verdict_only_and_samples_in_full(make_app, contestant, sessions):
    client = as_user(make_app(), contestant)
    created = client.post("/api/submissions", json=GOOD).json
    with sessions() as session, session.begin():
        apply_result(session, GradingResult.from_json(_result_json(created["id"], with_flags=True)))
    api = client.get(f"/api/submissions/{created['id']}").json
    page = client.get(created["url"]).text
    _assert_hidden(api, page)
    assert api["tests"][0]["detail"] == SAMPLE_DETAIL and api["tests"][0]["visible"] is True
    assert "token 1 differs: expected &#39;3&#39;, got &#39;4&#39;" in page


def test_a_pre_policy_worker_result_shows_no_detail(make_app, contestant, sessions):
    client = as_user(make_app(), contestant)
    created = client.post("/api/submissions", json=GOOD).json
    with sessions() as session, session.begin():
        apply_result(session, GradingResult.from_json(_result_json(created["id"], with_flags=False)))
    with sessions() as session:
        stored = session.get(Submission, created["id"]).tests
    assert all(t["detail"] == "" for t in stored), "hidden detail reached the database"
    # Without flags nothing is known to be a sample: every test is hidden, 01 included (fail closed).
    _assert_hidden(client.get(f"/api/submissions/{created['id']}").json, client.get(created["url"]).text, hidden=4)


def test_rows_stored_before_the_policy_are_filtered_on_read(make_app, contestant, sessions):
    client = as_user(make_app(), contestant)
    created = client.post("/api/submissions", json=GOOD).json
    legacy = json.loads(_result_json(created["id"], with_flags=False))["tests"]
    with sessions() as session, session.begin():
        row = session.get(Submission, created["id"])
        row.state, row.verdict, row.tests = "done", "WA", legacy  # as the old consumer stored it
    _assert_hidden(client.get(f"/api/submissions/{created['id']}").json, client.get(created["url"]).text, hidden=4)


def test_artifact_links_are_the_contestant_files_of_the_submission_only(
    make_app, contestant, sessions, moto_server, monkeypatch
):
    for key, value in moto_server.client_env().items():
        monkeypatch.setenv(key, value)
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="feedback-artifacts", CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
    client = as_user(make_app(GRADING_BUCKET="feedback-artifacts"), contestant)
    linked = client.post("/api/submissions", json=GOOD).json
    prefix = f"results/{linked['id']}/"
    for name in ("report.json", "compile.log", "summary.json"):  # summary.json: a pre-policy full report
        s3.put_object(Bucket="feedback-artifacts", Key=prefix + name, Body=b"{}")
    s3.put_object(Bucket="feedback-artifacts", Key=f"results/_staff/{linked['id']}/summary.json", Body=b"{}")
    staff = client.post("/api/submissions", json=GOOD).json
    staff_prefix = f"results/_staff/{linked['id']}/"  # a result pointing elsewhere gets no links
    with sessions() as session, session.begin():
        apply_result(session, GradingResult.from_json(_result_json(linked["id"], True, prefix)))
        apply_result(session, GradingResult.from_json(_result_json(staff["id"], True, staff_prefix)))

    names = re.findall(r'rel="noopener noreferrer">([^<]+)</a>', client.get(linked["url"]).text)
    assert sorted(names) == ["compile.log", "report.json"]
    page = client.get(staff["url"]).text
    assert "noopener noreferrer" not in page and "_staff" not in page
