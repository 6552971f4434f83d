"""The AWS path end to end against the emulated environment (moto), as a user runs it.

One emulated AWS account serves the whole module; the tests run in file order and
build on each other (first deploy, no-op deploy, guard, faults, rollbacks, destroy),
because one Terraform apply of the production-like stack takes minutes here. The module
is one scenario (testsupport/scenario.py): a step run out of file order fails, and each
step after the deploy says it needs the deploy (alone, it is skipped and says why).
"""

from __future__ import annotations

import datetime
import json
import re
import subprocess
from collections.abc import Callable
from dataclasses import dataclass

import pytest

from testsupport.ansible import playbook_env, run_playbook, task_outcomes
from testsupport.iam_policy import not_allowed
from testsupport.moto import PERMISSIONS_BOUNDARY_DOCUMENT, start_moto
from testsupport.ssm_reads import VERIFIER_SSM_READS
from testsupport.terraform import REPO, make_cli
from testsupport.verify_report import failed, read_report

from .conftest import DEPLOYER_KEY, HARNESS_KEY, SECRETS, VERIFIER_KEY, VERIFIER_TASK_KEY, EmulatedAws

pytestmark = [pytest.mark.slow, pytest.mark.e2e, pytest.mark.terraform, pytest.mark.scenario]
DEPLOYED = "test_terraform_error_mid_apply_stops_and_a_rerun_finishes"

ROLE_CONFLICT = "gradestack-emulated-grading-execution"
GRADING_REPOSITORY = "gradestack-emulated-grading"
DEPLOYER_POLICY = REPO / "docs" / "iam" / "deployer-policy.json"


def flat(output: str) -> str:
    """The output with whitespace runs as one space: the YAML result format wraps long messages."""
    return " ".join(output.split())


def recap_changed(output: str) -> dict[str, int]:
    """changed= per host of the PLAY RECAP."""
    return {m.group(1): int(m.group(2)) for m in re.finditer(r"^(\S+)\s+: ok=\d+\s+changed=(\d+)", output, re.M)}


def assert_ok(result: subprocess.CompletedProcess[str]) -> None:
    assert result.returncode == 0, result.stdout[-12000:]


def assert_no_secret(output: str) -> None:
    for value in SECRETS.values():
        assert value not in output


def current_release(aws: EmulatedAws) -> dict:
    value = aws.client("ssm").get_parameter(Name="/gradestack/emulated/release/current")["Parameter"]["Value"]
    return json.loads(value)


def terraform(aws: EmulatedAws, *args: str) -> subprocess.CompletedProcess[str]:
    cli = make_cli()
    # The tests' own state surgery (taint), not a deploy: the harness's key.
    return cli.run(list(args), cwd=aws.state_dir / "terraform", extra_env=aws.client_env(HARNESS_KEY))


CREDENTIALS_FIX = (
    "; fix: configure credentials (aws configure, AWS_PROFILE or an instance role) for an identity allowed by "
    "docs/iam/deployer-policy.json"
)


def assert_one_credentials_error(output: str, cause: str) -> None:
    """The run's only error is preflight's one problem: AWS credentials, with the cause and the fix.

    Ansible prints a failed task's message twice (the error and the result): one distinct line each.
    Ignored failures print "[ERROR]"/"fatal:" too, so those count as other errors.
    """
    lines = output.splitlines()
    errors = [line.strip() for line in lines if line.startswith(("[ERROR]", "fatal:", "failed:"))]
    assert errors == [
        "[ERROR]: Task failed: Action failed: Preflight found 1 problem(s):",
        "fatal: [localhost]: FAILED! =>",
    ], output[-8000:]
    problem = {line.strip() for line in lines if "AWS credentials:" in line}
    assert problem == {f"- AWS credentials: Failed to retrieve caller identity: {cause}{CREDENTIALS_FIX}"}, output[
        -8000:
    ]
    assert "Traceback" not in output


def test_missing_credentials_give_one_clear_line(emulated_aws: EmulatedAws):
    env = playbook_env(aws={"AWS_ENDPOINT_URL": emulated_aws.endpoint, "AWS_REGION": "ap-northeast-2"})
    result = emulated_aws.run("deploy.yml", env=env)
    assert result.returncode != 0
    assert_one_credentials_error(result.stdout, "Unable to locate credentials")


