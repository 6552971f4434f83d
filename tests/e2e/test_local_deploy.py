"""End to end: the local environment deployed, verified, faulted and destroyed, as a user runs it.

One environment is deployed for the whole module (it takes minutes on two cores) with the
repository's entry playbooks and inventory, renamed so that it never touches anybody's
`gradestack-local` environment: its containers, network, label and state directory carry a
random name, its load balancer a free port, its verify report its own directory. The module
is one scenario (testsupport/scenario.py): its tests are steps in file order on that one
deployment (the no-op deploy before the rolling deploy changes a setting; the last step
destroys the environment and checks that nothing of it is left); a step run out of order
fails. Each fault step first checks the state it needs (both grading containers running).
"""

from __future__ import annotations

import collections
import concurrent.futures
import contextlib
import html
import json
import os
import re
import shutil
import subprocess
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import boto3
import pytest

from testsupport.ansible import REPO
from testsupport.ci import require
from testsupport.local_env import LocalEnv, http, leftovers, make_env, recap, tail
from testsupport.slow_solution import slow_aplusb_c
from testsupport.verify_report import failed, read_report

pytestmark = [pytest.mark.slow, pytest.mark.containers, pytest.mark.e2e, pytest.mark.scenario]

# The entry playbooks a user runs (the lead's root files import the stages).
DEPLOY = os.environ.get("GRADESTACK_E2E_DEPLOY", "deploy.yml")
VERIFY = os.environ.get("GRADESTACK_E2E_VERIFY", "verify.yml")
DESTROY = os.environ.get("GRADESTACK_E2E_DESTROY", "destroy.yml")
# The web stage alone, as a user runs it: deploy.yml --tags web.
WEB_STAGE = DEPLOY
WEB_STAGE_ARGS = ["--tags", "web"]
SOLUTIONS = REPO / "problems" / "aplusb" / "solutions"


def submit(env: LocalEnv, solution: str, language: str = "python3") -> str:
    source = (SOLUTIONS / solution).read_text()
    status, _, body = http(
        f"{env.lb_url}/api/submissions",
        {"problem_id": "aplusb", "language": language, "source": source},
        token=env.api_token,
    )
    assert status == 201, body
    return json.loads(body)["id"]


def wait_verdict(env: LocalEnv, submission_id: str, timeout: float = 240) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        status, _, body = http(f"{env.lb_url}/api/submissions/{submission_id}", token=env.api_token)
        if status == 200 and json.loads(body)["final"]:
            return json.loads(body)
        if time.monotonic() > deadline:
            raise AssertionError(
                f"submission {submission_id} not graded within {timeout:.0f}s: {status} {body[:300]!r}"
            )
        time.sleep(2)


@pytest.fixture(scope="module")
def deployed(tmp_path_factory):
    require(shutil.which("podman") is not None, "podman is required for the local end-to-end tests: run 'make setup'")
    env = make_env(tmp_path_factory.mktemp("local-e2e"))
    try:
        result = env.run(DEPLOY, "first deploy")
        assert result.returncode == 0, f"first deploy failed:\n{tail(result, 150)}"
        env.first_deploy_output = result.stdout
        yield env
    finally:
        # Normally test_destroy_leaves_nothing has done this; after a failure or an interrupt it has not.
        if any(leftovers(env).values()):
            env.run(DESTROY, "destroy (cleanup)")
        print("\nlocal e2e timings (s): " + ", ".join(f"{k}={v:.0f}" for k, v in env.timings.items()))


def test_first_deploy_prints_the_url(deployed):
    assert f"Open {deployed.lb_url}" in deployed.first_deploy_output
    status, content_type, _ = http(deployed.lb_url + "/")
    assert (status, content_type.split(";")[0]) == (200, "text/html")


