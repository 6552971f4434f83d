"""Where a submission's grading artifacts live in the grading bucket.

- ``results/<submission_id>/``: what a contestant may see, ``CONTESTANT_FILES`` only:
  the report redacted by the problem's feedback policy and the compile log. (Workers
  before the policy wrote the full report there as ``summary.json``; the web app does
  not link that name.)
- ``results/_staff/<submission_id>/``: the full report, hidden tests' details and
  program output included, for problem setters and operators. The web app never links
  it, and the web hosts' IAM role is denied reading it. Submission ids start with an
  alphanumeric character, so no contestant prefix can be ``_staff``'s.
"""

from __future__ import annotations

from gradestack_protocol.messages import validate_submission_id

STAFF_ROOT = "results/_staff/"
CONTESTANT_REPORT = "report.json"
STAFF_REPORT = "summary.json"
COMPILE_LOG = "compile.log"
CONTESTANT_FILES = (CONTESTANT_REPORT, COMPILE_LOG)


def contestant_prefix(submission_id: str) -> str:
    return f"results/{validate_submission_id(submission_id)}/"


def staff_prefix(submission_id: str) -> str:
    return f"{STAFF_ROOT}{validate_submission_id(submission_id)}/"
