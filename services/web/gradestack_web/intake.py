"""The one path every new submission takes, from the form and from the API alike."""

from __future__ import annotations

import logging
import time

from flask import request

from gradestack_web.context import db, services
from gradestack_web.models import Submission, User
from gradestack_web.security import rate_limit_hit
from gradestack_web.submissions import SubmissionError, SubmissionInput, create_submission

log = logging.getLogger(__name__)


class RateLimitedError(SubmissionError):
    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many submissions from your account; try again in {retry_after} s", status=429)
        self.retry_after = retry_after


def submit(data: SubmissionInput, user: User, received_at: float | None = None) -> Submission:
    """Rate-limit, validate, then commit the submission with its outbox row (or nothing).

    The limit is per account, not per address: a contest hall behind one NAT address is
    many contestants, and one contestant cannot escape it by changing address.
    ``received_at``: when the request reached the app (wall clock; default now), the
    first stamp of the submission's trace.
    """
    received_at = time.time() if received_at is None else received_at
    settings = services().settings
    session = db()
    client = request.remote_addr or "unknown"
    if settings.rate_limit_enabled:
        # Committed on its own so that rejected attempts count too.
        allowed, retry_after = rate_limit_hit(
            session, f"submit-user:{user.id}", settings.rate_limit_submissions, settings.rate_limit_window_seconds
        )
        session.commit()
        if not allowed:
            raise RateLimitedError(retry_after)
    try:
        submission = create_submission(session, settings, data, client, user, received_at=received_at)
        session.commit()
    except SubmissionError:
        session.rollback()
        raise
    log.info(
        "submission %s for %s in %s queued by user %s",
        submission.id,
        submission.problem_id,
        submission.language,
        user.id,
    )
    return submission