def test_wrong_credentials_give_one_clear_line(tmp_path):
    # moto with IAM authentication on from the first request: like AWS, it rejects an unknown access key.
    strict = start_moto(tmp_path, extra_env={"INITIAL_NO_AUTH_ACTION_COUNT": "0"})
    try:
        env = playbook_env(
            aws={
                "AWS_ENDPOINT_URL": strict.endpoint,
                "AWS_ACCESS_KEY_ID": "AKIAWRONGWRONGWRONG0",
                "AWS_SECRET_ACCESS_KEY": "wrong",
                "AWS_REGION": "ap-northeast-2",
            }
        )
        result = run_playbook("deploy.yml", inventory="inventories/emulated", args=["--tags", "preflight"], env=env)
    finally:
        strict.process.kill()
    assert result.returncode != 0
    assert_one_credentials_error(
        result.stdout,
        "An error occurred (InvalidClientTokenId) when calling the GetCallerIdentity operation: "
        "The security token included in the request is invalid.",
    )


def test_destroy_refuses_without_confirmation(emulated_aws: EmulatedAws):
    result = emulated_aws.run("destroy.yml")
    assert result.returncode != 0
    assert "Refusing to destroy emulated" in flat(result.stdout)
    assert "-e confirm=emulated" in flat(result.stdout)
    # Confirmed, but the production-like settings keep deletion protection on.
    result = emulated_aws.run("destroy.yml", extra_vars={"confirm": "emulated"})
    assert result.returncode != 0
    assert "disable_deletion_protection=true" in flat(result.stdout)


def test_terraform_error_mid_apply_stops_and_a_rerun_finishes(emulated_aws: EmulatedAws):
    iam = emulated_aws.client("iam")
    iam.create_role(RoleName=ROLE_CONFLICT, AssumeRolePolicyDocument='{"Version": "2012-10-17", "Statement": []}')
    failed = emulated_aws.run("deploy.yml")
    assert failed.returncode != 0
    assert "terraform apply failed for emulated" in flat(failed.stdout), failed.stdout[-8000:]
    assert "EntityAlreadyExists" in flat(failed.stdout), failed.stdout[-6000:]
    assert_no_secret(failed.stdout)

    iam.delete_role(RoleName=ROLE_CONFLICT)
    result = emulated_aws.run("deploy.yml")
    assert_ok(result)
    assert_no_secret(result.stdout)
    assert "TASKS RECAP" in flat(result.stdout)  # profile_tasks: the stage timings
    assert "SKIPPED converge and health check" in flat(result.stdout)
    release = current_release(emulated_aws)
    assert release["kind"] == "deploy"
    assert ":" in release["grading_image"] and not release["grading_image"].endswith(":latest")
    # The first run built the grading image and registered it with the emulator's ECR (PutImage, in place of
    # a push) before Terraform failed; the rerun finds the tag there. The emulator's ECS starts no task of an
    # image its ECR lacks, so the running count below proves the service runs the image the deploy published.
    assert "Its manifest is registered with ECR PutImage" in flat(failed.stdout), failed.stdout[-8000:]
    assert f"{release['grading_image']} is already in ECR" in flat(result.stdout)
    images = emulated_aws.client("ecr").describe_images(
        repositoryName=GRADING_REPOSITORY, imageIds=[{"imageTag": release["grading_tag"]}]
    )["imageDetails"]
    assert len(images) == 1, images
    ecs = emulated_aws.client("ecs")
    service = ecs.describe_services(cluster="gradestack-emulated", services=["gradestack-emulated-grading-service"])[
        "services"
    ]
    assert service and service[0]["runningCount"] == service[0]["desiredCount"] == 3
    assert (
        emulated_aws.client("s3").list_objects_v2(
            Bucket="gradestack-emulated-grading-123456789012", Prefix="artifacts/web-bundle/"
        )["KeyCount"]
        == 1
    )
    standby = emulated_aws.client("autoscaling").describe_auto_scaling_instances()["AutoScalingInstances"]
    assert standby and all(i["LifecycleState"] == "InService" for i in standby)
    broker_logs = emulated_aws.client("logs").describe_log_groups(logGroupNamePrefix="/aws/amazonmq/broker/")
    assert {g["logGroupName"].rsplit("/", 1)[1] for g in broker_logs["logGroups"]} == {"general", "audit"}, broker_logs
    key = emulated_aws.client("kms").describe_key(KeyId="alias/gradestack-emulated")["KeyMetadata"]["Arn"]
    assert all(g["retentionInDays"] == 365 and g["kmsKeyId"] == key for g in broker_logs["logGroups"]), broker_logs


