"""Versioned JSON messages exchanged over ActiveMQ / Amazon MQ.

Requests travel on ``grading.requests`` (web tier -> workers), results on
``grading.results`` (workers -> web tier). Both are validated strictly on
receipt: a message that does not validate is a poison message, never a crash.

The ``schema`` and ``version`` fields let either side be upgraded first: a
receiver rejects versions it does not know with a clear error instead of
guessing.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from typing import Any

REQUEST_QUEUE = "grading.requests"
RESULT_QUEUE = "grading.results"
DEAD_LETTER_QUEUE = "ActiveMQ.DLQ.grading.requests"

REQUEST_SCHEMA = "gradestack.grading.request"
RESULT_SCHEMA = "gradestack.grading.result"
SCHEMA_VERSION = 1

LANGUAGES = ("c", "cpp", "python3")
MAX_SOURCE_BYTES = 64 * 1024
MAX_MESSAGE_BYTES = 1024 * 1024
MAX_COMPILE_OUTPUT_CHARS = 8 * 1024
MAX_DETAIL_CHARS = 1024

# Job states, in the only order a submission may move through them.
STATES = ("queued", "processing", "done")
FINAL_VERDICTS = ("AC", "WA", "TLE", "MLE", "OLE", "RTE", "IR", "CE", "IE")
TEST_VERDICTS = ("AC", "WA", "TLE", "MLE", "OLE", "RTE", "IR", "IE", "SC")

MAX_TRACE_STAMPS = 32
_TRACE_STAMP = re.compile(r"^[a-z][a-z0-9_.]{0,39}$")
_SUBMISSION_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
PROBLEM_ID = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


class MessageError(ValueError):
    """A message that does not follow the schema; the text says which field and why."""


def _require(payload: dict[str, Any], key: str, kind: type | tuple[type, ...]) -> Any:
    if key not in payload:
        raise MessageError(f"missing field {key!r}")
    value = payload[key]
    # bool is an int subclass: refuse True where a number is expected.
    if isinstance(value, bool) and kind in (int, (int, float)):
        raise MessageError(f"field {key!r} must be a number, not a boolean")
    if not isinstance(value, kind):
        raise MessageError(f"field {key!r} has type {type(value).__name__}")
    return value


def _decode(raw: bytes | str, schema: str) -> dict[str, Any]:
    if isinstance(raw, str):
        raw = raw.encode("utf-8")
    if len(raw) > MAX_MESSAGE_BYTES:
        raise MessageError(f"message is {len(raw)} bytes, the limit is {MAX_MESSAGE_BYTES}")
    try:
        payload = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise MessageError(f"not valid UTF-8 JSON: {exc}") from exc
    if not isinstance(payload, dict):
        raise MessageError("message must be a JSON object")
    if payload.get("schema") != schema:
        raise MessageError(f"schema must be {schema!r}, got {payload.get('schema')!r}")
    if payload.get("version") != SCHEMA_VERSION:
        raise MessageError(f"unsupported version {payload.get('version')!r}, this side speaks {SCHEMA_VERSION}")
    return payload


def validate_trace(value: Any) -> dict[str, float]:
    """A ``trace`` (stage name -> epoch seconds, see ``gradestack_protocol.trace``) as a plain dict of floats."""
    if not isinstance(value, dict):
        raise MessageError("field 'trace' must be an object of stage name -> epoch seconds")
    if len(value) > MAX_TRACE_STAMPS:
        raise MessageError(f"field 'trace' has {len(value)} stamps, the limit is {MAX_TRACE_STAMPS}")
    trace: dict[str, float] = {}
    for name, at in value.items():
        if not isinstance(name, str) or not _TRACE_STAMP.match(name):
            raise MessageError(f"trace stamp name {str(name)[:50]!r} must be 1-40 characters of [a-z0-9_.]")
        if isinstance(at, bool) or not isinstance(at, int | float) or not math.isfinite(at) or at < 0:
            raise MessageError(f"trace stamp {name!r} must be non-negative epoch seconds")
        trace[name] = float(at)
    return trace


def _optional_trace(payload: dict[str, Any]) -> dict[str, float]:
    # Optional both ways: a message of a release before tracing has none.
    return validate_trace(payload.get("trace", {}))


def _with_trace(body: dict[str, Any]) -> dict[str, Any]:
    # An empty trace is left out, so an untraced message is byte for byte what it was before.
    if not body.get("trace"):
        body.pop("trace", None)
    return body


def validate_submission_id(value: str) -> str:
    if not _SUBMISSION_ID.match(value):
        raise MessageError("submission_id must be 1-64 characters of [A-Za-z0-9_-], starting alphanumeric")
    return value


def validate_problem_id(value: str) -> str:
    if not PROBLEM_ID.match(value):
        raise MessageError("problem_id must be 1-64 characters of [a-z0-9_-], starting alphanumeric")
    return value


@dataclass(frozen=True)
class GradingRequest:
    """One submission to grade, published by the web tier's outbox."""

    submission_id: str
    problem_id: str
    language: str
    source: str
    submitted_at: str
    short_circuit: bool = False
    # Stage -> epoch seconds (gradestack_protocol.trace). Not part of the hash: a dict.
    trace: dict[str, float] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        validate_submission_id(self.submission_id)
        validate_problem_id(self.problem_id)
        object.__setattr__(self, "trace", validate_trace(self.trace))
        if self.language not in LANGUAGES:
            raise MessageError(f"language must be one of {', '.join(LANGUAGES)}, got {self.language!r}")
        size = len(self.source.encode("utf-8"))
        if size == 0:
            raise MessageError("source is empty")
        if size > MAX_SOURCE_BYTES:
            raise MessageError(f"source is {size} bytes, the limit is {MAX_SOURCE_BYTES}")

    def to_json(self) -> str:
        return json.dumps({"schema": REQUEST_SCHEMA, "version": SCHEMA_VERSION, **_with_trace(asdict(self))})

    @classmethod
    def from_json(cls, raw: bytes | str) -> GradingRequest:
        payload = _decode(raw, REQUEST_SCHEMA)
        short_circuit = payload.get("short_circuit", False)
        if not isinstance(short_circuit, bool):
            raise MessageError("field 'short_circuit' must be a boolean")
        return cls(
            submission_id=_require(payload, "submission_id", str),
            problem_id=_require(payload, "problem_id", str),
            language=_require(payload, "language", str),
            source=_require(payload, "source", str),
            submitted_at=_require(payload, "submitted_at", str),
            short_circuit=short_circuit,
            trace=_optional_trace(payload),
        )


