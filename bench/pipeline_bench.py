"""Pipeline benchmark: submit to final verdict through the deployed local environment, beside the worker alone.

    sudo .venv/bin/python bench/pipeline_bench.py [--url http://127.0.0.1:8088] [--sequential 20]
                                                  [--burst 60] [--in-flight 20] [--skip-worker]

Three measurements in one run (bench/README.md says what each figure means):

1. Sequential: N single submissions (C, A+B, each source distinct), one after the other,
   through the load balancer: p50/p95 from the POST to the poll that sees the final
   verdict, and the p50 of every stage of the submissions' ``timing`` (the trace the
   messages carry, gradestack_protocol.trace).
2. Burst: 60 distinct correct submissions, 20 in flight at a time: throughput (first POST
   to last final verdict), p50/p95, and the count of IE verdicts (must be 0).
3. The worker alone (bench/grading_bench.py's measurement) at the deployment's total
   worker concurrency: its throughput and its one-at-a-time latency, and the ratios
   pipeline / worker alone.

It talks to the deployment as a user does (the JSON API with a personal token: by
default the verifier account's, which the deploy creates under .state/local/). The worker
part needs root (the sandbox switches to slot uids), gcc, Debian's activemq and a JRE.
Not a test: it prints numbers and ratios, it asserts nothing.
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import math
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from gradestack_protocol.trace import INTERVALS  # noqa: E402

SOURCE = (REPO / "problems" / "aplusb" / "solutions" / "ac.c").read_text()
STAGES = [name for name, _, _ in INTERVALS]
# How often a waiting client asks for its verdict. Sequential: 20 ms, so that the client's
# figure is within 20 ms of the server's own (timing.total). Burst: 100 ms by default
# (--burst-poll): 20 pollers then send 200 requests/s, ten times what browsers send (the
# status page polls after 1 s, then less often), and that load competes with the workers.
SEQUENTIAL_POLL_S = 0.02
BURST_POLL_S = 0.1


# --- pure helpers (tests/unit/test_pipeline_bench.py) ------------------------------------------


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) by linear interpolation between closest ranks; NaN for no values."""
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def breakdown(timings: Iterable[Mapping[str, float]], q: float = 50) -> dict[str, float]:
    """Per stage, the ``q``-th percentile over the submissions that have it, in the trace's stage order."""
    samples: dict[str, list[float]] = {}
    for timing in timings:
        for stage, ms in timing.items():
            samples.setdefault(stage, []).append(ms)
    order = {stage: index for index, stage in enumerate(STAGES)}
    return {
        stage: percentile(values, q)
        for stage, values in sorted(samples.items(), key=lambda item: order.get(item[0], len(order)))
    }


def distinct_source(tag: str) -> str:
    """The A+B solution with a comment of its own: no two submissions of a run are the same text."""
    return f"{SOURCE}\n/* pipeline bench {tag} */\n"


# --- talking to the deployment -------------------------------------------------------------------


@dataclass
class Outcome:
    submission_id: str
    verdict: str
    seconds: float  # POST sent to the final verdict seen by polling
    started_at: float  # time.monotonic() when the POST was sent
    finished_at: float  # time.monotonic() when the final verdict was seen
    timing: dict[str, float] = field(default_factory=dict)

    @property
    def written_at(self) -> float:
        """When the verdict was written (db.write), on this client's clock: the POST plus the trace's total.

        Independent of how often the client polls; the request's trip to the app (well under
        a millisecond on this machine) is the only difference to the server's own moment.
        """
        return self.started_at + self.timing.get("total", self.seconds * 1000) / 1000


class Client:
    def __init__(self, url: str, token: str) -> None:
        self.url = url.rstrip("/")
        self.token = token

    def call(self, path: str, body: dict | None = None, timeout: float = 30) -> tuple[int, dict]:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Authorization": f"Bearer {self.token}"}
        if data is not None:
            headers["Content-Type"] = "application/json"
        request = urllib.request.Request(self.url + path, data=data, headers=headers)  # noqa: S310  (--url)
        try:
            with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310
                return response.status, json.load(response)
        except urllib.error.HTTPError as error:
            return error.code, {"error": error.read().decode(errors="replace")[:300]}

    def submit_and_wait(self, tag: str, poll_s: float, patience_s: float = 600) -> Outcome:
        started = time.monotonic()
        status, body = self.call(
            "/api/submissions", {"problem_id": "aplusb", "language": "c", "source": distinct_source(tag)}
        )
        if status != 201:
            raise SystemExit(f"submission refused: {status} {body}")
        submission_id = body["id"]
        while True:
            status, body = self.call(f"/api/submissions/{submission_id}")
            if status == 200 and body["final"]:
                now = time.monotonic()
                return Outcome(submission_id, body["verdict"], now - started, started, now, body.get("timing", {}))
            if time.monotonic() - started > patience_s:
                raise SystemExit(f"submission {submission_id} not final after {patience_s:.0f} s: {status} {body}")
            time.sleep(poll_s)


