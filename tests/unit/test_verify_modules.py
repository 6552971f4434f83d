"""The verify modules against real servers: the metrics module against moto, the probes against
PostgreSQL and ActiveMQ (testsupport), each through Ansible as verify.yml runs them."""

from __future__ import annotations

import importlib.util
import json
import secrets

import pytest

from testsupport.ansible import REPO, run_tasks, save

# A password that is wrong on purpose; it must never appear in the output either.
WRONG = "not-the-password"
_spec = importlib.util.spec_from_file_location("verify_metrics", REPO / "plugins/modules/gradestack_verify_metrics.py")
verify_metrics = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(verify_metrics)


def test_metric_data_counts_failures_and_publishes_no_datum_for_a_skip():
    data = verify_metrics.build_metric_data(
        "prod",
        [
            {"id": "alb.root", "status": "pass"},
            {"id": "mq.dlq", "status": "fail"},
            {"id": "mq.roundtrip", "status": "skip"},
        ],
    )
    by_check = {d["Dimensions"][1]["Value"]: d["Value"] for d in data if d["MetricName"] == "CheckFailed"}
    assert by_check == {"alb.root": 0.0, "mq.dlq": 1.0}
    assert [d["Value"] for d in data if d["MetricName"] == "FailedChecks"] == [1.0]
    assert [d["Value"] for d in data if d["MetricName"] == "Heartbeat"] == [1.0]
    assert all(d["Dimensions"][0] == {"Name": "Environment", "Value": "prod"} for d in data)


@pytest.mark.parametrize("result", [{"status": "pass"}, {"id": "x", "status": "passed"}])
def test_metric_data_refuses_a_result_without_id_or_with_an_unknown_status(result):
    with pytest.raises(ValueError, match="needs an id and a status"):
        verify_metrics.build_metric_data("prod", [result])


def test_metrics_module_puts_the_metrics_into_cloudwatch(tmp_path, moto_server):
    environment = f"test-{secrets.token_hex(4)}"
    task = {
        "name": "Publish",
        "gradestack_verify_metrics": {
            "namespace": "Gradestack/VerifyTest",
            "environment_name": environment,
            "results": [{"id": "alb.root", "status": "pass"}, {"id": "s3.config", "status": "fail"},
                        {"id": "rds.roundtrip", "status": "skip"}],
            "endpoint_url": moto_server.endpoint,
            "region": "ap-northeast-2",
            "access_key": "testing",
            "secret_key": "testing",
        },
        "register": "published",
    }  # fmt: skip
    # Check mode sends nothing.
    result = run_tasks(tmp_path, [task, save("published")], args=["--check"])
    assert result.returncode == 0, result.stdout[-3000:]
    cloudwatch = moto_server.client("cloudwatch")
    dims = [{"Name": "Environment", "Value": environment}]
    assert cloudwatch.list_metrics(Namespace="Gradestack/VerifyTest", Dimensions=dims)["Metrics"] == []

    result = run_tasks(tmp_path, [task, save("published")])
    assert result.returncode == 0, result.stdout[-3000:]
    assert json.loads((tmp_path / "published.json").read_text())["failed_checks"] == 1
    metrics = cloudwatch.list_metrics(Namespace="Gradestack/VerifyTest", Dimensions=dims)["Metrics"]
    names = {(m["MetricName"], tuple(d["Value"] for d in m["Dimensions"])) for m in metrics}
    assert names == {
        ("CheckFailed", (environment, "alb.root")),
        ("CheckFailed", (environment, "s3.config")),
        ("FailedChecks", (environment,)),
        ("Heartbeat", (environment,)),
    }


def test_metrics_module_fails_with_the_cause_when_cloudwatch_is_unreachable(tmp_path):
    task = {
        "gradestack_verify_metrics": {"namespace": "N", "environment_name": "e", "results": [],
                                      "endpoint_url": "http://127.0.0.1:9", "region": "ap-northeast-2",
                                      "access_key": "testing", "secret_key": "testing"},
    }  # fmt: skip
    result = run_tasks(tmp_path, [task])
    assert result.returncode != 0
    assert "could not put the verify metrics into N" in result.stdout


