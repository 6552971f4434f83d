"""Backlog benchmark: 500 queued submissions drained by 4 grading containers, as the ECS autoscaler would see it.

    sudo .venv/bin/python bench/backlog_bench.py [--workers 4] [--submissions 500] [--sample-every 3]
                                                 [--keep] [--reuse WORKDIR] [--skip-worker]

One run (bench/README.md says what each figure means):

1. Deploys a renamed copy of the local environment with ``--workers`` grading containers
   (testsupport.local_env.make_env, ``ecs_desired_count``), or takes one an earlier
   ``--keep`` run left (``--reuse``, its work directory).
2. Stops the grading containers, submits ``--submissions`` distinct correct A+B sources
   through the copy's load balancer (the verifier account's token; the local web hosts
   allow it 600 submissions a minute), waits until the outbox has sent them all, then
   starts every worker at once.
3. Every ``--sample-every`` seconds, samples the broker's QueueSize of grading.requests and
   the running grading containers (what ECS's RunningTaskCount counts), and prints the
   backlog per task the autoscaler tracks, per sample and per CloudWatch minute, computed
   by ``backlog_per_task``: the function that follows the Terraform policy's metric math.
4. Prints the drain rate, the time to empty and each worker's throughput (from the
   submissions' traces in the copy's database), then destroys the copy (always, unless
   ``--keep``), then measures the worker alone (bench/grading_bench.py) at the same total
   concurrency for the ratio.

The local broker (Debian's ActiveMQ) has no JMX, Jolokia or web console (roles/activemq
sets useJmx="false"); the bench counts the queue by browsing it over STOMP, which the broker
caps at its maxBrowsePageSize (400 messages, ActiveMQ's default). Each sample is therefore
also computed from the submissions' traces, exactly as the broker counts (a message is
in QueueSize from its send until its consumer's ack: ``outbox.publish`` to
``result.publish``; the worker acks right after publishing the result), and the two are
compared wherever the browse is below the cap. Not a test: it prints numbers, it asserts nothing.
"""

from __future__ import annotations

import argparse
import bisect
import concurrent.futures
import json
import math
import os
import re
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent

# Application Auto Scaling evaluates a target-tracking metric in periods of 60 s (the policy
# sets no period; CloudWatch metric math then works on each metric's 1-minute statistic).
PERIOD_S = 60
# ActiveMQ hands a queue browser at most maxBrowsePageSize messages (default 400).
BROWSE_CAP = 400


# --- the autoscaler's figure ----------------------------------------------------------------------


def backlog_per_task(queue_sizes: Sequence[Sequence[float]], running_tasks: Sequence[float]) -> float | None:
    """The backlog per task of one 60-s period, as CloudWatch computes the grading autoscaler's metric.

    The policy (terraform/modules/ecs-grading, ``aws_appautoscaling_policy.backlog``) returns
    ``(FILL(queue0, 0) + FILL(queue1, 0) ...) / IF(tasks > 0, tasks, 1)`` where ``queue<i>`` is
    the ``Average`` of AWS/AmazonMQ ``QueueSize`` (Broker = the i-th broker instance, Queue =
    grading.requests) over the period and ``tasks`` the ``Average`` of ECS/ContainerInsights
    ``RunningTaskCount`` of the grading service.

    ``queue_sizes``: per broker instance (``<broker>-1`` and, active/standby, ``<broker>-2``),
    its QueueSize datapoints in the period (Amazon MQ publishes one a minute); an instance
    without any (the standby publishes nothing) counts 0, as FILL does. ``running_tasks``:
    the RunningTaskCount datapoints in the period. With 0 running tasks the whole backlog
    is the figure (divided by 1), so the autoscaler still scales out from nothing. Without a
    RunningTaskCount datapoint the division has no operand at that timestamp and the
    expression has no value (None): the policy's alarms see missing data and do not scale.
    """
    if not running_tasks:
        return None
    queued = sum(sum(points) / len(points) if points else 0.0 for points in queue_sizes)
    tasks = sum(running_tasks) / len(running_tasks)
    return queued / (tasks if tasks > 0 else 1)


