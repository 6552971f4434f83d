"""Worker settings, all from environment variables (the ECS task definition sets them).

========================== ===========================================================
MQ_ENDPOINTS, MQ_USERNAME, see gradestack_protocol.broker (failover list, credentials,
MQ_PASSWORD, MQ_HEARTBEAT_MS heart-beats)
GRADING_BUCKET             S3 bucket with problems/<id>/... and results/<submission>/...
AWS_REGION                 region of the bucket (AWS_ENDPOINT_URL for moto/local)
WORKER_CONCURRENCY         jobs judged at once (default 1); also the STOMP prefetch
HEALTH_PORT                port of /health and /health/ready (default 8080)
HEALTH_HOST                address it listens on (default 0.0.0.0: the container's port)
PROBLEM_CACHE_DIR          local copy of problems (default <tmp>/gradestack-problems)
SANDBOX_UID_BASE           first slot uid (default 20000); slot i runs as base + i
WORKER_MAX_ATTEMPTS        deliveries of one job before it is dead-lettered (default 3)
WORKER_SHUTDOWN_GRACE_S    how long SIGTERM waits for running jobs (default 25; ECS gives 30)
PROBLEM_REVALIDATE_S       how long a cached problem is trusted before its ETags are
                           checked again (default 10)
WORKER_ID                  name in results and logs (default: hostname-pid)
========================== ===========================================================
"""

from __future__ import annotations

import os
import socket
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gradestack_protocol.broker import BrokerSettings


class ConfigError(ValueError):
    """A setting that cannot work; the message names the variable."""


def _int(environ: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = environ.get(name, "").strip() or str(default)
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(f"{name} must be an integer, got {raw!r}") from None
    if not low <= value <= high:
        raise ConfigError(f"{name} must be between {low} and {high}, got {value}")
    return value


@dataclass(frozen=True)
class WorkerConfig:
    broker: BrokerSettings
    bucket: str
    region: str | None
    concurrency: int = 1
    health_port: int = 8080
    health_host: str = "0.0.0.0"  # noqa: S104  (a container port, reached through the task's ENI)
    problem_cache_dir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / "gradestack-problems")
    uid_base: int = 20000
    max_attempts: int = 3
    shutdown_grace_s: int = 25
    revalidate_s: int = 10
    worker_id: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> WorkerConfig:
        bucket = environ.get("GRADING_BUCKET", "").strip()
        if not bucket:
            raise ConfigError("GRADING_BUCKET is not set: the S3 bucket holding problems/ and results/")
        cache = environ.get("PROBLEM_CACHE_DIR", "").strip()
        return cls(
            broker=BrokerSettings.from_env(environ),
            bucket=bucket,
            region=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or None,
            concurrency=_int(environ, "WORKER_CONCURRENCY", 1, 1, 64),
            health_port=_int(environ, "HEALTH_PORT", 8080, 0, 65535),
            health_host=environ.get("HEALTH_HOST", "").strip() or "0.0.0.0",  # noqa: S104
            problem_cache_dir=Path(cache) if cache else Path(tempfile.gettempdir()) / "gradestack-problems",
            uid_base=_int(environ, "SANDBOX_UID_BASE", 20000, 1000, 2**31 - 100),
            max_attempts=_int(environ, "WORKER_MAX_ATTEMPTS", 3, 1, 100),
            shutdown_grace_s=_int(environ, "WORKER_SHUTDOWN_GRACE_S", 25, 0, 3600),
            revalidate_s=_int(environ, "PROBLEM_REVALIDATE_S", 10, 0, 86400),
            worker_id=environ.get("WORKER_ID", "").strip() or f"{socket.gethostname()}-{os.getpid()}",
        )