def deployed_worker_concurrency(environment: str) -> tuple[int, list[str]]:
    """Total judging slots of the environment's grading containers, from each one's "worker started" log line."""
    names = subprocess.run(
        [
            "podman", "ps", "--filter", f"label=io.gradestack.environment={environment}",
            "--filter", "label=io.gradestack.role=grading", "--format", "{{.Names}}",
        ],
        check=True, capture_output=True, text=True,
    ).stdout.split()  # fmt: skip
    total = 0
    for name in names:
        logs = subprocess.run(["podman", "logs", name], check=True, capture_output=True, text=True)
        slots = 0
        for line in (logs.stdout + logs.stderr).splitlines():
            try:
                record = json.loads(line)
            except ValueError:
                continue
            if isinstance(record, dict) and record.get("message") == "worker started":
                slots = len(record.get("slot_uids", []))  # the last start counts (a restarted container)
        total += slots
    return total, names


# --- the measurements ------------------------------------------------------------------------------


def sequential(client: Client, count: int) -> list[Outcome]:
    client.submit_and_wait("warm-up", SEQUENTIAL_POLL_S)  # first compile after a deploy, caches
    return [client.submit_and_wait(f"seq-{time.time_ns()}-{i}", SEQUENTIAL_POLL_S) for i in range(count)]


def burst(client: Client, count: int, in_flight: int, poll_s: float) -> tuple[list[Outcome], float, float]:
    """The outcomes, and the burst's duration as the clients saw it and as the verdicts were written."""

    def one(index: int) -> Outcome:
        return client.submit_and_wait(f"burst-{time.time_ns()}-{index}", poll_s)

    started = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(max_workers=in_flight) as pool:
        outcomes = list(pool.map(one, range(count)))
    return outcomes, max(o.finished_at for o in outcomes) - started, max(o.written_at for o in outcomes) - started


def summary(outcomes: list[Outcome]) -> dict[str, float]:
    seconds = [o.seconds * 1000 for o in outcomes]
    totals = [o.timing["total"] for o in outcomes if "total" in o.timing]
    return {
        "count": len(outcomes),
        "p50_ms": percentile(seconds, 50),
        "p95_ms": percentile(seconds, 95),
        "server_total_p50_ms": percentile(totals, 50),
        "ie": sum(1 for o in outcomes if o.verdict == "IE"),
        "not_ac": sum(1 for o in outcomes if o.verdict != "AC"),
    }