@dataclass(frozen=True)
class TestResult:
    """The verdict of one test case, as a contestant may see it.

    ``visible`` is the problem's feedback policy for this test. A hidden test (the
    default, also for results of workers that predate the field) carries its verdict,
    time and memory only: any ``detail`` is dropped here, on both sides of the queue.
    """

    __test__ = False  # not a pytest test class despite the name

    name: str
    verdict: str
    time_ms: int = 0
    memory_kb: int = 0
    detail: str = ""
    visible: bool = False

    def __post_init__(self) -> None:
        if self.verdict not in TEST_VERDICTS:
            raise MessageError(f"test verdict must be one of {', '.join(TEST_VERDICTS)}, got {self.verdict!r}")
        if not self.visible:
            object.__setattr__(self, "detail", "")
        elif len(self.detail) > MAX_DETAIL_CHARS:
            object.__setattr__(self, "detail", self.detail[:MAX_DETAIL_CHARS])

    @classmethod
    def from_dict(cls, payload: Any) -> TestResult:
        if not isinstance(payload, dict):
            raise MessageError("each entry of 'tests' must be an object")
        return cls(
            name=_require(payload, "name", str),
            verdict=_require(payload, "verdict", str),
            time_ms=_require(payload, "time_ms", int),
            memory_kb=_require(payload, "memory_kb", int),
            detail=payload.get("detail", "") if isinstance(payload.get("detail", ""), str) else "",
            visible=payload.get("visible") is True,
        )


@dataclass(frozen=True)
class GradingResult:
    """A state change of one submission, published by a worker.

    ``state`` is ``processing`` when a worker picks the job up and ``done`` with
    the final verdict. Consumers deduplicate on ``submission_id`` and must never
    move a ``done`` submission back to ``processing``.
    """

    submission_id: str
    problem_id: str
    state: str
    verdict: str | None = None
    time_ms: int = 0
    memory_kb: int = 0
    compile_output: str = ""
    tests: tuple[TestResult, ...] = field(default_factory=tuple)
    artifacts_prefix: str = ""
    worker: str = ""
    emitted_at: str = ""
    # The request's trace with the worker's stamps added (gradestack_protocol.trace).
    trace: dict[str, float] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        validate_submission_id(self.submission_id)
        validate_problem_id(self.problem_id)
        object.__setattr__(self, "trace", validate_trace(self.trace))
        if self.state not in ("processing", "done"):
            raise MessageError(f"state must be 'processing' or 'done', got {self.state!r}")
        if self.state == "done" and self.verdict not in FINAL_VERDICTS:
            raise MessageError(f"a done result needs a verdict among {', '.join(FINAL_VERDICTS)}")
        if self.state == "processing" and self.verdict is not None:
            raise MessageError("a processing result carries no verdict")
        if len(self.compile_output) > MAX_COMPILE_OUTPUT_CHARS:
            object.__setattr__(self, "compile_output", self.compile_output[:MAX_COMPILE_OUTPUT_CHARS])

    def to_json(self) -> str:
        body = asdict(self)
        body["tests"] = [asdict(t) for t in self.tests]
        return json.dumps({"schema": RESULT_SCHEMA, "version": SCHEMA_VERSION, **_with_trace(body)})

    @classmethod
    def from_json(cls, raw: bytes | str) -> GradingResult:
        payload = _decode(raw, RESULT_SCHEMA)
        tests = payload.get("tests", [])
        if not isinstance(tests, list):
            raise MessageError("field 'tests' must be a list")
        verdict = payload.get("verdict")
        if verdict is not None and not isinstance(verdict, str):
            raise MessageError("field 'verdict' must be a string or null")
        return cls(
            submission_id=_require(payload, "submission_id", str),
            problem_id=_require(payload, "problem_id", str),
            state=_require(payload, "state", str),
            verdict=verdict,
            time_ms=_require(payload, "time_ms", int),
            memory_kb=_require(payload, "memory_kb", int),
            compile_output=_require(payload, "compile_output", str),
            tests=tuple(TestResult.from_dict(t) for t in tests),
            artifacts_prefix=_require(payload, "artifacts_prefix", str),
            worker=_require(payload, "worker", str),
            emitted_at=_require(payload, "emitted_at", str),
            trace=_optional_trace(payload),
        )
