"""HTML pages: problems, the submission form, submission status, recent submissions, staff actions.

Ownership: a submission's page (source, per-test details, compiler output, artifacts) is
shown to its author and to staff; anyone else gets the same 404 as for an unknown id, so
ids cannot be probed. Hidden problems are 404 for everyone but staff.
"""

from __future__ import annotations

import logging

from flask import Blueprint, Response, abort, redirect, render_template, request, stream_with_context, url_for
from sqlalchemy import select

from gradestack_web.auth import current_user, is_staff, may_see_problem, may_see_submission
from gradestack_web.context import db, services
from gradestack_web.feedback import public_tests
from gradestack_web.intake import RateLimitedError, submit
from gradestack_web.models import Problem, Submission, User
from gradestack_web.render import render_statement
from gradestack_web.security import CSRF_FORM_FIELD, csrf_valid
from gradestack_web.submissions import SubmissionError, SubmissionInput, recent, rejudge

bp = Blueprint("pages", __name__)
log = logging.getLogger(__name__)

LANGUAGE_NAMES = {"c": "C (gcc)", "cpp": "C++ (g++)", "python3": "Python 3"}
CSRF_MESSAGE = "the form expired or was not sent by this site (missing CSRF token): reload and submit again"


@bp.get("/")
def index():
    query = select(Problem).order_by(Problem.id)
    if not is_staff(current_user()):
        query = query.where(Problem.hidden.is_(False))
    return render_template("index.html", problems=db().scalars(query).all())


def _problem_or_404(problem_id: str) -> Problem:
    problem = db().get(Problem, problem_id[:64])
    if problem is None or not may_see_problem(current_user(), problem):
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
    user = current_user()
    if user is None:
        return _render_problem(problem, 401, "log in to submit: your solution needs an account", language, source)
    if not csrf_valid(request.form.get(CSRF_FORM_FIELD)):
        return _render_problem(problem, 400, CSRF_MESSAGE, language, source)
    try:
        uploaded = _uploaded_source(services().settings.max_source_bytes)
        submission = submit(SubmissionInput(problem.id, language, uploaded if uploaded is not None else source), user)
    except RateLimitedError as exc:
        page, status = _render_problem(problem, exc.status, str(exc), language, source)
        return page, status, {"Retry-After": str(exc.retry_after)}
    except SubmissionError as exc:
        return _render_problem(problem, exc.status, str(exc), language, source)
    return redirect(url_for("pages.submission", submission_id=submission.id), code=303)


def submission_or_404(submission_id: str) -> Submission:
    """The submission when the current user may see it; otherwise the 404 an unknown id gets."""
    found = db().get(Submission, submission_id[:64])
    if found is None or not may_see_submission(current_user(), found):
        abort(404, description=f"there is no submission {submission_id[:64]!r}")
    return found


@bp.get("/submissions/<submission_id>")
def submission(submission_id: str):
    found = submission_or_404(submission_id)
    files = services().artifacts.contestant_files(found.id, found.artifacts_prefix) if found.is_final else []
    author = db().get(User, found.user_id) if found.user_id is not None else None
    response = Response(
        render_template(
            "submission.html",
            submission=found,
            author=author.username if author else "",
            tests=public_tests(found.tests),
            language_name=LANGUAGE_NAMES.get(found.language, found.language),
            artifacts=files,
            staff=is_staff(current_user()),
        )
    )
    response.headers["Cache-Control"] = "private, no-store"  # a contestant's source
    return response


@bp.get("/submissions/<submission_id>/artifacts/<name>")
def artifact(submission_id: str, name: str):
    """Authorize, then redirect to a short-lived presigned URL (AWS) or stream the object (local)."""
    found = submission_or_404(submission_id)
    store = services().artifacts
    key = store.contestant_key(found.id, found.artifacts_prefix, name) if found.is_final else None
    if key is None:
        abort(404, description=f"submission {found.id} has no artifact {name[:64]!r}")
    if services().settings.artifact_delivery == "redirect":
        url = store.presigned_url(key)
        if url is None:
            abort(503, description="the artifact store is unavailable; try again in a minute")
        response = redirect(url, code=302)
    else:
        obj = store.open(key)
        if obj is None:
            abort(404, description=f"submission {found.id} has no artifact {name[:64]!r}")
        # Served as a download, never rendered: the file holds contestant-controlled text.
        response = Response(stream_with_context(obj.chunks), mimetype="application/octet-stream")
        response.headers["Content-Length"] = str(obj.length)
        response.headers["Content-Disposition"] = f'attachment; filename="{name}"'
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.get("/submissions")
def submissions():
    user = current_user()
    rows = recent(db(), services().settings.recent_submissions, staff=is_staff(user))
    return render_template("submissions.html", rows=[(s, name, may_see_submission(user, s)) for s, name in rows])


def _staff_only() -> User:
    user = current_user()
    if not is_staff(user):
        abort(404)  # the staff actions do not exist for anyone else
    if not csrf_valid(request.form.get(CSRF_FORM_FIELD)):
        abort(400, description=CSRF_MESSAGE)
    return user  # type: ignore[return-value]


@bp.post("/submissions/<submission_id>/rejudge")
def rejudge_submission(submission_id: str):
    staff = _staff_only()
    found = submission_or_404(submission_id)
    rejudge(db(), [found])
    db().commit()
    log.info("submission %s queued for rejudging by staff user %s", found.id, staff.id)
    return redirect(url_for("pages.submission", submission_id=found.id), code=303)


@bp.post("/problems/<problem_id>/rejudge")
def rejudge_problem(problem_id: str):
    staff = _staff_only()
    found = _problem_or_404(problem_id)
    # Row locks: a concurrent result for one of them waits, then sees the reset.
    rows = list(db().scalars(select(Submission).where(Submission.problem_id == found.id).with_for_update()))
    count = rejudge(db(), rows)
    db().commit()
    log.info("%d submission(s) of problem %s queued for rejudging by staff user %s", count, found.id, staff.id)
    return redirect(url_for("pages.problem", problem_id=found.id, rejudged=count), code=303)


@bp.post("/problems/<problem_id>/visibility")
def problem_visibility(problem_id: str):
    staff = _staff_only()
    found = _problem_or_404(problem_id)
    found.hidden = request.form.get("hidden") == "1"
    db().commit()
    log.info("problem %s %s by staff user %s", found.id, "hidden" if found.hidden else "shown", staff.id)
    return redirect(url_for("pages.problem", problem_id=found.id), code=303)
