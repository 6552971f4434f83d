"""HTML pages: problem list, problem with its submission form, submission status, recent submissions."""

from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from sqlalchemy import select

from gradestack_web.app import db, services
from gradestack_web.feedback import public_tests
from gradestack_web.intake import RateLimitedError, submit
from gradestack_web.models import Problem, Submission
from gradestack_web.render import render_statement
from gradestack_web.security import CSRF_FORM_FIELD, csrf_valid
from gradestack_web.submissions import SubmissionError, SubmissionInput, recent

bp = Blueprint("pages", __name__)

LANGUAGE_NAMES = {"c": "C (gcc)", "cpp": "C++ (g++)", "python3": "Python 3"}


@bp.get("/")
def index():
    problems = db().scalars(select(Problem).order_by(Problem.id)).all()
    return render_template("index.html", problems=problems)


def _problem_or_404(problem_id: str) -> Problem:
    problem = db().get(Problem, problem_id[:64])
    if problem is None:
        abort(404, description=f"there is no problem {problem_id[:64]!r}")
    return problem


def _render_problem(problem: Problem, status: int = 200, error: str = "", language: str = "", source: str = ""):
    settings = services().settings
    return (
        render_template(
            "problem.html",
            problem=problem,
            statement=render_statement(problem.statement),
            languages=[(lang, LANGUAGE_NAMES.get(lang, lang)) for lang in settings.languages],
            max_source_bytes=settings.max_source_bytes,
            error=error,
            language=language,
            source=source,
        ),
        status,
    )


@bp.get("/problems/<problem_id>")
def problem(problem_id: str):
    return _render_problem(_problem_or_404(problem_id))


def _uploaded_source(limit: int) -> str | None:
    upload = request.files.get("file")
    if upload is None or not upload.filename:
        return None
    raw = upload.stream.read(limit + 1)
    if len(raw) > limit:
        raise SubmissionError(f"the uploaded file is larger than the limit of {limit} bytes", status=413)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SubmissionError("the uploaded file is not UTF-8 text") from None


@bp.post("/problems/<problem_id>/submit")
def submit_form(problem_id: str):
    problem = _problem_or_404(problem_id)
    language = request.form.get("language", "")
    source = request.form.get("source", "")
    if not csrf_valid(request.form.get(CSRF_FORM_FIELD)):
        return _render_problem(
            problem,
            400,
            "the form expired or was not sent by this site (missing CSRF token): reload and submit again",
            language,
            source,
        )
    try:
        uploaded = _uploaded_source(services().settings.max_source_bytes)
        submission = submit(SubmissionInput(problem.id, language, uploaded if uploaded is not None else source))
    except RateLimitedError as exc:
        page, status = _render_problem(problem, exc.status, str(exc), language, source)
        return page, status, {"Retry-After": str(exc.retry_after)}
    except SubmissionError as exc:
        return _render_problem(problem, exc.status, str(exc), language, source)
    return redirect(url_for("pages.submission", submission_id=submission.id), code=303)


@bp.get("/submissions/<submission_id>")
def submission(submission_id: str):
    found = db().get(Submission, submission_id[:64])
    if found is None:
        abort(404, description=f"there is no submission {submission_id[:64]!r}")
    artifacts = services().artifacts.contestant_links(found.id, found.artifacts_prefix) if found.is_final else []
    return render_template(
        "submission.html",
        submission=found,
        tests=public_tests(found.tests),
        language_name=LANGUAGE_NAMES.get(found.language, found.language),
        artifacts=artifacts,
    )


@bp.get("/submissions")
def submissions():
    return render_template("submissions.html", submissions=recent(db(), services().settings.recent_submissions))
