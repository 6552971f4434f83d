"""Hidden tests stay hidden: what the worker publishes and stores for contestants, what setters see.

aplusb shows its sample (test 01) in full; tests 02-04 are hidden. Test 03's answer is
1999999999999999999 and test 04's is -1000000000000000007: neither may reach a contestant.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from types import SimpleNamespace

import pytest
from gradestack_grading.judge import Judge, JudgeReport
from gradestack_grading.worker import Worker, _result_from
from gradestack_protocol import GradingRequest, GradingResult, load_problem

from .conftest import PROBLEMS, require_root
from .test_cli import cli

pytestmark = pytest.mark.slow

APLUSB = PROBLEMS / "aplusb"
HIDDEN_ANSWERS = ("1999999999999999999", "-1000000000000000007")
MARKER = "printed-by-the-program-7f3a"  # what the wrong answer prints, so its output excerpt is recognisable


class RecordingS3:
    def __init__(self) -> None:
        self.objects: dict[str, bytes] = {}

    def put_object(self, *, Bucket: str, Key: str, Body: bytes, ContentType: str) -> None:  # noqa: N803 (boto3's names)
        self.objects[Key] = Body


def judge_and_publish(judge: Judge, language: str, source: str) -> tuple[JudgeReport, dict, RecordingS3]:
    """Judge like the worker does; return the report, the published result's JSON and the stored objects."""
    request = GradingRequest("feedback-1", "aplusb", language, source, datetime.now(UTC).isoformat())
    report = judge.judge(load_problem(APLUSB), language, source)
    s3 = RecordingS3()
    worker = SimpleNamespace(s3=s3, config=SimpleNamespace(bucket="b", worker_id="w"))
    prefix = Worker._store_artifacts(worker, request, report, 1)  # the real method, without a broker or slots
    published = _result_from(request, report, prefix, "w").to_json()
    assert GradingResult.from_json(published).submission_id == "feedback-1"
    return report, json.loads(published), s3


def contestant_objects(s3: RecordingS3) -> dict[str, str]:
    return {key: body.decode() for key, body in s3.objects.items() if key.startswith("results/feedback-1/")}


def test_wrong_answer_on_hidden_tests_publishes_and_stores_no_answer_and_no_output(judge: Judge) -> None:
    report, published, s3 = judge_and_publish(judge, "python3", f"print('{MARKER}')\n")
    assert [t.verdict for t in report.tests] == ["WA"] * 4
    tests = {t["name"]: t for t in published["tests"]}
    # The sample keeps its detail: the contestant can compare with the statement.
    assert tests["01"]["detail"] == f"token 1 differs: expected '3', got '{MARKER}'"
    for name in ("02", "03", "04"):
        assert tests[name]["detail"] == "", tests[name]
        assert (tests[name]["verdict"], tests[name]["visible"]) == ("WA", False)
        assert tests[name]["time_ms"] >= 0 and tests[name]["memory_kb"] > 0
    text = json.dumps(published)
    assert not any(answer in text for answer in HIDDEN_ANSWERS), text

    visible = contestant_objects(s3)
    assert visible, f"nothing stored under the contestant prefix: {sorted(s3.objects)}"
    for key, body in visible.items():
        assert not any(answer in body for answer in HIDDEN_ANSWERS), (key, body)
    stored = json.loads(visible["results/feedback-1/report.json"])
    by_name = {t["name"]: t for t in stored["tests"]}
    assert MARKER in by_name["01"]["output_excerpt"]
    assert all(by_name[n]["output_excerpt"] == "" and by_name[n]["detail"] == "" for n in ("02", "03", "04"))
    # Staff keep everything, under a prefix the web app does not link.
    staff = s3.objects["results/_staff/feedback-1/summary.json"].decode()
    assert all(answer in staff for answer in HIDDEN_ANSWERS)
    assert all(key.startswith(("results/feedback-1/", "results/_staff/feedback-1/")) for key in s3.objects)


@pytest.mark.parametrize(
    ("language", "solution", "verdict", "leak"),
    [("c", "rte.c", "RTE", "SIGSEGV"), ("python3", "ir.py", "IR", "exit code 3")],
)
def test_runtime_errors_on_hidden_tests_say_only_the_verdict(
    judge: Judge, language: str, solution: str, verdict: str, leak: str
) -> None:
    report, published, s3 = judge_and_publish(judge, language, (APLUSB / "solutions" / solution).read_text())
    assert all(t.verdict == verdict and leak in t.detail for t in report.tests), report  # the judge knows
    assert published["tests"][0]["detail"] != ""  # the sample may say why
    for test in published["tests"][1:]:
        assert (test["verdict"], test["detail"]) == (verdict, ""), test
    assert leak not in json.dumps(published["tests"][1:])
    stored = json.loads(contestant_objects(s3)["results/feedback-1/report.json"])
    assert all(t["detail"] == "" for t in stored["tests"][1:]), stored


def test_the_judge_cli_shows_setters_everything_and_can_preview_the_contestant_view() -> None:
    require_root()

    def run(*extra: str) -> dict:
        args = ("judge", "--problem", str(APLUSB), "--language", "python3", *extra, "-")
        done = cli(*args, stdin=b"print(0)\n")
        assert done.returncode == 0, done.stderr
        return json.loads(done.stdout)

    setter = {t["name"]: t for t in run()["tests"]}
    assert setter["03"]["detail"] == "token 1 differs: expected '1999999999999999999', got '0'"
    assert (setter["01"]["visible"], setter["03"]["visible"]) == (True, False)
    contestant = {t["name"]: t for t in run("--contestant-view")["tests"]}
    assert contestant["03"]["detail"] == "" and contestant["01"]["detail"] != ""