def same_release(aws: EmulatedAws, **extra: str) -> dict[str, str]:
    """Extra vars that deploy the recorded release's versions again.

    Other work in this checkout (uncommitted edits under services/) would otherwise make a new source
    version, i.e. a new release, between two runs.
    """
    release = current_release(aws)
    return {"gradestack_web_release": release["web_bundle"], "gradestack_grading_tag": release["grading_tag"], **extra}


@pytest.mark.needs(DEPLOYED)
def test_second_deploy_changes_nothing(emulated_aws: EmulatedAws):
    result = emulated_aws.run("deploy.yml", extra_vars=same_release(emulated_aws))
    assert_ok(result)
    assert set(recap_changed(result.stdout).values()) == {0}, result.stdout[-8000:]
    assert "Plan: 0 to add, 0 to change, 0 to replace, 0 to destroy" in flat(result.stdout)


@pytest.mark.needs(DEPLOYED)
def test_guard_refuses_to_replace_the_database(emulated_aws: EmulatedAws):
    terraform(emulated_aws, "taint", "module.database.aws_db_instance.this")
    try:
        result = emulated_aws.run("deploy.yml", "--tags", "provision", extra_vars=same_release(emulated_aws))
        assert result.returncode != 0
        assert "would destroy or replace: module.database.aws_db_instance.this (replace" in flat(result.stdout)
        assert "-e allow_destroy=true" in flat(result.stdout)
        assert "Nothing was applied" in flat(result.stdout)
    finally:
        terraform(emulated_aws, "untaint", "module.database.aws_db_instance.this")


AWS_CHECKS = {
    "alb.root", "alb.health", "alb.targets", "asg.instances", "ecs.service", "ecs.deployment", "ecs.stopped_tasks",
    "mq.broker", "mq.roundtrip", "mq.backlog", "mq.dlq", "s3.config", "s3.canary", "rds.instance", "rds.roundtrip",
    "cloudwatch.dashboard", "cloudwatch.alarms", "e2e.ac", "e2e.wa",
}  # fmt: skip
# What the emulator cannot do: no HTTP behind its ALB's DNS name, no broker or database behind its APIs.
EMULATOR_SKIPS = {"alb.root", "alb.health", "mq.roundtrip", "rds.roundtrip", "e2e.ac", "e2e.wa"}
GRADING_BUCKET = "gradestack-emulated-grading-123456789012"


def verify(aws: EmulatedAws, tmp_path) -> tuple[subprocess.CompletedProcess[str], dict[str, tuple[str, str]]]:
    """One verify run with a report directory of its own; its output and its report's checks."""
    result = aws.run("verify.yml", extra_vars={"verify_report_dir": str(tmp_path)}, access_key=VERIFIER_KEY)
    return result, read_report(tmp_path / "verify-emulated.xml")


@pytest.mark.needs(DEPLOYED)
def test_verify_passes_with_every_check_and_publishes_its_metrics(emulated_aws: EmulatedAws, tmp_path):
    result, checks = verify(emulated_aws, tmp_path)
    assert_ok(result)
    assert set(checks) == AWS_CHECKS, checks
    assert {check for check, (status, _) in checks.items() if status == "skip"} == EMULATOR_SKIPS, checks
    assert {check for check, (status, _) in checks.items() if status == "pass"} == AWS_CHECKS - EMULATOR_SKIPS, checks
    assert all("emulator" in checks[check][1] for check in EMULATOR_SKIPS), checks
    assert "0 check(s) failed" not in result.stdout and "none failed" in flat(result.stdout)
    metrics = emulated_aws.client("cloudwatch").list_metrics(
        Namespace="Gradestack/Verify", Dimensions=[{"Name": "Environment", "Value": "emulated"}]
    )["Metrics"]
    published = {m["MetricName"]: set() for m in metrics}
    for m in metrics:
        published[m["MetricName"]].update(d["Value"] for d in m["Dimensions"] if d["Name"] == "Check")
    assert set(published) == {"CheckFailed", "FailedChecks", "Heartbeat"}, published
    # One CheckFailed per check that ran; a skipped check is not reported as passed.
    assert published["CheckFailed"] == AWS_CHECKS - EMULATOR_SKIPS, published


