"""Creating submissions: validation, then the submission and its outbox row in one transaction."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime

from gradestack_protocol.messages import REQUEST_QUEUE, GradingRequest
from gradestack_protocol.trace import stamp
from sqlalchemy import select
from sqlalchemy.orm import Session

from gradestack_web.config import Settings
from gradestack_web.feedback import public_tests
from gradestack_web.models import QUEUED, OutboxMessage, Problem, Submission, User


class SubmissionError(ValueError):
    """Bad input from the user; ``status`` is the HTTP status, the text says how to fix it."""

    def __init__(self, message: str, status: int = 400, field: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.field = field


@dataclass(frozen=True)
class SubmissionInput:
    problem_id: str
    language: str
    source: str


def validate(session: Session, settings: Settings, data: SubmissionInput, staff: bool = False) -> Problem:
    """Check the input against the allow-list, the size limit and the problem table.

    Hidden problems exist only for staff: anyone else gets the same answer as for an unknown id.
    """
    for name in ("problem_id", "language", "source"):
        if "\x00" in getattr(data, name):
            # PostgreSQL text cannot store NUL, and no compiler wants one either.
            raise SubmissionError(f"the {name.replace('_', ' ')} contains a NUL byte (\\0); remove it", field=name)
    if data.language not in settings.languages:
        raise SubmissionError(
            f"unknown language {data.language[:40]!r}: choose one of {', '.join(settings.languages)}",
            field="language",
        )
    size = len(data.source.encode("utf-8"))
    if size > settings.max_source_bytes:
        raise SubmissionError(
            f"the source is {size} bytes; the limit is {settings.max_source_bytes} bytes", status=413, field="source"
        )
    if not data.source.strip():
        raise SubmissionError("the source is empty: paste your program or choose a file", field="source")
    problem = session.get(Problem, data.problem_id) if len(data.problem_id) <= 64 else None
    if problem is None or (problem.hidden and not staff):
        raise SubmissionError(f"unknown problem {data.problem_id[:64]!r}", status=404, field="problem_id")
    return problem


def create_submission(
    session: Session,
    settings: Settings,
    data: SubmissionInput,
    client_ip: str,
    user: User,
    *,
    received_at: float | None = None,
) -> Submission:
    """Insert the submission and its grading request; the caller's transaction commits both or neither.

    ``received_at`` (wall clock) starts the request's trace (gradestack_protocol.trace).
    """
    problem = validate(session, settings, data, staff=user.is_staff)
    submission_id = uuid.uuid4().hex
    now = datetime.now(UTC)
    submission = Submission(
        id=submission_id,
        problem_id=problem.id,
        language=data.language,
        source=data.source,
        state=QUEUED,
        tests=[],
        client_ip=client_ip[:64],
        user_id=user.id,
        created_at=now,
        updated_at=now,
    )
    session.add(submission)
    session.flush()  # the outbox row references the submission
    session.add(_grading_request(submission, now, {} if received_at is None else {"web.received": received_at}))
    return submission


def _grading_request(submission: Submission, now: datetime, trace: dict[str, float]) -> OutboxMessage:
    request = GradingRequest(
        submission_id=submission.id,
        problem_id=submission.problem_id,
        language=submission.language,
        source=submission.source,
        submitted_at=now.isoformat(),
        trace=stamp(trace, "web.stored"),
    )
    return OutboxMessage(submission_id=submission.id, destination=REQUEST_QUEUE, payload=request.to_json())


def rejudge(session: Session, submissions: list[Submission]) -> int:
    """Queue the submissions again: reset their results and add a grading request to the outbox.

    Same path and guarantees as a new submission (the outbox row commits with the reset,
    at-least-once publication). A result of the previous grading that arrives after the
    reset is applied like any other: the submission gets a verdict for the same source.
    """
    now = datetime.now(UTC)
    for submission in submissions:
        submission.state = QUEUED
        submission.verdict = None
        submission.time_ms = 0
        submission.memory_kb = 0
        submission.compile_output = ""
        submission.tests = []
        submission.artifacts_prefix = ""
        submission.worker = ""
        submission.finished_at = None
        submission.trace = None
        submission.updated_at = now
        session.add(_grading_request(submission, now, {}))
    return len(submissions)


def recent(session: Session, limit: int, staff: bool = False) -> list[tuple[Submission, str]]:
    """The newest submissions with their authors' names (empty for rows before accounts).

    Submissions to hidden problems are listed for staff only.
    """
    query = (
        select(Submission, User.username)
        .outerjoin(User, Submission.user_id == User.id)
        .join(Problem, Submission.problem_id == Problem.id)
        .order_by(Submission.created_at.desc())
        .limit(limit)
    )
    if not staff:
        query = query.where(Problem.hidden.is_(False))
    return [(submission, username or "") for submission, username in session.execute(query)]


def to_json(submission: Submission, include_source: bool = False, username: str = "") -> dict:
    body = {
        "id": submission.id,
        "user": username,
        "problem_id": submission.problem_id,
        "language": submission.language,
        "state": submission.state,
        "final": submission.is_final,
        "verdict": submission.verdict,
        "time_ms": submission.time_ms,
        "memory_kb": submission.memory_kb,
        "compile_output": submission.compile_output,
        "tests": public_tests(submission.tests),
        "created_at": submission.created_at.isoformat() if submission.created_at else None,
        "finished_at": submission.finished_at.isoformat() if submission.finished_at else None,
    }
    if include_source:
        body["source"] = submission.source
    return body