@dataclass(frozen=True)
class Sample:
    at: float  # epoch seconds
    browsed: int | None  # the broker's count by browsing (capped at BROWSE_CAP); None if the browse failed
    running: int  # running grading containers
    queue_size: int | None = None  # the broker's QueueSize, from the traces (filled in after the drain)

    @property
    def capped(self) -> bool:
        return self.browsed is not None and self.browsed >= BROWSE_CAP


def per_period(samples: Iterable[Sample], period_s: int = PERIOD_S) -> list[tuple[float, float | None, int]]:
    """(period start, backlog per task, samples) per CloudWatch period, periods aligned on the epoch as CloudWatch's."""
    buckets: dict[float, list[Sample]] = {}
    for sample in samples:
        buckets.setdefault(math.floor(sample.at / period_s) * period_s, []).append(sample)
    return [
        (
            start,
            backlog_per_task([[s.queue_size for s in group if s.queue_size is not None]], [s.running for s in group]),
            len(group),
        )
        for start, group in sorted(buckets.items())
    ]


def queue_size_at(at: float, sent: Sequence[float], acked: Sequence[float]) -> int:
    """Messages sent to the queue by ``at`` and not yet acked: what ActiveMQ (and Amazon MQ) report as QueueSize.

    ``sent`` and ``acked`` sorted epoch seconds: each request's ``outbox.publish`` and ``result.publish`` stamps.
    """
    return bisect.bisect_right(sent, at) - bisect.bisect_right(acked, at)


# --- the copy of the local environment ------------------------------------------------------------


def podman(*args: str) -> str:
    return subprocess.run(["podman", *args], check=True, capture_output=True, text=True).stdout


def grading_containers(env_name: str, running_only: bool) -> list[str]:
    filters = [
        "--filter",
        f"label=io.gradestack.environment={env_name}",
        "--filter",
        "label=io.gradestack.role=grading",
    ]
    if running_only:
        filters += ["--filter", "status=running"]
    return podman("ps", "--all", *filters, "--format", "{{.Names}}").split()


def psql(db_container: str, sql: str) -> list[list[str]]:
    """Rows of a query run as the database superuser inside the copy's database container."""
    out = podman(
        "exec", db_container, "runuser", "-u", "postgres", "--", "psql", "-d", "gradestack", "-AtF", "\t", "-c", sql
    )
    return [line.split("\t") for line in out.splitlines() if line]


class BrokerCounter:
    """Counts grading.requests by browsing it over STOMP (ActiveMQ's ``browser: true`` subscription)."""

    def __init__(self, address: str, username: str, password: str) -> None:
        from gradestack_protocol.broker import BrokerSettings  # noqa: PLC0415  (the bench's runtime needs only)

        self.settings = BrokerSettings.from_env(
            {"MQ_ENDPOINTS": f"stomp://{address}:61613", "MQ_USERNAME": username, "MQ_PASSWORD": password}
        )

    def count(self, queue: str = "/queue/grading.requests", timeout: float = 30) -> int | None:
        import stomp  # noqa: PLC0415
        from gradestack_protocol.broker import connect  # noqa: PLC0415

        done = threading.Event()
        seen = [0]

        class Listener(stomp.ConnectionListener):
            def on_message(self, frame) -> None:
                if frame.headers.get("browser") == "end":  # the broker's end-of-browse marker
                    done.set()
                else:
                    seen[0] += 1

        # A failed sample is reported and recorded as missing; it must not end the sampling.
        try:
            conn = connect(self.settings, listener=Listener())
        except (ConnectionError, OSError, stomp.exception.StompException) as error:
            print(f"  (browse failed: {error})", file=sys.stderr)
            return None
        try:
            conn.subscribe(queue, id="backlog-bench-browse", ack="auto", headers={"browser": "true"})
            return seen[0] if done.wait(timeout) else None
        finally:
            conn.disconnect()