def test_second_deploy_changes_nothing(deployed):
    result = deployed.run(DEPLOY, "no-op deploy")
    assert result.returncode == 0, tail(result)
    changed = {host: counts.get("changed", 0) for host, counts in recap(result).items()}
    assert changed and all(count == 0 for count in changed.values()), f"changed tasks on a second deploy: {changed}"


def test_a_web_host_edited_by_hand_is_converged_again_and_only_it(deployed):
    """The redeploy above converged nothing; the drift probe (roles/web_rollout) still finds a hand edit."""
    web1 = deployed.container("web-1")
    conf = "/etc/nginx/sites-available/gradestack.conf"

    def read_conf() -> str:
        return subprocess.run(["podman", "exec", web1, "cat", conf], capture_output=True, text=True, check=True).stdout

    original = read_conf()
    subprocess.run(["podman", "exec", web1, "sh", "-c", f"echo '# edited by hand' >> {conf}"], check=True)
    result = deployed.run(DEPLOY, "web stage after a hand edit", args=["--tags", "web"])
    assert result.returncode == 0, tail(result)
    output = " ".join(result.stdout.split())
    assert "web-1 is on this release and settings but drifted since its last converge" in output, tail(result)
    assert "web-2 is on this release and settings but drifted" not in output
    assert read_conf() == original
    counts = recap(result)
    assert counts["web-1"].get("changed", 0) > 0, counts
    assert counts.get("web-2", {}).get("changed", 0) == 0, counts


def test_a_service_host_edited_by_hand_is_converged_again_and_only_it(deployed):
    """The redeploy above converged no service host (roles/converge_guard); its drift probe still finds a hand edit."""
    db = deployed.container("db")
    conf = "/etc/postgresql/15/main/conf.d/gradestack.conf"

    def read_conf() -> str:
        return subprocess.run(["podman", "exec", db, "cat", conf], capture_output=True, text=True, check=True).stdout

    original = read_conf()
    subprocess.run(["podman", "exec", db, "sh", "-c", f"echo '# edited by hand' >> {conf}"], check=True)
    result = deployed.run(DEPLOY, "provision stage after a hand edit", args=["--tags", "provision"])
    assert result.returncode == 0, tail(result)
    output = " ".join(result.stdout.split())
    assert "db: converging postgresql: drifted since its last converge" in output, tail(result)
    for host, role in (("mq", "activemq"), ("aws", "aws_emulator"), ("lb", "load_balancer")):
        assert f"{host}: not converging {role}" in output, tail(result)
    assert "localhost: not converging local_provision" in output, tail(result)
    assert read_conf() == original
    counts = recap(result)
    assert counts["db"].get("changed", 0) > 0, counts
    assert all(counts[host].get("changed", 0) == 0 for host in ("localhost", "mq", "aws", "lb")), counts


def test_a_grading_worker_removed_by_hand_is_run_again(deployed):
    """The redeploy above replaced no worker (roles/converge_guard); its probe still finds one missing."""
    workers = deployed.grading_containers()
    assert len(workers) >= 2
    subprocess.run(["podman", "rm", "--force", workers[-1]], check=True, capture_output=True)
    result = deployed.run(DEPLOY, "grading stage after a worker was removed", args=["--tags", "grading"])
    assert result.returncode == 0, tail(result)
    output = " ".join(result.stdout.split())
    assert "localhost: converging grading_service: drifted since its last converge" in output, tail(result)
    assert sorted(deployed.grading_containers()) == sorted(workers)
    assert container_running(workers[-1])
    assert recap(result)["localhost"].get("changed", 0) > 0
    again = deployed.run(DEPLOY, "grading stage again, nothing changed", args=["--tags", "grading"])
    assert again.returncode == 0, tail(again)
    assert "localhost: not converging grading_service" in " ".join(again.stdout.split()), tail(again)
    assert recap(again)["localhost"].get("changed", 0) == 0


