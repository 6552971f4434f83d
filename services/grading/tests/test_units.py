"""Unit tests: verdict classification and limits, worker message handling helpers, settings,
metrics records, the seccomp policy, and the S3 problem cache (against moto)."""

from __future__ import annotations

import errno
import json
import os
import signal
import uuid
from pathlib import Path

import boto3
import pytest
from gradestack_grading import judge as judge_module
from gradestack_grading import sandbox, seccomp_policy, telemetry
from gradestack_grading.config import ConfigError, WorkerConfig
from gradestack_grading.judge import Judge, JudgeConfig, classify
from gradestack_grading.languages import COMPILE_FLAGS, get_languages
from gradestack_grading.problem_store import ProblemNotFoundError, ProblemStore, upload_problem
from gradestack_grading.sandbox import RunResult, Slot
from gradestack_grading.worker import Delivery, _ids_from, is_infrastructure_failure
from gradestack_protocol import GradingRequest, MessageError, load_problem

from .conftest import PROBLEMS

APLUSB = load_problem(PROBLEMS / "aplusb")  # TL 1000 ms, ML 256 MB, OL 64 KB


def run_result(**changes) -> RunResult:
    base = {
        "exit_code": 0,
        "signal": None,
        "cpu_ms": 10,
        "wall_ms": 12,
        "memory_kb": 1000,
        "stdout": b"3\n",
        "stderr": b"",
        "output_exceeded": False,
        "wall_exceeded": False,
    }
    return RunResult(**(base | changes))


@pytest.mark.parametrize(
    ("changes", "verdict", "detail"),
    [
        ({}, "", ""),
        ({"output_exceeded": True, "signal": signal.SIGKILL, "exit_code": None}, "OLE", "output exceeded 64 KB"),
        ({"cpu_ms": 1001}, "TLE", "CPU time 1001 ms"),
        ({"signal": signal.SIGXCPU, "exit_code": None, "cpu_ms": 990}, "TLE", "limit 1000 ms"),
        ({"wall_exceeded": True, "cpu_ms": 3, "signal": signal.SIGKILL, "exit_code": None}, "TLE", "wall-clock"),
        ({"memory_kb": 256 * 1024 + 1}, "MLE", "peak memory"),
        ({"exit_code": None, "signal": signal.SIGABRT, "stderr": b"terminate ... std::bad_alloc"}, "MLE", "allocation"),
        ({"exit_code": 1, "stderr": b"Traceback...\nMemoryError\n"}, "MLE", "allocation"),
        ({"exit_code": None, "signal": signal.SIGSEGV}, "RTE", "killed by SIGSEGV"),
        ({"exit_code": None, "signal": signal.SIGKILL, "cpu_ms": 1000}, "TLE", "CPU time"),
        ({"exit_code": 3}, "IR", "exit code 3"),
        ({"memory_kb": 256 * 1024}, "", ""),  # exactly at the limit is fine
    ],
)
def test_classify(changes: dict, verdict: str, detail: str) -> None:
    got_verdict, got_detail = classify(run_result(**changes), APLUSB, wall_limit_ms=3000)
    assert got_verdict == verdict
    assert detail in got_detail


def test_run_limits_follow_the_problem() -> None:
    judge = Judge(Slot(index=0, uid=41000, gid=41000), JudgeConfig())
    languages = get_languages()
    cpp = judge.run_limits(APLUSB, languages["cpp"])
    assert cpp.cpu_ms == 1000
    assert cpp.wall_ms == 2 * 1000 + 1000
    assert cpp.stack_bytes == 256 * 1024 * 1024
    assert cpp.address_space_bytes == (2 * 256 + 64) * 1024 * 1024
    assert cpp.output_bytes == cpp.file_size_bytes == 64 * 1024
    assert cpp.nproc == 1
    python = judge.run_limits(APLUSB, languages["python3"])
    assert python.address_space_bytes == cpp.address_space_bytes + 64 * 1024 * 1024
    compile_limits = judge.compile_limits()
    assert compile_limits.cpu_ms == 10_000
    assert compile_limits.address_space_bytes == 1024 * 1024 * 1024


def test_compile_flags_are_pinned_and_documented() -> None:
    languages = get_languages()
    assert " ".join(languages["cpp"].compile[1:]) == COMPILE_FLAGS["cpp"].split(" ", 1)[1]
    assert " ".join(languages["c"].compile[1:]) == COMPILE_FLAGS["c"].split(" ", 1)[1]
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert COMPILE_FLAGS["cpp"] in readme and COMPILE_FLAGS["c"] in readme