def submit_all(url: str, token: str, count: int, threads: int) -> list[str]:
    """``count`` distinct correct A+B submissions through the load balancer; their ids."""
    from pipeline_bench import Client, distinct_source  # noqa: PLC0415  (needs gradestack_protocol)

    client = Client(url, token)

    def one(index: int) -> str:
        while True:
            status, body = client.call(
                "/api/submissions",
                {
                    "problem_id": "aplusb",
                    "language": "c",
                    "source": distinct_source(f"backlog-{time.time_ns()}-{index}"),
                },
            )
            if status == 201:
                return body["id"]
            if status == 429:  # the per-account limit: wait as told, then send it again
                time.sleep(float(body.get("retry_after", 5)))
                continue
            raise SystemExit(f"submission refused: {status} {body}")

    with concurrent.futures.ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(one, range(count)))


def wait_for(what: str, check, timeout: float, every: float = 1.0):
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value:
            return value
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(every)


def drain(env, submissions: int, threads: int, sample_every: float) -> dict:
    """The measurement on a deployed copy: stop the workers, queue, start them, sample until the queue is empty."""
    state = Path(env.extra_vars["gradestack_state_dir"])
    endpoints = json.loads((state / "endpoints.json").read_text())["hosts"]
    db = endpoints["db"]["container"]
    broker = BrokerCounter(endpoints["mq"]["address"], "gradestack-app", (state / "mq_password").read_text().strip())
    workers = grading_containers(env.name, running_only=False)
    if not workers:
        raise SystemExit(f"environment {env.name} has no grading container")
    print(f"{env.name}: {len(workers)} grading containers ({', '.join(workers)}), load balancer {env.lb_url}")

    samples: list[Sample] = []
    stop = threading.Event()

    def sampler() -> None:
        while not stop.is_set():
            at = time.time()
            browsed = broker.count()
            samples.append(Sample(at, browsed, len(grading_containers(env.name, running_only=True))))
            stop.wait(max(0.0, sample_every - (time.time() - at)))

    podman("stop", *workers)  # SIGTERM: each hands its prefetched requests back and exits
    ids = []
    thread = threading.Thread(target=sampler, daemon=True)
    thread.start()
    try:
        posted = time.time()
        ids = submit_all(env.lb_url, env.api_token, submissions, threads)
        print(f"queued {len(ids)} submissions in {time.time() - posted:.1f} s (workers stopped)")
        # The app's own ids (hex and dashes), checked before they go into SQL text.
        if not all(re.fullmatch(r"[A-Za-z0-9-]+", i) for i in ids):
            raise SystemExit(f"unexpected submission ids: {ids[:5]}")
        id_list = "(" + ",".join(f"'{i}'" for i in ids) + ")"
        wait_for(
            "the outbox to send every submission",
            lambda: psql(db, "SELECT count(*) FROM outbox WHERE sent_at IS NULL") == [["0"]],
            timeout=300,
        )
        started = time.time()
        podman("start", *workers)
        print(f"started {len(workers)} workers at once; sampling every {sample_every:g} s")
        wait_for(
            "every submission's verdict",
            lambda: (
                psql(db, f"SELECT count(*) FROM submissions WHERE state = 'done' AND id IN {id_list}")  # noqa: S608
                == [[str(len(ids))]]
            ),
            timeout=1800,
            every=sample_every,
        )
        time.sleep(sample_every)  # one sample after the last ack
    finally:
        stop.set()
        thread.join(timeout=120)
        # A stopped worker must never stay stopped (with --keep the copy stays usable).
        podman("start", *workers)

    columns = "id, verdict, worker, trace->>'outbox.publish', trace->>'result.publish'"
    rows = psql(db, f"SELECT {columns} FROM submissions WHERE id IN {id_list}")  # noqa: S608  (ids checked above)
    sent = sorted(float(r[3]) for r in rows)
    acked = sorted(float(r[4]) for r in rows)
    samples = [Sample(s.at, s.browsed, s.running, queue_size_at(s.at, sent, acked)) for s in samples]
    per_worker: dict[str, list[float]] = {}
    for row in rows:
        per_worker.setdefault(row[2], []).append(float(row[4]))
    return {
        "submissions": len(ids),
        "verdicts": {v: sum(1 for r in rows if r[1] == v) for v in sorted({r[1] for r in rows})},
        "workers": workers,
        "started": started,
        "first_ack": acked[0],
        "last_ack": acked[-1],
        "all_sent_before_start": sent[-1] <= started,
        "samples": samples,
        "per_worker": {name: len(times) for name, times in sorted(per_worker.items())},
    }


