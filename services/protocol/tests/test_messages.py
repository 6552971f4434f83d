"""The message schema: round trips and strict rejection of malformed messages."""

from __future__ import annotations

import json

import pytest
from gradestack_protocol import GradingRequest, GradingResult, MessageError, TestResult
from gradestack_protocol.messages import MAX_COMPILE_OUTPUT_CHARS, MAX_SOURCE_BYTES


def _request(**overrides) -> dict:
    body = {
        "schema": "gradestack.grading.request",
        "version": 1,
        "submission_id": "42",
        "problem_id": "a-plus-b",
        "language": "cpp",
        "source": "int main(){}",
        "submitted_at": "2026-11-26T08:00:00Z",
    }
    body.update(overrides)
    return body


def test_request_round_trip():
    request = GradingRequest.from_json(json.dumps(_request()))
    assert request.short_circuit is False
    assert GradingRequest.from_json(request.to_json()) == request


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"\xff\xfe", "not valid UTF-8 JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (json.dumps(_request(schema="other")), "schema must be"),
        (json.dumps(_request(version=2)), "unsupported version 2"),
        (json.dumps({k: v for k, v in _request().items() if k != "source"}), "missing field 'source'"),
        (json.dumps(_request(language="brainfuck")), "language must be one of"),
        (json.dumps(_request(submission_id="../etc")), "submission_id"),
        (json.dumps(_request(problem_id="A B")), "problem_id"),
        (json.dumps(_request(source="")), "source is empty"),
        (json.dumps(_request(source="x" * (MAX_SOURCE_BYTES + 1))), "the limit is"),
        (json.dumps(_request(short_circuit="yes")), "short_circuit"),
        (json.dumps(_request(source=5)), "has type int"),
    ],
)
def test_malformed_requests_are_rejected_with_reason(raw, message):
    with pytest.raises(MessageError, match=message):
        GradingRequest.from_json(raw)


def test_result_round_trip_and_truncation():
    result = GradingResult(
        submission_id="42",
        problem_id="a-plus-b",
        state="done",
        verdict="WA",
        time_ms=12,
        memory_kb=3000,
        compile_output="w" * (MAX_COMPILE_OUTPUT_CHARS + 10),
        tests=(TestResult(name="01", verdict="AC", time_ms=5, memory_kb=100), TestResult(name="02", verdict="WA")),
        artifacts_prefix="results/42/",
        worker="w1",
        emitted_at="2026-11-26T08:00:01Z",
    )
    assert len(result.compile_output) == MAX_COMPILE_OUTPUT_CHARS
    assert GradingResult.from_json(result.to_json()) == result


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"state": "done", "verdict": None}, "needs a verdict"),
        ({"state": "processing", "verdict": "AC"}, "carries no verdict"),
        ({"state": "queued"}, "state must be"),
        ({"state": "done", "verdict": "SC"}, "needs a verdict"),
    ],
)
def test_inconsistent_results_are_rejected(fields, message):
    with pytest.raises(MessageError, match=message):
        GradingResult(submission_id="1", problem_id="p", **fields)


def test_boolean_is_not_a_number():
    payload = json.loads(GradingResult(submission_id="1", problem_id="p", state="processing").to_json())
    payload["time_ms"] = True
    with pytest.raises(MessageError, match="must be a number"):
        GradingResult.from_json(json.dumps(payload))


def test_hidden_tests_carry_no_detail_on_either_side_of_the_queue():
    hidden = TestResult(name="03", verdict="WA", detail="token 1 differs: expected '1999999999999999999', got '?'")
    assert hidden.detail == ""
    shown = TestResult(name="01", verdict="WA", detail="token 1 differs: expected '3', got '4'", visible=True)
    result = GradingResult(submission_id="1", problem_id="p", state="done", verdict="WA", tests=(shown, hidden))
    assert GradingResult.from_json(result.to_json()) == result
    # A worker from before the policy sends details without the flag: the receiver drops them.
    payload = json.loads(result.to_json())
    for test in payload["tests"]:
        test.pop("visible")
        test["detail"] = "exit code 3"
    received = GradingResult.from_json(json.dumps(payload))
    assert [(t.detail, t.visible) for t in received.tests] == [("", False), ("", False)]


def test_trace_is_optional_both_ways():
    # A message of a release before tracing (no 'trace') is valid and gets an empty trace.
    request = GradingRequest.from_json(json.dumps(_request()))
    assert request.trace == {}
    # Untraced messages are serialised exactly as before: no 'trace' key for an old receiver.
    assert "trace" not in json.loads(request.to_json())
    assert "trace" not in json.loads(GradingResult(submission_id="1", problem_id="p", state="processing").to_json())
    # A traced message carries every field an old receiver requires, unchanged; it ignores 'trace'.
    traced = json.loads(
        GradingRequest.from_json(json.dumps(_request(trace={"web.received": 1_700_000_000.25}))).to_json()
    )
    assert traced.pop("trace") == {"web.received": 1_700_000_000.25}
    assert traced == {**_request(), "short_circuit": False}


def test_trace_round_trips_in_request_and_result():
    trace = {"web.received": 1_700_000_000, "web.stored": 1_700_000_000.003, "outbox.publish": 1_700_000_000.0101}
    request = GradingRequest.from_json(json.dumps(_request(trace=trace)))
    assert request.trace == trace
    assert all(isinstance(at, float) for at in request.trace.values())
    assert GradingRequest.from_json(request.to_json()) == request
    result = GradingResult(
        submission_id="42", problem_id="a-plus-b", state="done", verdict="AC", trace={**trace, "judge.end": 1.7e9 + 1}
    )
    assert GradingResult.from_json(result.to_json()) == result
    # A result from a worker before tracing (no 'trace') is valid.
    payload = json.loads(result.to_json())
    del payload["trace"]
    assert GradingResult.from_json(json.dumps(payload)).trace == {}


@pytest.mark.parametrize(
    ("trace", "message"),
    [
        ([1.0], "must be an object"),
        ({"Web Received": 1.0}, "must be 1-40 characters"),
        ({"web.received": "now"}, "non-negative epoch seconds"),
        ({"web.received": True}, "non-negative epoch seconds"),
        ({"web.received": -1.0}, "non-negative epoch seconds"),
        ({f"s{i}": 1.0 for i in range(33)}, "the limit is 32"),
    ],
)
def test_malformed_traces_are_rejected(trace, message):
    with pytest.raises(MessageError, match=message):
        GradingRequest.from_json(json.dumps(_request(trace=trace)))
    payload = json.loads(GradingResult(submission_id="1", problem_id="p", state="processing").to_json())
    payload["trace"] = trace
    with pytest.raises(MessageError, match=message):
        GradingResult.from_json(json.dumps(payload))
