"""Grading benchmark: the judge's overhead and a worker's throughput, measured side by side.

    sudo .venv/bin/python bench/grading_bench.py [--rounds 5] [--runs 200] [--jobs 24]

Three measurements, each comparing like with like in one run (interleaved, medians):

1. Judge vs bare toolchain, per submission: ``Judge.judge`` on problems/aplusb with
   ac.cpp (compile-dominated: <iostream> takes most of a second to compile) against
   ``g++ <same flags> && ./prog < NN.in`` for every test, with plain subprocesses.
   Goal: overhead under 10 %.
2. Run-phase overhead per test: ``sandbox.run`` of the compiled ac.c on one test
   (new process group, slot uid, rlimits, seccomp, capped pipes, rusage) against a
   bare ``subprocess.run`` of the same binary on the same input. Goal: under 5 ms.
3. Worker throughput, submissions per second, at WORKER_CONCURRENCY 1 and 2: a real
   ActiveMQ and moto S3 (started here, as the tests do), a worker process, N aplusb
   submissions in C published at once, timed from the first send to the last done result.

Needs root (the sandbox switches to slot uids), gcc/g++, Debian's activemq and a JRE.
Not a test: it prints numbers and ratios, it asserts nothing.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

import boto3  # noqa: E402
import stomp  # noqa: E402
from gradestack_grading import sandbox  # noqa: E402
from gradestack_grading.judge import RUN_ENV, Judge  # noqa: E402
from gradestack_grading.languages import get_languages  # noqa: E402
from gradestack_grading.problem_store import upload_problem  # noqa: E402
from gradestack_protocol import GradingRequest, GradingResult, load_problem  # noqa: E402
from gradestack_protocol.broker import BrokerSettings, connect  # noqa: E402
from gradestack_protocol.messages import REQUEST_QUEUE, RESULT_QUEUE  # noqa: E402
from gradestack_protocol.trace import timing  # noqa: E402

from testsupport.activemq import start_activemq  # noqa: E402
from testsupport.moto import start_moto  # noqa: E402
from testsupport.ports import free_port, wait_for_port  # noqa: E402

APLUSB = REPO / "problems" / "aplusb"
UID_BASE = int(os.environ.get("BENCH_UID_BASE", "61000"))  # clear of the tests' 41000-60999


def median_ms(values: list[float]) -> float:
    return statistics.median(values) * 1000


# --- 1. judge vs bare g++ && ./a.out ------------------------------------------------------


def cpu_seconds() -> float:
    """CPU used so far by this process and every child it has reaped (the judged programs included)."""
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def bare_compile_and_run(source: Path, problem) -> tuple[float, float]:
    lang = get_languages()["cpp"]
    with tempfile.TemporaryDirectory() as tmp:
        cpu = cpu_seconds()
        started = time.perf_counter()
        (Path(tmp) / lang.source_name).write_bytes(source.read_bytes())
        subprocess.run(list(lang.compile), cwd=tmp, check=True, capture_output=True)
        for test in problem.tests:
            with test.input_path.open("rb") as stdin:
                subprocess.run([str(Path(tmp) / "prog")], stdin=stdin, capture_output=True, check=True)
            test.output_path.read_bytes()
        return time.perf_counter() - started, cpu_seconds() - cpu


def judge_once(judge: Judge, problem, source: Path) -> tuple[float, float]:
    cpu = cpu_seconds()
    started = time.perf_counter()
    report = judge.judge(problem, "cpp", source.read_text())
    elapsed = time.perf_counter() - started, cpu_seconds() - cpu
    if report.verdict != "AC":
        raise SystemExit(f"benchmark source was judged {report.verdict}: {report.to_json()}")
    return elapsed


def bench_judge(rounds: int) -> dict:
    problem = load_problem(APLUSB)
    source = APLUSB / "solutions" / "ac.cpp"
    slot = sandbox.acquire_slot(UID_BASE)
    judge = Judge(slot)
    judge_once(judge, problem, source)  # warm-up: builds the supervisor, exports seccomp, fills caches
    bare_compile_and_run(source, problem)
    bare, judged = [], []
    for _ in range(rounds):
        bare.append(bare_compile_and_run(source, problem))
        judged.append(judge_once(judge, problem, source))
    slot.release()
    b, j = median_ms([w for w, _ in bare]), median_ms([w for w, _ in judged])
    bc, jc = median_ms([c for _, c in bare]), median_ms([c for _, c in judged])
    return {
        "tests": len(problem.tests),
        "bare_ms": b,
        "judge_ms": j,
        "overhead_pct": (j / b - 1) * 100,
        "bare_cpu_ms": bc,
        "judge_cpu_ms": jc,
        "cpu_overhead_pct": (jc / bc - 1) * 100,
    }


# --- 2. run phase per test -----------------------------------------------------------------


def bench_run_phase(runs: int) -> dict:
    problem = load_problem(APLUSB)
    slot = sandbox.acquire_slot(UID_BASE)
    judge = Judge(slot)
    lang = get_languages()["c"]
    limits = judge.run_limits(problem, lang)
    test = problem.tests[0]
    with tempfile.TemporaryDirectory() as tmp:
        os.chmod(tmp, 0o755)  # noqa: S103  (the slot uid must reach the program)
        subprocess.run(
            [*lang.compile[:5], "-o", f"{tmp}/prog", str(APLUSB / "solutions" / "ac.c"), "-lm"],
            check=True,
            capture_output=True,
        )
        prog = f"{tmp}/prog"
        bare, boxed = [], []
        for _ in range(runs):
            started = time.perf_counter()
            with test.input_path.open("rb") as stdin:
                subprocess.run([prog], stdin=stdin, capture_output=True, check=True, env=RUN_ENV)
            bare.append(time.perf_counter() - started)
            started = time.perf_counter()
            result = sandbox.run(
                [prog], slot=slot, cwd=Path(tmp), limits=limits, env=RUN_ENV, run_phase=True, stdin_path=test.input_path
            )
            boxed.append(time.perf_counter() - started)
            if result.stdout.strip() != b"3":
                raise SystemExit(f"sandboxed run misbehaved: {result}")
    slot.release()
    b, s = median_ms(bare), median_ms(boxed)
    return {"runs": runs, "bare_ms": b, "sandbox_ms": s, "overhead_ms": s - b}


# --- 3. worker throughput ------------------------------------------------------------------


class _Done(stomp.ConnectionListener):
    def __init__(self, wanted: set[str]) -> None:
        self.wanted = wanted
        self.done: dict[str, str] = {}
        self.timing: dict[str, dict[str, float]] = {}  # the worker's stages, from the result's trace
        self.finished = threading.Event()

    def on_message(self, frame) -> None:
        result = GradingResult.from_json(frame.body)
        if result.state == "done" and result.submission_id in self.wanted:
            self.done[result.submission_id] = result.verdict or ""
            self.timing[result.submission_id] = timing(result.trace)
            if len(self.done) == len(self.wanted):
                self.finished.set()


@contextlib.contextmanager
def worker_stack(tmp: Path) -> Iterator[tuple[Any, Any, str]]:
    """A private ActiveMQ and moto S3 with a grading bucket holding problems/aplusb: (broker, moto, bucket)."""
    broker = start_activemq(tmp / "broker")
    moto = start_moto(tmp)
    try:
        kwargs = {"endpoint_url": moto.endpoint, "region_name": "ap-northeast-2"}
        s3 = boto3.client("s3", aws_access_key_id="bench", aws_secret_access_key="bench", **kwargs)  # noqa: S106
        bucket = f"grading-bench-{uuid.uuid4().hex[:6]}"
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-2"})
        upload_problem(s3, bucket, APLUSB)
        yield broker, moto, bucket
    finally:
        broker.stop()
        moto.process.terminate()
        moto.process.wait(timeout=30)


def measure_worker_alone(jobs: int, concurrency: int, singles: int = 0) -> dict:
    """The worker alone, in a stack of its own: throughput of ``jobs`` at once and ``singles`` one-at-a-time latencies.

    What bench/pipeline_bench.py compares the deployed pipeline with, in the same run.
    """
    with tempfile.TemporaryDirectory() as tmp_name, worker_stack(Path(tmp_name)) as (broker, moto, bucket):
        return bench_worker(
            jobs, concurrency, broker=broker, moto=moto, bucket=bucket, tmp=Path(tmp_name), singles=singles
        )


def bench_worker(jobs: int, concurrency: int, *, broker, moto, bucket: str, tmp: Path, singles: int = 0) -> dict:
    """Throughput: ``jobs`` distinct aplusb C submissions published at once, first send to last done result.

    ``singles``: as many more, one at a time, each timed from its send to its done result
    (the worker's own latency, broker round trips included).
    """
    health_port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MQ_"))}
    env |= broker.endpoints_env() | moto.client_env()
    env |= {
        "GRADING_BUCKET": bucket,
        "HEALTH_PORT": str(health_port),
        "HEALTH_HOST": "127.0.0.1",
        "WORKER_CONCURRENCY": str(concurrency),
        "SANDBOX_UID_BASE": str(UID_BASE + 100 * concurrency),
        "PROBLEM_CACHE_DIR": str(tmp / f"cache-{concurrency}"),
    }
    log = (tmp / f"worker-{concurrency}.log").open("wb")
    worker = subprocess.Popen(
        [sys.executable, str(REPO / "services" / "grading" / "grading_worker.py")],
        stdout=log,
        stderr=subprocess.STDOUT,
        env=env,
    )
    try:
        wait_for_port(health_port, timeout=60, process=worker)
        settings = BrokerSettings.from_env(broker.endpoints_env())
        source = (APLUSB / "solutions" / "ac.c").read_text()
        # Warm-up job: problem download, supervisor build, first compile.
        warm = f"warm-{uuid.uuid4().hex[:8]}"
        _publish_and_wait(settings, [warm], source)
        latencies, judge_ms = [], []
        for i in range(singles):
            sid = f"single-{concurrency}-{i}-{uuid.uuid4().hex[:6]}"
            seconds, verdicts, timings = _publish_and_wait(settings, [sid], source)
            if set(verdicts.values()) != {"AC"}:
                raise SystemExit(f"unexpected verdicts: {verdicts}")
            latencies.append(seconds)
            judge_ms.append(timings[sid]["judge"])
        ids = [f"bench-{concurrency}-{i}-{uuid.uuid4().hex[:6]}" for i in range(jobs)]
        elapsed, verdicts, _ = _publish_and_wait(settings, ids, source)
    finally:
        worker.terminate()
        worker.wait(timeout=60)
        log.close()
    if set(verdicts.values()) != {"AC"}:
        raise SystemExit(f"unexpected verdicts: {verdicts}")
    return {
        "concurrency": concurrency,
        "jobs": jobs,
        "seconds": elapsed,
        "per_second": jobs / elapsed,
        "single_seconds": latencies,
        "single_judge_ms": judge_ms,
    }


def _publish_and_wait(
    settings: BrokerSettings, ids: list[str], source: str
) -> tuple[float, dict[str, str], dict[str, dict[str, float]]]:
    listener = _Done(set(ids))
    results = connect(settings, listener=listener)
    results.subscribe(RESULT_QUEUE, id="bench", ack="auto")
    sender = connect(settings)
    started = time.perf_counter()
    for sid in ids:
        # Distinct sources, as users send them (the pipeline benchmark does the same).
        request = GradingRequest(sid, "aplusb", "c", f"{source}\n/* {sid} */\n", datetime.now(UTC).isoformat())
        sender.send(REQUEST_QUEUE, request.to_json(), headers={"persistent": "true"})
    if not listener.finished.wait(600):
        raise SystemExit(f"only {len(listener.done)} of {len(ids)} results arrived")
    elapsed = time.perf_counter() - started
    sender.disconnect()
    results.disconnect()
    return elapsed, listener.done, listener.timing


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="judge vs bare rounds (interleaved)")
    parser.add_argument("--runs", type=int, default=200, help="run-phase samples per side")
    parser.add_argument("--jobs", type=int, default=24, help="submissions per throughput measurement")
    parser.add_argument("--skip-worker", action="store_true", help="only the judge measurements")
    args = parser.parse_args()
    if os.geteuid() != 0:
        print("run as root: the sandbox switches submissions to slot uids", file=sys.stderr)
        return 2

    report: dict = {"cpus": os.cpu_count()}
    judge = report["judge_vs_bare"] = bench_judge(args.rounds)
    print(
        f"judge vs bare g++ && ./prog (aplusb/ac.cpp, {judge['tests']} tests, median of {args.rounds}): "
        f"bare {judge['bare_ms']:.0f} ms, judge {judge['judge_ms']:.0f} ms, "
        f"overhead {judge['overhead_pct']:+.1f} % (goal < 10 %)"
    )
    print(
        f"  same, CPU time (less sensitive to other load on the machine): bare {judge['bare_cpu_ms']:.0f} ms, "
        f"judge {judge['judge_cpu_ms']:.0f} ms, overhead {judge['cpu_overhead_pct']:+.1f} %"
    )
    run = report["run_phase"] = bench_run_phase(args.runs)
    print(
        f"run phase per test (aplusb/ac.c, median of {args.runs}): bare {run['bare_ms']:.2f} ms, "
        f"sandbox {run['sandbox_ms']:.2f} ms, overhead {run['overhead_ms']:.2f} ms (goal < 5 ms)"
    )
    if not args.skip_worker:
        with tempfile.TemporaryDirectory() as tmp_name, worker_stack(Path(tmp_name)) as (broker, moto, bucket):
            report["throughput"] = []
            for concurrency in (1, 2):
                result = bench_worker(
                    args.jobs, concurrency, broker=broker, moto=moto, bucket=bucket, tmp=Path(tmp_name)
                )
                report["throughput"].append(result)
                print(
                    f"worker throughput, concurrency {concurrency}: {result['jobs']} aplusb C submissions "
                    f"in {result['seconds']:.1f} s = {result['per_second']:.2f} submissions/s"
                )
        t1, t2 = (r["per_second"] for r in report["throughput"])
        print(f"concurrency 2 / concurrency 1: {t2 / t1:.2f}x on {os.cpu_count()} CPUs")
    print(json.dumps(report, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