def report(result: dict) -> dict:
    started, samples = result["started"], result["samples"]
    n = result["submissions"]
    to_empty = result["last_ack"] - started
    steady = (n - 1) / (result["last_ack"] - result["first_ack"])
    print(
        f"\nverdicts: {result['verdicts']}; all {n} sent before the workers started: {result['all_sent_before_start']}"
        f"\ndrain: {n} submissions, empty {to_empty:.1f} s after the workers were started: "
        f"{n / to_empty:.2f} submissions/s; from the first ack to the last: {steady:.2f} submissions/s "
        f"(first ack {result['first_ack'] - started:.1f} s after the start: the workers' boot)"
    )
    workers = len(result["workers"])
    print(f"per worker ({workers}), submissions and submissions/s over the drain:")
    for name, count in result["per_worker"].items():
        print(f"  {name:<40} {count:5d}   {count / to_empty:6.2f}/s")
    print(
        f"\nsamples (t from the start; QueueSize from the traces, the broker's own browse beside it, capped at "
        f"{BROWSE_CAP}; backlog per task as the autoscaler computes it for a period holding only this sample):"
    )
    print(f"  {'t, s':>7} {'QueueSize':>10} {'browsed':>8} {'running':>8} {'backlog/task':>13}")
    for s in samples:
        value = backlog_per_task([[s.queue_size]], [s.running])
        browsed = "-" if s.browsed is None else f"{s.browsed}{'+' if s.capped else ''}"
        print(f"  {s.at - started:7.1f} {s.queue_size:10d} {browsed:>8} {s.running:8d} {value:13.1f}")
    compared = [s for s in samples if s.browsed is not None and not s.capped]
    gap = max((abs(s.browsed - s.queue_size) for s in compared), default=math.nan)
    print(f"  the broker's browse against the traces, {len(compared)} samples below the cap: largest difference {gap}")
    print("per CloudWatch minute (Average of the samples in the period, then the policy's expression):")
    periods = per_period(samples)
    for start, value, points in periods:
        shown = "no data" if value is None else f"{value:.1f}"
        print(f"  minute from {start - started:+6.0f} s: backlog per task {shown:>8} ({points} samples)")
    return {
        "submissions": n,
        "workers": workers,
        "time_to_empty_s": to_empty,
        "drain_per_second": n / to_empty,
        "steady_per_second": steady,
        "per_worker_per_second": {k: v / to_empty for k, v in result["per_worker"].items()},
        "browse_vs_traces_max_difference": gap,
        "per_minute_backlog_per_task": [value for _, value, _ in periods],
        "peak_sample_backlog_per_task": max(backlog_per_task([[s.queue_size]], [s.running]) or 0 for s in samples),
    }


# --- main ------------------------------------------------------------------------------------------


def load_env(workdir: Path):
    from testsupport.local_env import LocalEnv  # noqa: PLC0415

    fields = json.loads((workdir / "env.json").read_text())
    return LocalEnv(**{**fields, "workdir": workdir, "inventory": Path(fields["inventory"])})