def print_breakdown(title: str, outcomes: list[Outcome]) -> dict[str, float]:
    p50 = breakdown(o.timing for o in outcomes)
    p95 = breakdown((o.timing for o in outcomes), 95)
    print(f"  {title} (from each submission's timing; {len(outcomes)} submissions)")
    for stage, ms in p50.items():
        print(f"    {stage:<20} p50 {ms:8.1f} ms   p95 {p95[stage]:8.1f} ms")
    return p50


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", default="http://127.0.0.1:8088", help="the load balancer (make local prints it)")
    parser.add_argument("--token-file", type=Path, default=REPO / ".state" / "local" / "verify_api_token")
    parser.add_argument("--environment", default="local", help="its containers' label io.gradestack.environment")
    parser.add_argument("--sequential", type=int, default=20, help="single submissions, one after the other")
    parser.add_argument("--burst", type=int, default=60, help="submissions of the burst")
    parser.add_argument("--in-flight", type=int, default=20, help="burst submissions in flight at a time")
    parser.add_argument(
        "--burst-poll", type=float, default=BURST_POLL_S, help="seconds between a burst client's polls (browser: 1+)"
    )
    parser.add_argument("--worker-concurrency", type=int, default=0, help="default: read from the containers")
    parser.add_argument("--skip-worker", action="store_true", help="no worker-alone measurement (no root needed)")
    args = parser.parse_args()
    token = os.environ.get("BENCH_API_TOKEN") or args.token_file.read_text().strip()
    client = Client(args.url, token)
    concurrency, containers = deployed_worker_concurrency(args.environment)
    concurrency = args.worker_concurrency or concurrency
    if concurrency < 1:
        raise SystemExit(f"no grading container of environment {args.environment!r} has started; is it deployed?")
    report: dict = {
        "cpus": os.cpu_count(),
        "url": args.url,
        "worker_containers": containers,
        "concurrency": concurrency,
    }
    print(f"deployment {args.url}: {len(containers)} grading container(s), {concurrency} judging slot(s) in all")

    seq = sequential(client, args.sequential)
    report["sequential"] = summary(seq)
    s = report["sequential"]
    print(
        f"\n1. sequential, {s['count']} single submissions (C, A+B): submit to final verdict "
        f"p50 {s['p50_ms']:.0f} ms, p95 {s['p95_ms']:.0f} ms (server's own total p50 {s['server_total_p50_ms']:.0f} ms)"
    )
    report["sequential_breakdown_p50_ms"] = seq_p50 = print_breakdown("per stage", seq)

    outcomes, elapsed, written = burst(client, args.burst, args.in_flight, args.burst_poll)
    b = {**summary(outcomes), "seconds": elapsed, "per_second": len(outcomes) / elapsed}
    report["burst"] = b = {**b, "written_seconds": written, "written_per_second": len(outcomes) / written}
    print(
        f"\n2. burst, {b['count']} distinct correct submissions, {args.in_flight} in flight, polling every "
        f"{args.burst_poll:g} s: {b['per_second']:.2f} submissions/s seen by the clients ({elapsed:.1f} s), "
        f"{b['written_per_second']:.2f} by the verdicts written ({written:.1f} s); p50 {b['p50_ms']:.0f} ms, "
        f"p95 {b['p95_ms']:.0f} ms, IE {b['ie']} (goal 0), not AC {b['not_ac']}"
    )
    report["burst_breakdown_p50_ms"] = print_breakdown("per stage", outcomes)

    judge_p50 = seq_p50.get("judge", math.nan)
    overhead = s["p50_ms"] - judge_p50
    print(
        f"\n   sequential p50 minus the judge's own p50 ({judge_p50:.0f} ms): {overhead:.0f} ms "
        f"(goal <= 100 ms); server side: {s['server_total_p50_ms'] - judge_p50:.0f} ms"
    )
    report["sequential_overhead_ms"] = overhead
    if args.skip_worker:
        print(json.dumps(report, indent=2))
        return 0
    if os.geteuid() != 0:
        print("the worker-alone part needs root (the sandbox switches to slot uids); --skip-worker", file=sys.stderr)
        return 2

    from grading_bench import measure_worker_alone  # noqa: PLC0415  (needs root, gcc, activemq: only here)

    alone = report["worker_alone"] = measure_worker_alone(args.burst, concurrency, singles=args.sequential)
    single_p50 = percentile([x * 1000 for x in alone["single_seconds"]], 50)
    alone_judge_p50 = percentile(alone["single_judge_ms"], 50)
    print(
        f"\n3. worker alone (its own ActiveMQ and moto, concurrency {concurrency}): "
        f"{alone['per_second']:.2f} submissions/s for {alone['jobs']} at once; one at a time p50 {single_p50:.0f} ms "
        f"(judge p50 {alone_judge_p50:.0f} ms)"
    )
    ratios = report["ratios"] = {
        "burst_throughput_vs_worker_alone": b["per_second"] / alone["per_second"],
        "burst_written_throughput_vs_worker_alone": b["written_per_second"] / alone["per_second"],
        "sequential_p50_vs_worker_alone_single_p50": s["p50_ms"] / single_p50,
        "sequential_p50_minus_judge_ms": overhead,
        "worker_alone_single_p50_minus_judge_ms": single_p50 - alone_judge_p50,
    }
    print("\nside by side:")
    print(f"  {'figure':<46}{'pipeline':>12}{'worker alone':>14}{'ratio':>8}")
    print(
        f"  {'throughput, submissions/s':<46}{b['per_second']:>12.2f}{alone['per_second']:>14.2f}"
        f"{ratios['burst_throughput_vs_worker_alone']:>8.2f}   (goal >= 0.8)"
    )
    print(
        f"  {'  the same, by the verdicts written':<46}{b['written_per_second']:>12.2f}{alone['per_second']:>14.2f}"
        f"{ratios['burst_written_throughput_vs_worker_alone']:>8.2f}"
    )
    print(
        f"  {'one submission, p50 ms':<46}{s['p50_ms']:>12.0f}{single_p50:>14.0f}"
        f"{ratios['sequential_p50_vs_worker_alone_single_p50']:>8.2f}"
    )
    print(f"  {'one submission, p50 minus judge p50, ms':<46}{overhead:>12.0f}{single_p50 - alone_judge_p50:>14.0f}")
    print(json.dumps(report, indent=2, default=float))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
