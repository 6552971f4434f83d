"""Structured JSON logs on stdout, with CloudWatch Embedded Metric Format records.

On ECS the awslogs driver ships stdout to CloudWatch Logs; lines carrying an
``_aws`` key are turned into metrics by CloudWatch itself (no agent, no
PutMetricData permission). Metrics, namespace ``Gradestack/Grading``:

- ``JobsCompleted`` (Count), dimension ``Verdict``;
- ``JudgeDuration`` (Milliseconds): compile + all tests;
- ``QueueWait`` (Milliseconds): from the broker accepting the job to a worker starting it;
- ``InfraRetries``, ``InfraRequeues``, ``WatchdogKills`` (Count): sandbox infrastructure
  failures retried inside a job, jobs requeued after an infrastructure failure or a
  watchdog kill, and jobs the watchdog killed for exceeding their budget.

An IE verdict is a real internal error (infrastructure failures are retried, never
published as IE): it is counted as ``JobsCompleted`` with ``Verdict=IE`` and, since the
worker started, in ``/health``'s ``jobs`` (``Counters``), whose ``ie_total`` is the
number to alert on.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from collections import Counter
from datetime import UTC, datetime
from typing import Any

NAMESPACE = "Gradestack/Grading"
_write_lock = threading.Lock()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        body: dict[str, Any] = {
            "timestamp": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            body.update(fields)
        if record.exc_info:
            body["exception"] = self.formatException(record.exc_info)
        return json.dumps(body, default=str)


def configure_logging(level: int = logging.INFO) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # stomp.py logs every heartbeat at INFO/DEBUG; keep its warnings only.
    logging.getLogger("stomp").setLevel(logging.WARNING)
    logging.getLogger("botocore").setLevel(logging.WARNING)
    logging.getLogger("werkzeug").setLevel(logging.WARNING)


def emf_record(verdict: str, judge_ms: int, queue_wait_ms: int | None, **context: Any) -> dict[str, Any]:
    metrics = [{"Name": "JobsCompleted", "Unit": "Count"}, {"Name": "JudgeDuration", "Unit": "Milliseconds"}]
    record: dict[str, Any] = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [{"Namespace": NAMESPACE, "Dimensions": [["Verdict"]], "Metrics": metrics}],
        },
        "Verdict": verdict,
        "JobsCompleted": 1,
        "JudgeDuration": judge_ms,
        **context,
    }
    if queue_wait_ms is not None:
        metrics.append({"Name": "QueueWait", "Unit": "Milliseconds"})
        record["QueueWait"] = max(0, queue_wait_ms)
    return record


def emit_metrics(record: dict[str, Any]) -> None:
    line = json.dumps(record, default=str)
    with _write_lock:
        sys.stdout.write(line + "\n")
        sys.stdout.flush()


def event_record(name: str, **context: Any) -> dict[str, Any]:
    """One occurrence of an operational event (``InfraRetries``, ``WatchdogKills``...), no dimensions."""
    return {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
            "CloudWatchMetrics": [
                {"Namespace": NAMESPACE, "Dimensions": [[]], "Metrics": [{"Name": name, "Unit": "Count"}]}
            ],
        },
        name: 1,
        **context,
    }


class Counters:
    """Totals since the worker started, for ``/health``: jobs by verdict, and operational events."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._verdicts: Counter[str] = Counter()
        self._events: Counter[str] = Counter()

    def verdict(self, verdict: str) -> None:
        with self._lock:
            self._verdicts[verdict] += 1

    def event(self, name: str) -> None:
        with self._lock:
            self._events[name] += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "by_verdict": dict(self._verdicts),
                "ie_total": self._verdicts["IE"],
                "infra_retries": self._events["InfraRetries"],
                "infra_requeues": self._events["InfraRequeues"],
                "watchdog_kills": self._events["WatchdogKills"],
            }
