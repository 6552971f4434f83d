"""Redeploy benchmark: a first deploy of the local environment, then the same deploy again, nothing changed.

    .venv/bin/python bench/redeploy_bench.py [--shared-artifacts] [--top 15] [--keep-logs DIR]

It deploys a renamed copy of the local environment (testsupport.local_env.make_env, the
machinery of the local end-to-end test: its own containers, network, volumes, state and
load balancer port; it never touches gradestack-local), runs deploy.yml twice and prints,
side by side from this one run:

- both durations and their ratio (issue 18's goal: the no-op redeploy <= 1/3 of the first);
- the PLAY RECAP's changed count per host of both runs (every one must be 0 on the second:
  the redeploy proves that nothing drifted, it does not converge anything again);
- the no-op run's per-task profile (ansible.cfg's profile_tasks callback), the top N tasks
  and the time per role, which say where the rest of the time goes.

Then it destroys the copy, also after a failure or an interrupt.

The artifact cache: by default the copy builds its web bundle into a directory of its own,
as a user's first `make local` after a change of the sources does; the grading image lives
in podman's image store, named by the grading sources' version, so it is built only if that
version has never been built on this machine (building it takes minutes and is not what a
redeploy is about). `--shared-artifacts` uses the repository's .state/local/artifacts, as
the end-to-end test does, and the first deploy then builds nothing that exists there.
Not a test: it prints numbers and ratios; its exit status is 1 only if a deploy failed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from testsupport.local_env import LocalEnv, leftovers, make_env, recap  # noqa: E402

# profile_tasks prints, after the last play, every task's duration ("<task> --- 1.23s"), sorted
# longest first; by default only the first 20. "all" lets the per-role totals add up.
os.environ["PROFILE_TASKS_TASK_OUTPUT_LIMIT"] = "all"
PROFILE_LINE = re.compile(r"^(?P<task>.+?) -{3,} (?P<seconds>\d+\.\d+)s\s*$")


# --- pure helpers -----------------------------------------------------------------------------


def profile(output: str) -> list[tuple[str, float]]:
    """The profile_tasks summary of one playbook run: (task, seconds), longest first.

    The summary follows the line of '=' after the PLAY RECAP; before it, the same format
    never occurs (the per-task lines are timestamps ending in '*').
    """
    lines = output.splitlines()
    start = next((i for i, line in enumerate(lines) if set(line.strip()) == {"="}), None)
    if start is None:
        return []
    tasks = []
    for line in lines[start + 1 :]:
        match = PROFILE_LINE.match(line)
        if match:
            tasks.append((match["task"].strip(), float(match["seconds"])))
    return sorted(tasks, key=lambda item: -item[1])


def per_role(tasks: Iterable[tuple[str, float]]) -> list[tuple[str, float, int]]:
    """Seconds and task count per role ("role : task"); tasks of a play itself count as "(play)"."""
    totals: dict[str, tuple[float, int]] = {}
    for task, seconds in tasks:
        role = task.split(" : ", 1)[0] if " : " in task else "(play)"
        spent, count = totals.get(role, (0.0, 0))
        totals[role] = (spent + seconds, count + 1)
    return sorted(((role, spent, count) for role, (spent, count) in totals.items()), key=lambda item: -item[1])


def changed_counts(output: str) -> dict[str, int]:
    """The PLAY RECAP's changed count per host (summed over the run's plays)."""
    run = subprocess.CompletedProcess(args=[], returncode=0, stdout=output)
    return {host: counts.get("changed", 0) for host, counts in sorted(recap(run).items())}


# --- the run ----------------------------------------------------------------------------------


def load() -> str:
    """The 1, 5 and 15 minute load averages: on a shared machine they say how much to trust the seconds."""
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def deploy(env: LocalEnv, label: str) -> tuple[float, str]:
    started = time.monotonic()
    result = env.run("deploy.yml", label)
    elapsed = time.monotonic() - started
    if result.returncode != 0:
        tail = "\n".join(result.stdout.splitlines()[-60:])
        raise RuntimeError(f"{label} failed (rc={result.returncode}); last lines:\n{tail}")
    return elapsed, result.stdout


def report(first: tuple[float, str], second: tuple[float, str], top: int) -> None:
    first_s, first_out = first
    second_s, second_out = second
    print(f"\nfirst deploy: {first_s:7.1f} s")
    print(f"no-op deploy: {second_s:7.1f} s")
    print(f"ratio no-op / first: {second_s / first_s:.2f} (goal <= 0.33)")
    before, after = changed_counts(first_out), changed_counts(second_out)
    print("\nchanged per host (first -> no-op):")
    for host in sorted(set(before) | set(after)):
        print(f"  {host:12} {before.get(host, 0):4} -> {after.get(host, 0)}")
    drifted = {host: count for host, count in after.items() if count}
    print("no-op run changed nothing" if not drifted else f"NO-OP RUN CHANGED SOMETHING: {drifted}")
    tasks = profile(second_out)
    total = sum(seconds for _, seconds in tasks)
    print(f"\nno-op run: {len(tasks)} tasks profiled, {total:.1f} s in tasks; top {top}:")
    for task, seconds in tasks[:top]:
        print(f"  {seconds:6.2f} s  {task}")
    print("\nno-op run, per role (s, tasks):")
    for role, seconds, count in per_role(tasks):
        print(f"  {seconds:6.2f} s  {count:4}  {role}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--shared-artifacts", action="store_true", help="use .state/local/artifacts (as the e2e test)")
    parser.add_argument("--top", type=int, default=15, help="tasks of the no-op profile to print")
    parser.add_argument("--keep-logs", type=Path, help="copy both runs' output into this directory")
    args = parser.parse_args(argv)
    if shutil.which("podman") is None:
        parser.error("podman is required: run 'make setup'")

    with tempfile.TemporaryDirectory(prefix="gsbench-") as tmp:
        workdir = Path(tmp)
        settings = {} if args.shared_artifacts else {"gradestack_artifacts_dir": str(workdir / "artifacts")}
        env = make_env(workdir, prefix="gsbench", settings=settings)
        print(f"environment {env.name} (artifacts: {env.extra_vars['gradestack_artifacts_dir']}), load {load()}")
        try:
            first = deploy(env, "first deploy")
            print(f"first deploy done in {first[0]:.1f} s, load {load()}")
            second = deploy(env, "no-op deploy")
            print(f"no-op deploy done in {second[0]:.1f} s, load {load()}")
            report(first, second, args.top)
            return 0
        except RuntimeError as error:
            print(error, file=sys.stderr)
            return 1
        finally:
            if args.keep_logs:
                args.keep_logs.mkdir(parents=True, exist_ok=True)
                for log in (workdir / "logs").glob("*.log"):
                    shutil.copy(log, args.keep_logs / log.name)
            result = env.run("destroy.yml", "destroy")
            left = leftovers(env)
            if result.returncode != 0 or any(left.values()):
                print(f"destroy of {env.name} failed (rc={result.returncode}), left: {left}", file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