# --- worker helpers --------------------------------------------------------------------------


def test_ids_from_messages_that_do_not_validate() -> None:
    request = json.loads(GradingRequest("s-1", "aplusb", "c", "int main(){}", "now").to_json())
    assert _ids_from(json.dumps(request | {"language": "cobol"})) == ("s-1", "aplusb")
    assert _ids_from("not json") is None
    assert _ids_from(json.dumps({"submission_id": "../../etc", "problem_id": "aplusb"})) is None
    assert _ids_from(json.dumps({"submission_id": 5, "problem_id": "aplusb"})) is None
    assert _ids_from(json.dumps([1, 2])) is None


@pytest.mark.parametrize(("header", "attempt"), [(None, 1), ("2", 2), ("junk", 1), ("-4", 1), ("99999", 1000)])
def test_delivery_attempt_header(header: str | None, attempt: int) -> None:
    headers = {"message-id": "m", "ack": "a"} | ({"gradestack-attempt": header} if header else {})
    assert Delivery(headers, "{}", 1, 0.0).attempt == attempt


def test_requests_are_validated_strictly() -> None:
    good = json.loads(GradingRequest("s-1", "aplusb", "cpp", "int main(){}", "now").to_json())
    for bad in (
        good | {"version": 2},
        good | {"schema": "something.else"},
        good | {"language": "rust"},
        good | {"source": ""},
        good | {"short_circuit": "yes"},
        {k: v for k, v in good.items() if k != "submitted_at"},
    ):
        with pytest.raises(MessageError):
            GradingRequest.from_json(json.dumps(bad))


BROKER_ENV = {"MQ_ENDPOINTS": "stomp://127.0.0.1:61613", "MQ_USERNAME": "w", "MQ_PASSWORD": "hunter2-secret"}


def test_worker_config_defaults() -> None:
    config = WorkerConfig.from_env(
        BROKER_ENV | {"GRADING_BUCKET": "b", "AWS_REGION": "ap-northeast-2", "WORKER_CONCURRENCY": "1"}
    )
    assert (config.concurrency, config.health_port, config.uid_base, config.max_attempts) == (1, 8080, 20000, 3)
    assert (config.uid_count, str(config.slot_lease_dir)) == (1024, "/run/gradestack/sandbox-slots")
    assert config.region == "ap-northeast-2"
    assert "hunter2-secret" not in repr(config) + repr(config.broker)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({}, "GRADING_BUCKET"),
        ({"GRADING_BUCKET": "b", "WORKER_CONCURRENCY": "0"}, "WORKER_CONCURRENCY must be between"),
        ({"GRADING_BUCKET": "b", "WORKER_CONCURRENCY": "two"}, "WORKER_CONCURRENCY must be an integer"),
        ({"GRADING_BUCKET": "b", "SANDBOX_UID_BASE": "0"}, "SANDBOX_UID_BASE"),
        ({"GRADING_BUCKET": "b", "WORKER_CONCURRENCY": "4", "SANDBOX_UID_COUNT": "2"}, "SANDBOX_UID_COUNT must be"),
    ],
)
def test_worker_config_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        WorkerConfig.from_env(BROKER_ENV | env)


def test_emf_record_is_cloudwatch_embedded_metric_format() -> None:
    record = telemetry.emf_record("WA", 1234, 56, submission_id="s-1")
    directive = record["_aws"]["CloudWatchMetrics"][0]
    assert directive["Namespace"] == "Gradestack/Grading"
    assert directive["Dimensions"] == [["Verdict"]]
    names = {m["Name"] for m in directive["Metrics"]}
    assert names == {"JobsCompleted", "JudgeDuration", "QueueWait"}
    assert all(name in record for name in names)
    assert record["Verdict"] == "WA" and isinstance(record["_aws"]["Timestamp"], int)
    assert "QueueWait" not in telemetry.emf_record("AC", 1, None)


def test_seccomp_policies_compile_to_bpf() -> None:
    compile_phase, run_phase = seccomp_policy.compiled(False), seccomp_policy.compiled(True)
    assert compile_phase.bpf and len(compile_phase.bpf) % 8 == 0
    assert run_phase.bpf != compile_phase.bpf  # the run phase allows no file writes


# --- problem cache against moto S3 -----------------------------------------------------------


@pytest.fixture
def s3_bucket(moto_server):
    env = moto_server.client_env()
    s3 = boto3.client(
        "s3",
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_REGION"],
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106
    )
    bucket = f"problems-{uuid.uuid4().hex[:8]}"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": env["AWS_REGION"]})
    return s3, bucket


