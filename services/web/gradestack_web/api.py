"""JSON API: submit and poll submissions, list problems. Errors are JSON too.

Authentication: ``Authorization: Bearer <personal token>`` (created on the account page),
or the browser's session cookie (the status page polls with it). Submitting needs an
account; a submission is visible to its author and to staff only (404 for anyone else).

CSRF: the API accepts only ``application/json`` bodies, which a browser will not send
cross-origin without a CORS preflight that this app never grants; forms use tokens.
"""

from __future__ import annotations

import json
import time
from typing import Any

from flask import Blueprint, jsonify, request, url_for
from gradestack_protocol.trace import timing
from sqlalchemy import select

from gradestack_web.auth import current_user, is_staff, may_see_problem, may_see_submission
from gradestack_web.context import db, error_response
from gradestack_web.intake import RateLimitedError, submit
from gradestack_web.models import Problem, Submission, User
from gradestack_web.submissions import SubmissionError, SubmissionInput, to_json

bp = Blueprint("api", __name__, url_prefix="/api")
_SHAPE = '{"problem_id": "...", "language": "...", "source": "..."}'


def _problem_json(problem: Problem) -> dict[str, Any]:
    return {
        "id": problem.id,
        "title": problem.title,
        "time_limit_ms": problem.time_limit_ms,
        "memory_limit_mb": problem.memory_limit_mb,
        "test_count": problem.test_count,
    }


@bp.get("/problems")
def list_problems():
    query = select(Problem).order_by(Problem.id)
    if not is_staff(current_user()):
        query = query.where(Problem.hidden.is_(False))
    problems = db().scalars(query)
    return jsonify({"problems": [_problem_json(p) for p in problems]})


@bp.get("/problems/<problem_id>")
def get_problem(problem_id: str):
    problem = db().get(Problem, problem_id[:64])
    if problem is None or not may_see_problem(current_user(), problem):
        return error_response(404, f"unknown problem {problem_id[:64]!r}")
    return jsonify({**_problem_json(problem), "statement": problem.statement})


def _parse_submission() -> SubmissionInput:
    """The request body as a SubmissionInput, or a SubmissionError that says what to send instead."""
    if not request.is_json:
        raise SubmissionError("send the submission as JSON with 'Content-Type: application/json'", status=415)
    try:
        payload = json.loads(request.get_data(cache=False))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise SubmissionError(f"the body is not valid JSON ({exc}); send {_SHAPE}") from None
    if not isinstance(payload, dict):
        raise SubmissionError(f"the body must be a JSON object: send {_SHAPE}")
    fields = {}
    for name in ("problem_id", "language", "source"):
        value = payload.get(name)
        if not isinstance(value, str):
            raise SubmissionError(f"field {name!r} is required and must be a string", field=name)
        fields[name] = value
    return SubmissionInput(**fields)


@bp.post("/submissions")
def create():
    received_at = time.time()  # the trace's web.received: before authentication and parsing
    user = current_user()
    if user is None:
        response = error_response(
            401, "submitting needs an account: send 'Authorization: Bearer <token>' (create one on /account)"
        )
        response.headers["WWW-Authenticate"] = 'Bearer realm="gradestack"'
        return response
    try:
        submission = submit(_parse_submission(), user, received_at)
    except RateLimitedError as exc:
        response = error_response(exc.status, str(exc))
        response.headers["Retry-After"] = str(exc.retry_after)
        return response
    except SubmissionError as exc:
        return error_response(exc.status, str(exc), field=exc.field)
    body = to_json(submission, username=user.username)
    body["url"] = url_for("pages.submission", submission_id=submission.id)
    response = jsonify(body)
    response.status_code = 201
    response.headers["Location"] = url_for("api.get_submission", submission_id=submission.id)
    return response


@bp.get("/submissions/<submission_id>")
def get_submission(submission_id: str):
    submission = db().get(Submission, submission_id[:64])
    if submission is None or not may_see_submission(current_user(), submission):
        return error_response(404, f"unknown submission {submission_id[:64]!r}")
    author = db().get(User, submission.user_id) if submission.user_id is not None else None
    body = to_json(submission, username=author.username if author else "")
    # Only here, past may_see_submission: the owner and staff see where the time went.
    body["timing"] = timing(submission.trace)
    response = jsonify(body)
    response.headers["Cache-Control"] = "no-store"
    return response
