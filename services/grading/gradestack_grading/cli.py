"""Command line: ``python -m gradestack_grading judge ...`` (problem setters) and ``... worker``.

``judge`` is for problem setters: it prints every test's detail (checker message, exit
code or signal), hidden tests included, each marked ``"visible"`` as the problem's
feedback policy decides; ``--contestant-view`` prints what a contestant would see instead.
It prints one JSON document and exits 0 whenever judging completed,
whatever the verdict; 1 when the judge itself failed (verdict IE, the JSON says
why); 2 for bad arguments or an invalid problem directory (message on stderr).
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from gradestack_protocol import LANGUAGES, ProblemError, load_problem
from gradestack_protocol.messages import MAX_SOURCE_BYTES

DEFAULT_UID_BASE = 20000  # = slots.DEFAULT_UID_BASE (not imported: --help must not need the sandbox)
DEFAULT_UID_COUNT = 1024  # = slots.DEFAULT_UID_COUNT


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name, "").strip() or str(default)
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be an integer, got {raw!r}") from None


def _exit_on_termination() -> None:
    """SIGTERM/SIGINT raise SystemExit, so the run is stopped and the job directory and slot are released.

    Without this, SIGTERM ends Python on the spot and leaves the job directory behind.
    Further signals are ignored while cleaning up (which is bounded: see sandbox.run).
    """

    def handler(signum: int, _frame: object) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def _judge(args: argparse.Namespace) -> int:
    # Imported here so `--help` and argument errors work without the sandbox's dependencies.
    from gradestack_grading import slots  # noqa: PLC0415
    from gradestack_grading.judge import Judge, JudgeConfig  # noqa: PLC0415

    try:
        problem = load_problem(args.problem)
    except ProblemError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    try:
        raw = sys.stdin.buffer.read() if args.source == "-" else Path(args.source).read_bytes()
    except OSError as exc:
        print(f"error: cannot read {args.source}: {exc.strerror}", file=sys.stderr)
        return 2
    if len(raw) > MAX_SOURCE_BYTES:
        print(f"error: source is {len(raw)} bytes, the limit is {MAX_SOURCE_BYTES}", file=sys.stderr)
        return 2
    if os.geteuid() != 0:
        print(
            "warning: not running as root: the submission runs with your own uid "
            "(rlimits and seccomp still apply, uid isolation does not)",
            file=sys.stderr,
        )
    _exit_on_termination()
    # The same defaults as the image and the same lease directory as the local worker
    # containers (SANDBOX_SLOT_LEASE_DIR): a CLI on their host never shares their uids.
    try:
        slot = slots.acquire_slots(
            1, _env_int("SANDBOX_UID_BASE", DEFAULT_UID_BASE), _env_int("SANDBOX_UID_COUNT", DEFAULT_UID_COUNT)
        )[0]
    except slots.SlotError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    try:
        judge = Judge(slot, JudgeConfig(work_dir=Path(args.work_dir) if args.work_dir else None))
        report = judge.judge(problem, args.language, raw.decode("utf-8", "replace"), args.short_circuit)
    finally:
        slot.release()
    if args.contestant_view:
        report = report.for_contestant()
    print(report.to_json(with_outputs=args.show_output))
    return 1 if report.verdict == "IE" else 0


def _worker(_args: argparse.Namespace) -> int:
    from gradestack_grading.worker import run_worker  # noqa: PLC0415  (the judge CLI must not need boto3/stomp)

    return run_worker()


def _upload(args: argparse.Namespace) -> int:
    import boto3  # noqa: PLC0415

    from gradestack_grading.problem_store import upload_problem  # noqa: PLC0415

    s3 = boto3.client("s3")
    for directory in args.directories:
        try:
            keys = upload_problem(s3, args.bucket, Path(directory))
        except ProblemError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(f"{directory}: {len(keys)} objects to s3://{args.bucket}/problems/")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m gradestack_grading", description=__doc__.split("\n\n")[0])
    commands = parser.add_subparsers(dest="command", required=True)
    judge = commands.add_parser("judge", help="judge one source file against a problem directory, print JSON")
    judge.add_argument("--problem", required=True, help="problem directory (problem.json, tests/NN.in|out)")
    judge.add_argument("--language", required=True, choices=LANGUAGES)
    judge.add_argument("--short-circuit", action="store_true", help="skip the remaining tests after a failure")
    judge.add_argument("--show-output", action="store_true", help="include the first 1 KiB of each test's output")
    judge.add_argument(
        "--contestant-view",
        action="store_true",
        help="redact hidden tests as the worker does for contestants (default: full detail for setters)",
    )
    judge.add_argument("--work-dir", help="where job directories are created (default: the system temp dir)")
    judge.add_argument("source", help="source file, or - for stdin")
    judge.set_defaults(func=_judge)
    worker = commands.add_parser("worker", help="consume grading.requests (configured by environment variables)")
    worker.set_defaults(func=_worker)
    upload = commands.add_parser("upload-problems", help="validate problem directories and upload them to S3")
    upload.add_argument(
        "--bucket", default=os.environ.get("GRADING_BUCKET"), required=not os.environ.get("GRADING_BUCKET")
    )
    upload.add_argument("directories", nargs="+")
    upload.set_defaults(func=_upload)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return args.func(args)