class CountingS3:
    def __init__(self, s3) -> None:
        self.s3 = s3
        self.downloads = 0

    def get_paginator(self, name: str):
        return self.s3.get_paginator(name)

    def download_file(self, *args) -> None:
        self.downloads += 1
        self.s3.download_file(*args)


@pytest.mark.slow
def test_problem_cache_downloads_once_and_revalidates_by_etag(s3_bucket, tmp_path: Path) -> None:
    s3, bucket = s3_bucket
    keys = upload_problem(s3, bucket, PROBLEMS / "pair-sum")
    assert "problems/pair-sum/checker.cpp" in keys
    assert not any("/solutions/" in key for key in keys)
    counting = CountingS3(s3)
    store = ProblemStore(counting, bucket, tmp_path / "cache", revalidate_s=0)
    first = store.get("pair-sum")
    assert first.checker.type == "custom" and len(first.tests) == 3
    fetched = counting.downloads
    assert store.get("pair-sum").root == first.root
    assert counting.downloads == fetched  # same ETags: nothing downloaded again
    s3.put_object(Bucket=bucket, Key="problems/pair-sum/tests/01.out", Body=b"2 1\n")
    changed = store.get("pair-sum")
    assert changed.root != first.root
    assert (changed.root / "tests" / "01.out").read_bytes() == b"2 1\n"
    assert (tmp_path / "cache").stat().st_mode & 0o777 == 0o700


@pytest.mark.slow
def test_unknown_problem_is_a_permanent_error(s3_bucket, tmp_path: Path) -> None:
    s3, bucket = s3_bucket
    with pytest.raises(ProblemNotFoundError, match="no-such"):
        ProblemStore(s3, bucket, tmp_path / "cache").get("no-such")
    with pytest.raises(MessageError):
        ProblemStore(s3, bucket, tmp_path / "cache").get("../etc")


@pytest.mark.parametrize(
    ("line", "host"),
    [
        ("errno=11 exec: Resource temporarily unavailable", True),
        ("errno=24 open bpf: Too many open files", True),
        ("errno=2 chdir: No such file or directory", False),
        ("invalid value for --cpu-ms: x", False),
    ],
)
def test_supervisor_errors_blame_the_host_by_errno(line: str, host: bool) -> None:
    error = sandbox._setup_error(line)
    assert isinstance(error, sandbox.SandboxError)
    assert isinstance(error, sandbox.SandboxHostError) is host


def test_a_host_shortage_is_marked_and_never_serialised(monkeypatch: pytest.MonkeyPatch) -> None:
    """An OSError of the host (EMFILE) while preparing the job: IE with host_failure, which the
    worker retries (worker.is_infrastructure_failure); the report's JSON does not carry the flag."""

    def no_descriptors(*_args, **_kwargs):
        raise OSError(errno.EMFILE, os.strerror(errno.EMFILE))

    monkeypatch.setattr(judge_module, "JobDir", no_descriptors)
    problem = load_problem(PROBLEMS / "aplusb")
    report = Judge(Slot(index=0, uid=1, gid=1), JudgeConfig()).judge(problem, "python3", "print(1)")
    assert (report.verdict, report.host_failure) == ("IE", True)
    assert is_infrastructure_failure(report)
    assert "host_failure" not in report.to_dict()


AFFINITY = len(os.sched_getaffinity(0))


@pytest.mark.parametrize(
    ("cpu_max", "setting", "expected"),
    [
        ("50000 100000\n", "", 1),  # a 0.5 vCPU Fargate task
        ("100000 100000\n", "auto", 1),  # podman --cpus 1
        ("150000 100000\n", "auto", min(2, AFFINITY)),  # 1.5 CPUs: the half CPU is worth a second job
        ("max 100000\n", "", AFFINITY),  # no quota: the affinity decides
        (None, "", AFFINITY),  # no cgroup v2 file
        ("50000 100000\n", "3", 3),  # an explicit number wins
    ],
)
def test_worker_concurrency_fits_the_cpus_it_has(tmp_path: Path, cpu_max: str | None, setting: str, expected: int):
    if cpu_max is not None:
        (tmp_path / "cpu.max").write_text(cpu_max)
    config = WorkerConfig.from_env(BROKER_ENV | {"GRADING_BUCKET": "b", "WORKER_CONCURRENCY": setting}, cgroup=tmp_path)
    assert config.concurrency == expected