def test_verify_passes_and_writes_a_junit_report(deployed):
    result = deployed.run(VERIFY, "verify")
    assert result.returncode == 0, tail(result, 120)
    checks = read_report(Path(deployed.extra_vars["verify_report_dir"]) / "verify-local.xml")
    expected = {"lb.root", "web.web-1", "web.web-2", "db.roundtrip", "mq.roundtrip", "s3.canary", "grading.workers"}
    assert set(checks) == expected | {"e2e.ac", "e2e.wa"}, checks
    # Every check ran from the operator's machine: none skipped, none failed.
    assert {status for status, _ in checks.values()} == {"pass"}, checks
    assert "graded in" in checks["e2e.ac"][1] and "verdict AC" in checks["e2e.ac"][1], checks["e2e.ac"]
    # The broker probe ran from a web host, over TLS with the CA file roles/web installed there.
    assert "stomp+ssl://mq:61614: sent and received back" in checks["mq.roundtrip"][1], checks["mq.roundtrip"]
    # Its metrics are in the local moto's CloudWatch: a heartbeat, and one CheckFailed per check.
    endpoints = json.loads((Path(deployed.extra_vars["gradestack_state_dir"]) / "endpoints.json").read_text())
    cloudwatch = boto3.client(
        "cloudwatch",
        endpoint_url=f"http://{endpoints['hosts']['aws']['address']}:5000",
        region_name="ap-northeast-2",
        aws_access_key_id="gradestack-local",
        aws_secret_access_key="gradestack-local",  # noqa: S106 - moto accepts any; group_vars/local.yml
    )
    metrics = cloudwatch.list_metrics(Namespace="Gradestack/Verify")["Metrics"]
    reported = {(m["MetricName"], tuple(sorted((d["Name"], d["Value"]) for d in m["Dimensions"]))) for m in metrics}
    assert ("Heartbeat", (("Environment", "local"),)) in reported, reported
    assert {dict(dims).get("Check") for name, dims in reported if name == "CheckFailed"} == set(checks), reported


