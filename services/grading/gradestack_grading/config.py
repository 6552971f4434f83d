"""Worker settings, all from environment variables (the ECS task definition sets them).

========================== ===========================================================
MQ_ENDPOINTS, MQ_USERNAME, see gradestack_protocol.broker (failover list, credentials,
MQ_PASSWORD, MQ_HEARTBEAT_MS heart-beats)
GRADING_BUCKET             S3 bucket with problems/<id>/... and results/<submission>/...
AWS_REGION                 region of the bucket (AWS_ENDPOINT_URL for moto/local)
WORKER_CONCURRENCY         jobs judged at once, also the STOMP prefetch (default `auto`: the
                           CPUs this process may use, from its affinity and its cgroup's
                           cpu.max quota: 1 for a 0.5 or 1 vCPU Fargate task or a
                           `--cpus 1` container, 2 on a 2-core host)
HEALTH_PORT                port of /health and /health/ready (default 8080)
HEALTH_HOST                address it listens on (default 0.0.0.0: the container's port)
PROBLEM_CACHE_DIR          local copy of problems (default <tmp>/gradestack-problems)
SANDBOX_UID_BASE           first slot uid (default 20000)
SANDBOX_UID_COUNT          size of the slot uid range (default 1024): a worker leases the
                           first WORKER_CONCURRENCY free uids in [base, base + count)
SANDBOX_SLOT_LEASE_DIR     host-wide lease directory (default /run/gradestack/sandbox-slots,
                           root 0700): every worker and CLI on one kernel must share it
                           (the grading role bind-mounts it into each local container)
WORKER_MAX_ATTEMPTS        deliveries of one job before it is dead-lettered (default 3)
WORKER_SHUTDOWN_GRACE_S    how long SIGTERM waits for running jobs (default 25; ECS gives 30)
WORKER_INFRA_RETRIES       in-job retries of a sandbox infrastructure failure (EAGAIN from
                           fork/exec, supervisor start) before the job is requeued (default 3)
WORKER_WATCHDOG_MARGIN_S   added to a job's budget (compile + tests + checker wall limits)
                           before the watchdog kills it (default 30; covers cleanup)
WORKER_WEDGED_LIMIT_S      how long every slot may stay stuck past its budget, kills
                           notwithstanding, before /health fails (default 300)
PROBLEM_REVALIDATE_S       how long a cached problem is trusted before its ETags are
                           checked again (default 10)
WORKER_ID                  name in results and logs (default: hostname-pid)
========================== ===========================================================
"""

from __future__ import annotations

import math
import os
import socket
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from gradestack_protocol.broker import BrokerSettings

from gradestack_grading.slots import DEFAULT_LEASE_DIR, DEFAULT_UID_BASE, DEFAULT_UID_COUNT, MIN_UID_BASE


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


def available_cpus(cgroup: Path = Path("/sys/fs/cgroup")) -> int:
    """CPUs this process can keep busy: its affinity, capped by its cgroup v2 cpu.max quota.

    Judging is CPU-bound: more jobs than CPUs only makes every job slower (and TLE-prone),
    fewer leaves a paid-for CPU idle.
    """
    cpus = len(os.sched_getaffinity(0))
    try:
        quota, period = (cgroup / "cpu.max").read_text().split()[:2]
    except (OSError, ValueError):
        return max(1, cpus)
    if quota != "max" and int(period) > 0:
        cpus = min(cpus, math.ceil(int(quota) / int(period)))
    return max(1, cpus)


def _concurrency(environ: Mapping[str, str], cgroup: Path) -> int:
    raw = environ.get("WORKER_CONCURRENCY", "").strip().lower()
    if raw in ("", "auto"):
        return min(available_cpus(cgroup), 64)
    return _int(environ, "WORKER_CONCURRENCY", 1, 1, 64)


@dataclass(frozen=True)
class WorkerConfig:
    broker: BrokerSettings
    bucket: str
    region: str | None
    concurrency: int = 1
    health_port: int = 8080
    health_host: str = "0.0.0.0"  # noqa: S104  (a container port, reached through the task's ENI)
    problem_cache_dir: Path = field(default_factory=lambda: Path(tempfile.gettempdir()) / "gradestack-problems")
    uid_base: int = DEFAULT_UID_BASE
    uid_count: int = DEFAULT_UID_COUNT
    slot_lease_dir: Path = DEFAULT_LEASE_DIR
    max_attempts: int = 3
    shutdown_grace_s: int = 25
    infra_retries: int = 3
    watchdog_margin_s: int = 30
    wedged_limit_s: int = 300
    revalidate_s: int = 10
    worker_id: str = ""

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ, cgroup: Path = Path("/sys/fs/cgroup")) -> WorkerConfig:
        bucket = environ.get("GRADING_BUCKET", "").strip()
        if not bucket:
            raise ConfigError("GRADING_BUCKET is not set: the S3 bucket holding problems/ and results/")
        cache = environ.get("PROBLEM_CACHE_DIR", "").strip()
        lease_dir = environ.get("SANDBOX_SLOT_LEASE_DIR", "").strip()
        concurrency = _concurrency(environ, cgroup)
        uid_base = _int(environ, "SANDBOX_UID_BASE", DEFAULT_UID_BASE, MIN_UID_BASE, 2**31 - 100)
        # At least one uid per slot; and the range must stay below the kernel's uid limit.
        uid_count = _int(environ, "SANDBOX_UID_COUNT", DEFAULT_UID_COUNT, concurrency, 2**31 - 1 - uid_base)
        return cls(
            broker=BrokerSettings.from_env(environ),
            bucket=bucket,
            region=environ.get("AWS_REGION") or environ.get("AWS_DEFAULT_REGION") or None,
            concurrency=concurrency,
            health_port=_int(environ, "HEALTH_PORT", 8080, 0, 65535),
            health_host=environ.get("HEALTH_HOST", "").strip() or "0.0.0.0",  # noqa: S104
            problem_cache_dir=Path(cache) if cache else Path(tempfile.gettempdir()) / "gradestack-problems",
            uid_base=uid_base,
            uid_count=uid_count,
            slot_lease_dir=Path(lease_dir) if lease_dir else DEFAULT_LEASE_DIR,
            max_attempts=_int(environ, "WORKER_MAX_ATTEMPTS", 3, 1, 100),
            shutdown_grace_s=_int(environ, "WORKER_SHUTDOWN_GRACE_S", 25, 0, 3600),
            infra_retries=_int(environ, "WORKER_INFRA_RETRIES", 3, 0, 20),
            watchdog_margin_s=_int(environ, "WORKER_WATCHDOG_MARGIN_S", 30, 0, 3600),
            wedged_limit_s=_int(environ, "WORKER_WEDGED_LIMIT_S", 300, 10, 86400),
            revalidate_s=_int(environ, "PROBLEM_REVALIDATE_S", 10, 0, 86400),
            worker_id=environ.get("WORKER_ID", "").strip() or f"{socket.gethostname()}-{os.getpid()}",
        )
