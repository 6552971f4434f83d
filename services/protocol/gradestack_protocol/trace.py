"""Where one submission's time goes: the stamps its messages carry, and the durations between them.

A ``trace`` is a mapping of stage name to epoch seconds (``time.time()``), carried in
``GradingRequest.trace`` and ``GradingResult.trace`` and stored on the submission by the
results consumer. Each component adds its own stamps and passes the others on.

The stamps are wall clock read on different hosts (web host, worker container, web host
again), so a duration between two hosts includes their clock offset. That is acceptable
for what the trace is for, finding which stage dominates: on one machine (the local
environment) every container reads the same kernel clock, and NTP-synchronised hosts
(EC2's Time Sync Service, Fargate) agree within a millisecond or so, well below the
stages being compared. A negative duration therefore means clock skew and is shown as is.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

# Every stamp, in the order a submission passes them, with who sets it.
STAMPS = (
    "web.received",  # web app: the submission request reached the app
    "web.stored",  # web app: submission and outbox row written, the transaction about to commit
    "outbox.publish",  # outbox publisher: the row claimed, about to be sent to grading.requests
    "worker.received",  # worker: the broker delivered the request (its STOMP receiver thread)
    "worker.start",  # worker: a judging slot took the job
    "judge.start",  # worker: problem loaded, processing result sent, judging begins
    "compile.end",  # worker: compiled (or syntax-checked); the tests run next
    "judge.end",  # worker: verdict decided
    "upload.start",  # worker: artifacts upload begins
    "upload.end",  # worker: artifacts stored
    "result.publish",  # worker: the done result is about to be sent to grading.results
    "consumer.received",  # results consumer: the result reached its main loop
    "db.write",  # results consumer: the submission updated, the transaction about to commit
)

# (name, from stamp, to stamp): the per-stage breakdown the API's ``timing`` shows. The
# stages up to "database" are a chain (each starts where the previous ends); "judge" and
# "total" are sums of them, for comparison with the worker-alone benchmark and the user's wait.
SUMS = ("judge", "total")
INTERVALS = (
    ("intake", "web.received", "web.stored"),  # rate limit, validation, the inserts
    ("outbox", "web.stored", "outbox.publish"),  # commit, NOTIFY wake-up, claim
    ("broker_to_worker", "outbox.publish", "worker.received"),  # STOMP transaction, queue wait
    ("worker_queue", "worker.received", "worker.start"),  # prefetched, waiting for a free slot
    ("worker_setup", "worker.start", "judge.start"),  # processing result, problem from S3 (cached)
    ("compile", "judge.start", "compile.end"),
    ("tests", "compile.end", "judge.end"),
    # Artifacts to S3. From judge.end, not upload.start (microseconds later), so that the
    # stages from intake to database follow each other without a gap and add up to total.
    ("upload", "judge.end", "upload.end"),
    ("result_publish", "upload.end", "result.publish"),
    ("broker_to_consumer", "result.publish", "consumer.received"),  # SEND, receipt, delivery
    ("database", "consumer.received", "db.write"),
    ("judge", "judge.start", "judge.end"),  # compile + tests: what the worker alone measures
    ("total", "web.received", "db.write"),
)


def stamp(trace: Mapping[str, float], name: str, at: float | None = None) -> dict[str, float]:
    """A copy of ``trace`` with ``name`` set to ``at`` (default: now, wall clock)."""
    return {**trace, name: time.time() if at is None else at}


def timing(trace: Mapping[str, float] | None) -> dict[str, float]:
    """Per-stage durations in milliseconds (0.1 ms resolution) for every interval whose two stamps exist."""
    if not trace:
        return {}
    durations: dict[str, float] = {}
    for name, start, end in INTERVALS:
        if start in trace and end in trace:
            durations[name] = round((trace[end] - trace[start]) * 1000.0, 1)
    return durations