@pytest.mark.needs(DEPLOYED)
def test_verify_from_inside_the_vpc_reads_the_outputs_terraform_published(emulated_aws: EmulatedAws, tmp_path):
    """The scheduled verifier's path: no Terraform, the stack's outputs from SSM (<prefix>/verify/stack).

    Signed as the verifier task's role: every call it made is allowed by that role's applied policy
    (terraform/modules/verifier), and its SSM reads are among those the policy names
    (testsupport/ssm_reads.py; fewer here: against the emulator it skips the broker and database logins).
    """
    inside = {"verify_report_dir": str(tmp_path), "verify_vantage": "network"}
    result = emulated_aws.run("verify.yml", extra_vars=inside, access_key=VERIFIER_TASK_KEY)
    assert_ok(result)
    assert task_outcomes(result.stdout, "Read the outputs Terraform published for the verifier") == ["ok: [localhost]"]
    assert "terraform_stack :" not in result.stdout and "terraform_state :" not in result.stdout, "no Terraform run"
    checks = read_report(tmp_path / "verify-emulated.xml")
    assert {check for check, (status, _) in checks.items() if status == "pass"} == AWS_CHECKS - EMULATOR_SKIPS, checks

    reads = emulated_aws.ssm_reads(VERIFIER_TASK_KEY)
    assert ("ssm:GetParameter", "verify/stack") in reads and reads <= VERIFIER_SSM_READS, sorted(reads)
    iam = emulated_aws.client("iam")
    role = "gradestack-emulated-verifier-task"
    policies = [iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
                for name in iam.list_role_policies(RoleName=role)["PolicyNames"]]  # fmt: skip
    assert policies, f"{role} has no inline policy"
    policy = {"Statement": [statement for document in policies for statement in document["Statement"]]}
    calls = emulated_aws.calls(VERIFIER_TASK_KEY)
    assert "ecs:DescribeServices" in calls, f"the verifier made {len(calls)} calls"
    missing = not_allowed(policy, calls)
    assert missing == [], f"the verifier task's policy does not allow {missing}"
    # The role's permissions boundary caps what the policy grants: it must allow the same.
    missing = not_allowed(json.loads(PERMISSIONS_BOUNDARY_DOCUMENT.read_text()), calls)
    assert missing == [], f"docs/iam/permissions-boundary.json does not allow the verifier task's {missing}"


def _ecs_desired(aws: EmulatedAws, count: int | None = None) -> int:
    ecs = aws.client("ecs")
    names = {"cluster": "gradestack-emulated", "service": "gradestack-emulated-grading-service"}
    if count is not None:
        ecs.update_service(**names, desiredCount=count)
    return ecs.describe_services(cluster=names["cluster"], services=[names["service"]])["services"][0]["desiredCount"]


def _public_access_block(aws: EmulatedAws, present: bool) -> None:
    s3 = aws.client("s3")
    if present:
        s3.put_public_access_block(
            Bucket=GRADING_BUCKET,
            PublicAccessBlockConfiguration={
                "BlockPublicAcls": True, "IgnorePublicAcls": True,
                "BlockPublicPolicy": True, "RestrictPublicBuckets": True,
            },
        )  # fmt: skip
    else:
        s3.delete_public_access_block(Bucket=GRADING_BUCKET)


def _dlq_depth(aws: EmulatedAws, depth: float, minutes_ago: int) -> None:
    # The emulator has no broker to publish QueueSize: the datapoint Amazon MQ would publish, by hand. The check
    # reads the latest one-minute datapoint, so the fault goes minutes back and its repair into this minute.
    at = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=minutes_ago)
    aws.client("cloudwatch").put_metric_data(
        Namespace="AWS/AmazonMQ",
        MetricData=[{
            "MetricName": "QueueSize", "Value": depth, "Unit": "Count", "Timestamp": at,
            "Dimensions": [{"Name": "Broker", "Value": "gradestack-emulated-broker-1"},
                           {"Name": "Queue", "Value": "ActiveMQ.DLQ.grading.requests"}],
        }],
    )  # fmt: skip