def save_env(env) -> None:
    fields = {"name": env.name, "inventory": str(env.inventory), "extra_vars": env.extra_vars, "lb_url": env.lb_url}
    (env.workdir / "env.json").write_text(json.dumps(fields, indent=2, default=str))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--workers", type=int, default=4, help="grading containers (ecs_desired_count)")
    parser.add_argument("--submissions", type=int, default=500, help="queued before the workers start")
    parser.add_argument("--threads", type=int, default=8, help="clients submitting at once")
    parser.add_argument("--sample-every", type=float, default=3.0, help="seconds between QueueSize samples")
    parser.add_argument("--reuse", type=Path, help="the work directory of a copy an earlier --keep run deployed")
    parser.add_argument("--keep", action="store_true", help="leave the copy deployed (and print its work directory)")
    parser.add_argument("--skip-worker", action="store_true", help="no worker-alone measurement (no root needed)")
    args = parser.parse_args()
    sys.path[:0] = [str(REPO), str(REPO / "services" / "protocol"), str(REPO / "bench")]
    os.environ.pop("AWS_PROFILE", None)  # the local copy uses its own keys for its S3 stand-in
    os.environ.pop("AWS_DEFAULT_PROFILE", None)
    from testsupport.local_env import leftovers, make_env, tail  # noqa: PLC0415

    out: dict = {"cpus": os.cpu_count(), "load_before": os.getloadavg()}
    if args.reuse:
        env = load_env(args.reuse.resolve())
    else:
        workdir = Path(tempfile.mkdtemp(prefix="backlog-bench-"))
        settings = {"ecs_desired_count": args.workers, "ecs_max_capacity": args.workers}
        env = make_env(workdir, prefix="gsbacklog", settings=settings)
        save_env(env)
    try:
        if not args.reuse:
            print(f"deploying {env.name} ({args.workers} grading containers) from {env.workdir} ...", flush=True)
            # Without the schedule stage: the scheduled verifier is no part of the measurement (its timer would
            # not fire during it anyway, make_env sets a day), and under load its container's systemd can miss
            # the stage's wait ("Failed to connect to bus"), which would throw the whole deploy away.
            result = env.run("deploy.yml", "deploy", args=["--skip-tags", "schedule"])
            print(f"deployed in {env.timings['deploy']:.0f} s (rc {result.returncode})")
            out["deploy_seconds"] = env.timings["deploy"]
            if result.returncode != 0:
                print(tail(result), file=sys.stderr)
                return 1
        out["drain"] = report(drain(env, args.submissions, args.threads, args.sample_every))
        out["load_after_drain"] = os.getloadavg()
    finally:
        if args.keep:
            print(f"kept {env.name}: --reuse {env.workdir}")
        else:
            result = env.run("destroy.yml", "destroy")
            left = {kind: names for kind, names in leftovers(env).items() if names}
            print(f"destroyed {env.name} (rc {result.returncode}); left behind: {left or 'nothing'}")
            if result.returncode != 0:
                print(tail(result), file=sys.stderr)
    if not args.skip_worker:
        if os.geteuid() != 0:
            print(
                "the worker-alone part needs root (the sandbox switches to slot uids); --skip-worker", file=sys.stderr
            )
            return 2
        worker_alone(out, args.submissions, args.workers)
    print(json.dumps(out, indent=2, default=float))
    return 0


def worker_alone(out: dict, jobs: int, workers: int) -> None:
    """The worker alone at the deployment's total concurrency, and the ratio of the drain to it."""
    from grading_bench import measure_worker_alone  # noqa: PLC0415  (needs root, gcc, activemq: only here)

    # One slot per container (grading_service_worker_concurrency): the same total concurrency.
    alone = out["worker_alone"] = measure_worker_alone(jobs, workers)
    d = out["drain"]
    out["ratio_drain_vs_worker_alone"] = d["drain_per_second"] / alone["per_second"]
    print(
        f"\nworker alone (its own ActiveMQ and moto, concurrency {workers}): {alone['per_second']:.2f} "
        f"submissions/s for {alone['jobs']} at once"
        f"\nside by side: drain {d['drain_per_second']:.2f}/s (from the first ack {d['steady_per_second']:.2f}/s), "
        f"worker alone {alone['per_second']:.2f}/s: ratio {out['ratio_drain_vs_worker_alone']:.2f} "
        f"({d['steady_per_second'] / alone['per_second']:.2f} from the first ack)"
    )


if __name__ == "__main__":
    raise SystemExit(main())