def verifier_run(env: LocalEnv) -> tuple[subprocess.CompletedProcess[str], dict[str, tuple[str, str]]]:
    """One run of the verifier container's unit, started by hand (`systemctl start` waits for it).

    Returns the `systemctl start` result and the run's report ({check id: (status, reason)}).
    """
    report = Path(env.extra_vars["verify_report_dir"]) / "verify-local.xml"
    report.unlink(missing_ok=True)
    container = env.container("verifier")
    started = time.monotonic()
    result = subprocess.run(
        ["podman", "exec", container, "systemctl", "start", "gradestack-verify.service"],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    env.timings[f"verifier run {len(env.timings)}"] = time.monotonic() - started
    journal = subprocess.run(
        ["podman", "exec", container, "journalctl", "--no-pager", "-u", "gradestack-verify", "-n", "80"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout
    assert report.is_file(), f"the verifier's run wrote no report:\n{result.stderr}\n{journal}"
    return result, read_report(report)


def test_the_broker_speaks_stomp_over_tls_only_with_the_environments_ca(deployed):
    """As Amazon MQ: no plain STOMP port; the certificate for `mq` verifies against the environment's CA
    (what the web hosts and the workers trust through MQ_CA_BUNDLE) and not against the system store."""
    listening = subprocess.run(
        ["podman", "exec", deployed.container("mq"), "ss", "-Hltn"], capture_output=True, text=True, check=True
    ).stdout
    ports = {line.split()[3].rsplit(":", 1)[1] for line in listening.splitlines() if line.strip()}
    assert "61614" in ports and "61613" not in ports, listening
    handshake = (
        "import socket, ssl, sys\n"
        "ctx = ssl.create_default_context(cafile=sys.argv[1] or None)\n"
        "try:\n"
        "    with ctx.wrap_socket(socket.create_connection(('mq', 61614), timeout=10), server_hostname='mq') as s:\n"
        "        print('ok', s.getpeercert()['subject'])\n"
        "except ssl.SSLCertVerificationError as e:\n"
        "    print('refused', e.verify_message)\n"
    )
    web1 = deployed.container("web-1")

    def connect(cafile: str) -> str:
        return subprocess.run(
            ["podman", "exec", web1, "python3", "-c", handshake, cafile], capture_output=True, text=True, check=True
        ).stdout.strip()

    assert connect("/etc/gradestack/mq-ca.pem") == "ok ((('commonName', 'mq'),),)"
    # The broker sends its chain up to the CA, which the system store does not hold.
    assert connect("") == "refused self-signed certificate in certificate chain"
    for worker in deployed.grading_containers():
        env = json.loads(
            subprocess.run(["podman", "inspect", worker], capture_output=True, text=True, check=True).stdout
        )[0]["Config"]["Env"]
        assert "MQ_ENDPOINTS=stomp+ssl://mq:61614" in env and "MQ_CA_BUNDLE=/etc/gradestack/mq-ca.pem" in env, worker


def test_the_scheduled_verifier_runs_from_inside_the_network_and_passes(deployed):
    """verify_vantage=network, as the schedule stage's verifier container runs it: on the environment's podman
    network, without podman, the state directory read-only; its timer active, a run started by hand passes."""
    container = deployed.container("verifier")
    timer = subprocess.run(
        ["podman", "exec", container, "systemctl", "show", "gradestack-verify.timer", "--property", "ActiveState",
         "--property", "TimersMonotonic"],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip
    assert "ActiveState=active" in timer and "OnUnitActiveUSec=1d" in timer, timer
    labels = json.loads(
        subprocess.run(["podman", "inspect", container], capture_output=True, text=True, check=True).stdout
    )[0]["Config"]["Labels"]
    assert labels["io.gradestack.environment"] == deployed.name
    result, checks = verifier_run(deployed)
    assert result.returncode == 0, f"{result.stderr}\n{checks}"
    assert set(checks) == {
        "lb.root", "web.web-1", "web.web-2", "db.roundtrip", "mq.roundtrip", "s3.canary", "grading.workers",
        "e2e.ac", "e2e.wa",
    }, checks  # fmt: skip
    # From the network, the worker count is skipped with its reason (no podman there); the rest passed.
    assert {check for check, (status, _) in checks.items() if status != "pass"} == {"grading.workers"}, checks
    assert checks["grading.workers"][0] == "skip" and "no podman" in checks["grading.workers"][1], checks
    # From the network: the services by their names there.
    assert "GET http://lb/ -> 200" in checks["lb.root"][1], checks["lb.root"]
    # The verifier trusts the CA from the state directory it mounts, as the deploy made it.
    assert "stomp+ssl://mq:61614: sent and received back" in checks["mq.roundtrip"][1], checks["mq.roundtrip"]
    assert "GET http://web-1/health -> 200" in checks["web.web-1"][1], checks["web.web-1"]
    # Readable by the host user: the verifier writes as root, the host directory's reports are 0644.
    report = Path(deployed.extra_vars["verify_report_dir"]) / "verify-local.xml"
    assert report.stat().st_mode & 0o777 == 0o644


def test_a_submission_through_the_load_balancer_is_graded(deployed):
    accepted = submit(deployed, "ac.py")
    assert wait_verdict(deployed, accepted)["verdict"] == "AC"
    wrong = submit(deployed, "wa.py")
    result = wait_verdict(deployed, wrong)
    assert result["verdict"] == "WA"

    # A wrong answer tells a contestant nothing of a hidden test (aplusb shows test 01 only): no
    # expected answer in the API or on the page, no detail, no program output.
    hidden = {test["name"] for test in result["tests"] if not test["visible"]}
    assert hidden and "01" not in hidden
    assert all(test["detail"] == "" for test in result["tests"] if test["name"] in hidden), result["tests"]
    _, _, page = http(f"{deployed.lb_url}/submissions/{wrong}", token=deployed.api_token)
    answers = {(SOLUTIONS.parent / "tests" / f"{name}.out").read_text().strip() for name in hidden}
    for answer in answers:
        assert f"'{answer}'" not in json.dumps(result) and f"&#39;{answer}&#39;" not in page.decode(), answer

    # Artifacts come through the web app, for the author only; the S3 stand-in is not on the load balancer.
    status, _, page = http(f"{deployed.lb_url}/submissions/{accepted}", token=deployed.api_token)
    assert status == 200
    links = [html.unescape(u) for u in re.findall(r'<a href="(/[^"]+)" rel="noopener noreferrer">', page.decode())]
    assert links, f"no artifact links on the submission page:\n{page.decode()[:3000]}"
    assert all(link.startswith(f"/submissions/{accepted}/artifacts/") for link in links), links
    status, content_type, body = http(deployed.lb_url + links[0], token=deployed.api_token)
    assert (status, content_type) == (200, "application/octet-stream"), links[0]
    assert body, links[0]
    assert http(deployed.lb_url + links[0])[0] == 404, "an anonymous request must not get an artifact"
    assert http(f"{deployed.lb_url}/submissions/{accepted}")[0] == 404, "nor the submission page"
    bucket = "gradestack-local-grading"
    for path in ("/s3/", f"/s3/{bucket}/", f"/s3/{bucket}/results/{accepted}/report.json"):
        status, _, body = http(deployed.lb_url + path)
        assert status == 404 and b"ListBucketResult" not in body and b"<Error>" not in body, path


def test_a_submission_that_closes_its_output_and_sleeps_cannot_hang_a_worker(deployed):
    """Prints, closes stdout and stderr, then sleeps: once it hung a worker slot for good."""
    source = (REPO / "services" / "grading" / "tests" / "hostile" / "close_and_pause.c").read_text()
    status, _, body = http(
        f"{deployed.lb_url}/api/submissions",
        {"problem_id": "aplusb", "language": "c", "source": source},
        token=deployed.api_token,
    )
    assert status == 201, body
    # Bounded by the worker's own limits (wall 2 x TL + 1 s per test), not by this generous wait.
    assert wait_verdict(deployed, json.loads(body)["id"], timeout=120)["verdict"] == "TLE"
    # Both workers still grade: as many correct submissions as there are workers, at once.
    ids = [submit(deployed, "ac.py") for _ in deployed.grading_containers()]
    assert [wait_verdict(deployed, i, timeout=120)["verdict"] for i in ids] == ["AC"] * len(ids)


def worker_log(container: str) -> list[dict]:
    """A grading container's JSON log lines (the worker logs one object per line)."""
    out = subprocess.run(["podman", "logs", container], capture_output=True, text=True, check=True)
    lines = []
    for line in (out.stdout + out.stderr).splitlines():
        with contextlib.suppress(ValueError):
            lines.append(json.loads(line))
    return lines


def test_a_burst_of_submissions_through_the_load_balancer_is_all_accepted(deployed):
    """60 distinct correct submissions, 20 in flight at a time: 60 AC, no IE, on two workers at once.

    The two grading containers share one kernel (rootful podman shares host uids): they
    once took the same sandbox uid and failed each other's runs with EAGAIN.
    """
    source = (SOLUTIONS / "ac.c").read_text()
    workers = deployed.grading_containers()
    assert len(workers) >= 2

    def one(index: int) -> tuple[str, str]:
        # Distinct sources: nothing may be answered from a cache of an identical submission.
        status, _, body = http(
            f"{deployed.lb_url}/api/submissions",
            {"problem_id": "aplusb", "language": "c", "source": f"{source}\n/* burst {index} */\n"},
            token=deployed.api_token,
        )
        assert status == 201, body
        submission_id = json.loads(body)["id"]
        return submission_id, wait_verdict(deployed, submission_id, timeout=600)["verdict"]

    with concurrent.futures.ThreadPoolExecutor(max_workers=20) as pool:
        results = list(pool.map(one, range(60)))
    verdicts = collections.Counter(verdict for _, verdict in results)
    assert verdicts == {"AC": 60}, verdicts

    # From the workers' own records: both judged part of the burst, under disjoint slot uids, without EAGAIN.
    burst = {submission_id for submission_id, _ in results}
    uids: dict[str, set[int]] = {}
    judged: dict[str, int] = {}
    for container in workers:
        lines = worker_log(container)
        started = [line for line in lines if line.get("message") == "worker started"]
        uids[container] = set(started[-1]["slot_uids"])
        judged[container] = sum(
            1 for line in lines if line.get("message") == "job done" and line.get("submission_id") in burst
        )
        assert not [line for line in lines if "temporarily unavailable" in json.dumps(line)], container
    assert all(judged.values()) and sum(judged.values()) >= 60, judged
    assert not set.intersection(*uids.values()), f"workers share slot uids: {uids}"


def test_a_stopped_web_host_is_reported_while_the_load_balancer_keeps_serving(deployed):
    web2 = deployed.container("web-2")
    subprocess.run(["podman", "stop", "--time", "5", web2], check=True, capture_output=True)
    try:
        for _ in range(5):
            status, _, _ = http(deployed.lb_url + "/")
            assert status == 200
        result = deployed.run(VERIFY, "verify with web-2 stopped")
        assert result.returncode != 0
        checks = read_report(Path(deployed.extra_vars["verify_report_dir"]) / "verify-local.xml")
        assert failed(checks) == {"web.web-2"}, checks
        assert "FAIL | web.web-2 |" in result.stdout
        # The scheduled verifier's next run, from inside the network, names it too.
        run, checks = verifier_run(deployed)
        assert run.returncode != 0
        assert failed(checks) == {"web.web-2"}, checks
        assert checks["web.web-1"][0] == "pass", checks
    finally:
        subprocess.run(["podman", "start", web2], check=True, capture_output=True)
    # Back in service by itself: systemd starts the enabled units, HAProxy's health check readmits it.
    result = deployed.run(VERIFY, "verify after restart", timeout=900)
    for _ in range(30):
        if result.returncode == 0:
            break
        time.sleep(5)
        result = deployed.run(VERIFY, "verify after restart")
    assert result.returncode == 0, tail(result)
    run, checks = verifier_run(deployed)
    assert run.returncode == 0 and not failed(checks), checks


def container_running(container: str) -> bool:
    out = subprocess.run(
        ["podman", "inspect", "--format", "{{.State.Running}}", container], capture_output=True, text=True, check=False
    )
    return out.stdout.strip() == "true"


def in_flight(container: str, ids: set[str]) -> dict[str, dict]:
    """Submissions the worker in ``container`` logged as started and not (yet) as done: its own records."""
    lines = worker_log(container)
    done = {line.get("submission_id") for line in lines if line.get("message") == "job done"}
    return {
        line["submission_id"]: line
        for line in lines
        if line.get("message") == "job started" and line.get("submission_id") in ids - done
    }


def test_a_grading_container_killed_mid_job_does_not_lose_the_job(deployed):
    """The kill lands in a job, by the workers' own logs, and the job is judged again, once.

    Slow but correct submissions (~2 s of CPU each, testsupport/slow_solution.py) keep a job
    in flight for seconds; the victim is killed only once its log says "job started" for one
    of them and no "job done". Afterwards that submission is AC, judged to the end exactly once,
    as attempt 2 (the redelivered job, counted by whichever worker got it back).
    """
    workers = deployed.grading_containers()
    assert len(workers) >= 2
    deadline = time.monotonic() + 120  # the previous steps restarted hosts: both workers up first
    while not all(container_running(w) for w in workers):
        assert time.monotonic() < deadline, {w: container_running(w) for w in workers}
        time.sleep(1)
    victim = workers[0]
    ids = []
    for index in range(4):
        tag = f"kill {deployed.name} {index}"
        status, _, body = http(
            f"{deployed.lb_url}/api/submissions",
            {"problem_id": "aplusb", "language": "c", "source": slow_aplusb_c(cpu_ms=500, tag=tag)},
            token=deployed.api_token,
        )
        assert status == 201, body
        ids.append(json.loads(body)["id"])
    deadline = time.monotonic() + 240
    while not (running := in_flight(victim, set(ids))):
        assert time.monotonic() < deadline, f"{victim} never started one of {ids}"
        time.sleep(0.3)
    subprocess.run(["podman", "kill", victim], check=True, capture_output=True)
    (hit, started), *_ = running.items()
    assert started["attempt"] == 1

    verdicts = {i: wait_verdict(deployed, i, timeout=300)["verdict"] for i in ids}
    assert verdicts == dict.fromkeys(ids, "AC")
    # From the workers' records (the victim's log, restarted or not, keeps its lines): the job the
    # kill hit never finished as attempt 1; it finished once, as attempt 2, after a redelivery.
    lines = {container: worker_log(container) for container in workers}
    finished = [
        (container, line["attempt"])
        for container, records in lines.items()
        for line in records
        if line.get("message") == "job done" and line.get("submission_id") == hit
    ]
    assert [attempt for _, attempt in finished] == [2], finished
    recounted = [
        line
        for records in lines.values()
        for line in records
        if line.get("message") == "redelivered job, counting the lost attempt" and line.get("submission_id") == hit
    ]
    assert [line["attempt"] for line in recounted] == [2], recounted
    print(f"killed {victim} in {hit}; judged again by {finished[0][0]}")


def test_a_failed_host_stops_the_rolling_deploy_and_the_others_keep_serving(deployed):
    web2 = deployed.container("web-2")
    broken = "/etc/nginx/conf.d/zz-broken.conf"
    subprocess.run(["podman", "exec", web2, "sh", "-c", f"echo 'this is not nginx;' > {broken}"], check=True)
    health: list[int] = []
    rolling = threading.Event()

    def watch_health() -> None:
        # /health through the load balancer, the whole time the hosts roll (a refused or dropped
        # connection counts as 0): a rolling deploy must never show a client an error.
        while rolling.is_set():
            try:
                health.append(http(deployed.lb_url + "/health", timeout=5)[0])
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                health.append(0)
            time.sleep(0.2)

    try:
        # A settings change: every host is drained and converged in turn; web-2 cannot be.
        rolling.set()
        watcher = threading.Thread(target=watch_health, daemon=True)
        watcher.start()
        try:
            result = deployed.run(
                WEB_STAGE, "rolling deploy, web-2 failing", extra={"web_gunicorn_workers": 3}, args=WEB_STAGE_ARGS
            )
        finally:
            rolling.clear()
            watcher.join()
        assert health and set(health) == {200}, collections.Counter(health)
        assert result.returncode != 0
        assert "Rolling deploy stopped: web-2 failed to converge" in result.stdout
        counts = recap(result)
        assert counts["web-1"]["failed"] == 0 and counts["web-2"]["failed"] == 1
        for _ in range(6):
            status, content_type, _ = http(deployed.lb_url + "/")
            assert (status, content_type.split(";")[0]) == (200, "text/html")
        workers = subprocess.run(
            ["podman", "exec", deployed.container("web-1"), "pgrep", "-c", "-f", "gunicorn"],
            capture_output=True,
            text=True,
            check=True,
        )
        assert int(workers.stdout) == 4  # web-1 runs the new setting: master + 3 workers
    finally:
        # Destroy follows: re-running the rollout to heal web-2 would only prove the first deploy again.
        subprocess.run(["podman", "exec", web2, "rm", "-f", broken], check=True)


def test_destroy_leaves_nothing(deployed):
    result = deployed.run(DESTROY, "destroy")
    assert result.returncode == 0, tail(result)
    assert leftovers(deployed) == {"containers": [], "networks": [], "volumes": []}