def _alarm(aws: EmulatedAws, state: str) -> None:
    aws.client("cloudwatch").set_alarm_state(
        AlarmName="gradestack-emulated-alb-5xx", StateValue=state, StateReason=f"set to {state} by the verify test"
    )


@dataclass(frozen=True)
class Fault:
    """Something broken behind the stack's back, how to put it back, and what verify must say."""

    check: str
    break_it: Callable[[EmulatedAws], object]
    restore: Callable[[EmulatedAws], object]
    reason: str


FAULTS = {
    "ecs-desired-count": Fault("ecs.service", lambda aws: _ecs_desired(aws, 0), lambda aws: _ecs_desired(aws, 3),
                               "desired 0"),
    "bucket-public-access-block": Fault("s3.config", lambda aws: _public_access_block(aws, False),
                                        lambda aws: _public_access_block(aws, True), "public access block missing"),
    "dead-letter-queue": Fault("mq.dlq", lambda aws: _dlq_depth(aws, 2, 2), lambda aws: _dlq_depth(aws, 0, 0), "=2.0"),
    "alarm": Fault("cloudwatch.alarms", lambda aws: _alarm(aws, "ALARM"), lambda aws: _alarm(aws, "OK"),
                   "gradestack-emulated-alb-5xx: set to ALARM by the verify test"),
}  # fmt: skip


@pytest.mark.needs(DEPLOYED)
@pytest.mark.parametrize("fault", list(FAULTS.values()), ids=list(FAULTS))
def test_verify_names_exactly_the_check_that_broke(emulated_aws: EmulatedAws, tmp_path, fault: Fault):
    fault.break_it(emulated_aws)
    try:
        result, checks = verify(emulated_aws, tmp_path)
        assert result.returncode != 0
        assert failed(checks) == {fault.check}, checks
        assert fault.reason in checks[fault.check][1], checks[fault.check]
        assert f"1 check(s) failed: {fault.check} " in flat(result.stdout), result.stdout[-4000:]
    finally:
        fault.restore(emulated_aws)


@pytest.mark.needs(DEPLOYED)
def test_rollback_gradual(emulated_aws: EmulatedAws):
    before = current_release(emulated_aws)
    result = emulated_aws.run("rollback.yml", extra_vars={"mode": "gradual"})
    assert_ok(result)
    assert "0/0 tasks running" in flat(result.stdout)
    assert "3/3 tasks running" in flat(result.stdout)
    assert current_release(emulated_aws)["release"] == before["release"]


@pytest.mark.needs(DEPLOYED)
def test_grading_service_never_steady_times_out_with_events(emulated_aws: EmulatedAws):
    ecs = emulated_aws.client("ecs")
    service_arn = ecs.describe_services(
        cluster="gradestack-emulated", services=["gradestack-emulated-grading-service"]
    )["services"][0]["serviceArn"]
    ecs.tag_resource(resourceArn=service_arn, tags=[{"key": "gradestack:emulator-fault", "value": "never-steady"}])
    ecs.update_service(
        cluster="gradestack-emulated", service=service_arn, forceNewDeployment=True
    )  # the emulator starts no task for it
    try:
        result = emulated_aws.run(
            "deploy.yml",
            "--tags",
            "grading",
            extra_vars={"ecs_rollout_timeout": 12, "ecs_rollout_poll_interval": 4},
        )
        assert result.returncode != 0
        assert "was not steady after 12 s" in flat(result.stdout)
        assert "unable to consistently start tasks successfully" in flat(result.stdout)
    finally:
        ecs.untag_resource(resourceArn=service_arn, tagKeys=["gradestack:emulator-fault"])
        ecs.update_service(cluster="gradestack-emulated", service=service_arn, forceNewDeployment=True)