def probe(kind: str, **options) -> dict:
    return {"gradestack_verify_probe": {"kind": kind, "timeout": 10, **options}, "register": "probed"}


def test_sql_probe_round_trip_and_a_wrong_password(tmp_path, postgres_server):
    env = postgres_server.env()
    options = {"db_host": env["DATABASE_HOST"], "db_port": int(env["DATABASE_PORT"]), "db_name": env["DATABASE_NAME"],
               "db_user": env["DATABASE_USER"]}  # fmt: skip
    result = run_tasks(tmp_path, [probe("sql", db_password=env["DATABASE_PASSWORD"], **options), save("probed")])
    assert result.returncode == 0, result.stdout[-3000:]
    probed = json.loads((tmp_path / "probed.json").read_text())
    assert probed["ok"] is True and f"connected as {env['DATABASE_USER']}" in probed["reason"], probed

    result = run_tasks(tmp_path, [probe("sql", db_password=WRONG, **options), save("probed")])
    probed = json.loads((tmp_path / "probed.json").read_text())
    assert probed["ok"] is False and "password authentication failed" in probed["reason"], probed
    assert WRONG not in result.stdout


@pytest.mark.parametrize(("user", "ok"), [("verify", True), ("web", False)])
def test_stomp_probe_round_trip(tmp_path, activemq_server, user, ok):
    """The verifier's own account (group_vars mq_users.verify) may round trip; the web app's has no temporary queues."""
    username, password = activemq_server.credentials(user)
    options = {"mq_endpoints": activemq_server.stomp_url, "mq_username": username,
               "mq_password": password, "mq_ca_bundle": str(activemq_server.tls.ca_bundle)}  # fmt: skip
    result = run_tasks(tmp_path, [probe("stomp_roundtrip", **options), save("probed")])
    assert result.returncode == 0, result.stdout[-3000:]
    probed = json.loads((tmp_path / "probed.json").read_text())
    assert probed["ok"] is ok, probed
    if ok:
        assert "sent and received back" in probed["reason"] and username in probed["reason"], probed
    else:
        assert "not authorized" in probed["reason"], probed
    assert password not in result.stdout


def test_stomp_probe_names_a_refused_login(tmp_path, activemq_server):
    result = run_tasks(
        tmp_path,
        [probe("stomp_roundtrip", mq_endpoints=activemq_server.stomp_url, mq_username=activemq_server.username,
               mq_password=WRONG, mq_ca_bundle=str(activemq_server.tls.ca_bundle)), save("probed")],
    )  # fmt: skip
    probed = json.loads((tmp_path / "probed.json").read_text())
    assert probed["ok"] is False and activemq_server.stomp_url in probed["reason"], probed
    assert WRONG not in result.stdout


_aws_spec = importlib.util.spec_from_file_location(
    "verify_aws_info", REPO / "plugins/modules/gradestack_verify_aws_info.py"
)
verify_aws_info = importlib.util.module_from_spec(_aws_spec)
_aws_spec.loader.exec_module(verify_aws_info)


SCALING = "Scaling activity initiated by (deployment ecs-svc/1)"


@pytest.mark.parametrize(
    ("task", "error"),
    [
        # A deployment or a scale-in replacing a healthy task: routine.
        ({"stopCode": "ServiceSchedulerInitiated", "stoppedReason": SCALING,
          "containers": [{"exitCode": 0}]}, False),
        ({"stopCode": "ServiceSchedulerInitiated", "stoppedReason": "Task failed ELB health checks",
          "containers": [{"exitCode": 0}]}, True),
        ({"stopCode": "EssentialContainerExited", "stoppedReason": "Essential container in task exited",
          "containers": [{"exitCode": 1}]}, True),
        ({"stopCode": "TaskFailedToStart", "stoppedReason": "CannotPullContainerError: pull failed",
          "containers": [{}]}, True),
        ({"stopCode": "ServiceSchedulerInitiated", "stoppedReason": SCALING,
          "containers": [{"exitCode": 137}]}, True),
    ],
)  # fmt: skip
def test_a_stopped_task_is_an_error_unless_routine(task, error):
    assert verify_aws_info.is_error(task) is error