@pytest.mark.needs(DEPLOYED)
def test_rollback_emergency_returns_to_the_previous_release(emulated_aws: EmulatedAws):
    first = current_release(emulated_aws)
    # An older release's image, pushed when it was built: this checkout cannot build it, and the
    # emulator's ECS would start no task of it were it not in ECR.
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {"mediaType": "application/vnd.docker.container.image.v1+json", "size": 0,
                   "digest": "sha256:" + "0123456789ab" * 5 + "0123"},
        "layers": [],
    }  # fmt: skip
    emulated_aws.client("ecr").put_image(
        repositoryName=GRADING_REPOSITORY, imageTag="0123456789ab", imageManifest=json.dumps(manifest)
    )
    pinned = same_release(emulated_aws, gradestack_grading_tag="0123456789ab")
    second = emulated_aws.run("deploy.yml", extra_vars=pinned)
    assert_ok(second)
    assert current_release(emulated_aws)["grading_tag"] == "0123456789ab"

    result = emulated_aws.run("rollback.yml", extra_vars={"mode": "emergency"})
    assert_ok(result)
    now = current_release(emulated_aws)
    assert now["release"] == first["release"]
    assert now["grading_image"] == first["grading_image"]
    assert now["kind"] == "rollback"


@pytest.mark.needs(DEPLOYED)
def test_every_call_the_deployer_made_is_allowed_by_the_deployer_policy(emulated_aws: EmulatedAws):
    """Every API call the deploys and rollbacks above made is allowed by docs/iam/deployer-policy.json.

    Which policy applies to which run: deploy.yml (all its stages, its verify stage too: the operator who
    deploys runs it), rollback.yml and destroy.yml run as the deploying principal, whose policy this is; they
    sign with DEPLOYER_KEY. verify.yml on its own runs as the operator's read-only checks (VERIFIER_KEY) or, in
    network vantage, as the scheduled verifier's task role (VERIFIER_TASK_KEY; terraform/modules/verifier grants
    that role its own policy, checked where that run is): neither is the deployer's. The tests' own clients (the
    secrets the fixture stores, the conflicting role, the faults) sign with HARNESS_KEY. The destroy steps
    come after this test.

    Resource- and condition-agnostic (testsupport/iam_policy.py): this catches an action the policy lacks;
    tests/terraform/test_iam_policy.py checks the statements' resources and conditions.
    """
    calls = emulated_aws.calls(DEPLOYER_KEY)
    # The deploy made the calls that matter, so the check below cannot pass on an empty log.
    for expected in ("sts:GetCallerIdentity", "ecs:CreateService", "ecr:PutImage", "s3:PutObject", "ssm:PutParameter"):
        assert expected in calls, f"{expected} not among the deployer's {len(calls)} recorded calls"
    known = {DEPLOYER_KEY, VERIFIER_KEY, VERIFIER_TASK_KEY, HARNESS_KEY}
    assert emulated_aws.signing_keys() <= known, "a request of an unknown principal"
    policy = json.loads(DEPLOYER_POLICY.read_text())
    missing = not_allowed(policy, calls)
    assert missing == [], f"{DEPLOYER_POLICY.name} does not allow {len(missing)} action(s) the deploy called: {missing}"


def test_rollback_complete_needs_confirmation(emulated_aws: EmulatedAws):
    result = emulated_aws.run("rollback.yml", extra_vars={"mode": "complete"})
    assert result.returncode != 0
    assert "Refusing to destroy emulated" in flat(result.stdout)


@pytest.mark.needs(DEPLOYED)
def test_rollback_complete_then_destroy_removes_everything(emulated_aws: EmulatedAws):
    confirmed = {"confirm": "emulated", "disable_deletion_protection": True}
    result = emulated_aws.run("rollback.yml", extra_vars={"mode": "complete", **confirmed})
    assert_ok(result)
    assert current_release(emulated_aws)["kind"] == "deploy"

    result = emulated_aws.run("destroy.yml", extra_vars=confirmed)
    assert_ok(result)
    ec2 = emulated_aws.client("ec2")
    ours = [{"Name": "tag:Environment", "Values": ["emulated"]}]
    assert ec2.describe_vpcs(Filters=ours)["Vpcs"] == []
    assert emulated_aws.client("mq").list_brokers()["BrokerSummaries"] == []
    assert emulated_aws.client("logs").describe_log_groups(logGroupNamePrefix="/aws/amazonmq/")["logGroups"] == []
    clusters = emulated_aws.client("ecs").describe_clusters(clusters=["gradestack-emulated"])["clusters"]
    assert all(c["status"] == "INACTIVE" for c in clusters)
    assert [
        i
        for i in ec2.describe_instances(Filters=ours)["Reservations"]
        for i in i["Instances"]
        if i["State"]["Name"] != "terminated"
    ] == []
