"""scripts/moto_server.py: the call log, ECS's refusal to run an image its ECR does not hold, and the fixes
that let a deploy, verify or destroy step of the emulated path finish (a moto upgrade that changes what they paper
over must fail here first, not as a hang in tests/aws).

A moto server of this module's own (the call log is a launch setting); boto3 against it as a deploy's
clients reach AWS.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from testsupport.moto import MotoServer, start_moto

pytestmark = pytest.mark.slow
REGION = "ap-northeast-2"
ACCOUNT = "123456789012"  # moto's default account
KEY = "AKIAGRADESTACKUNIT01"
REPOSITORY = "gradestack-unit-grading"
REGISTRY = f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com"
MANIFEST = json.dumps(
    {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "size": 2,
            "digest": "sha256:" + "a" * 64,
        },
        "layers": [],
    }
)


@pytest.fixture(scope="module")
def emulator(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[MotoServer, Path]]:
    directory = tmp_path_factory.mktemp("moto-emulator")
    call_log = directory / "calls.jsonl"
    server = start_moto(directory, extra_env={"GRADESTACK_MOTO_CALL_LOG": str(call_log)})
    yield server, call_log
    server.stop()


def client(server: MotoServer, service: str, key: str = KEY):
    return server.client(service, access_key=key)


def calls(call_log: Path) -> list[dict[str, str]]:
    return [json.loads(line) for line in call_log.read_text().splitlines()]


def test_the_call_log_records_each_request_as_its_iam_action_and_signing_key(emulator):
    server, call_log = emulator
    other = "AKIAGRADESTACKOTHER1"
    s3 = client(server, "s3")
    s3.create_bucket(Bucket="gradestack-unit-calls", CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_object(Bucket="gradestack-unit-calls", Key="a", Body=b"x")
    s3.get_bucket_versioning(Bucket="gradestack-unit-calls")
    # Where moto's own names are no IAM actions, or it does not know the sub-resource: AWS's IAM actions.
    s3.head_bucket(Bucket="gradestack-unit-calls")
    s3.put_bucket_encryption(
        Bucket="gradestack-unit-calls",
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
        },
    )
    s3.get_bucket_encryption(Bucket="gradestack-unit-calls")
    block = {k: True for k in ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")}
    s3.put_public_access_block(Bucket="gradestack-unit-calls", PublicAccessBlockConfiguration=block)
    s3.get_public_access_block(Bucket="gradestack-unit-calls")
    s3.delete_public_access_block(Bucket="gradestack-unit-calls")
    client(server, "ec2").describe_vpcs()  # query protocol
    client(server, "ecs").list_clusters()  # JSON protocol (X-Amz-Target)
    client(server, "cloudwatch").list_dashboards()  # signed as "monitoring", IAM prefix "cloudwatch"
    client(server, "mq").list_brokers()  # REST JSON: the operation moto's router matched
    client(server, "sts", key=other).get_caller_identity()

    recorded = calls(call_log)
    mine = [(c["service"], c["action"]) for c in recorded if c["access_key"] == KEY]
    for expected in [
        ("s3", "s3:CreateBucket"),
        ("s3", "s3:PutObject"),
        ("s3", "s3:GetBucketVersioning"),
        ("s3", "s3:ListBucket"),
        ("s3", "s3:PutEncryptionConfiguration"),
        ("s3", "s3:GetEncryptionConfiguration"),
        ("s3", "s3:PutBucketPublicAccessBlock"),
        ("s3", "s3:GetBucketPublicAccessBlock"),
        ("ec2", "ec2:DescribeVpcs"),
        ("ecs", "ecs:ListClusters"),
        ("cloudwatch", "cloudwatch:ListDashboards"),
        ("mq", "mq:ListBrokers"),
    ]:
        assert expected in mine, recorded
    assert ("sts", "sts:GetCallerIdentity") not in mine
    assert not {"s3:HeadBucket", "s3:CreateBucket"} & {a for _, a in mine[1:]}, mine  # only the first is a create
    assert [a for _, a in mine].count("s3:PutBucketPublicAccessBlock") == 2, mine  # the put and the delete
    assert {"service": "sts", "action": "sts:GetCallerIdentity", "access_key": other} in recorded


def test_the_call_log_is_off_unless_asked_for(tmp_path):
    server = start_moto(tmp_path)
    try:
        client(server, "ec2").describe_vpcs()
    finally:
        server.stop()
    assert not list(tmp_path.glob("*.jsonl"))
    assert "call log" not in server.log_path.read_text().lower()


@pytest.fixture(scope="module")
def cluster(emulator) -> dict[str, object]:
    """An ECR repository, a Fargate cluster and an awsvpc network, as the stack has them."""
    server, _ = emulator
    ec2 = client(server, "ec2")
    vpc = ec2.create_vpc(CidrBlock="10.9.0.0/16")["Vpc"]["VpcId"]
    subnet = ec2.create_subnet(VpcId=vpc, CidrBlock="10.9.1.0/24")["Subnet"]["SubnetId"]
    group = ec2.create_security_group(GroupName="unit-tasks", Description="tasks", VpcId=vpc)["GroupId"]
    client(server, "ecr").create_repository(repositoryName=REPOSITORY)
    client(server, "ecs").create_cluster(clusterName="gradestack-unit")
    return {"awsvpcConfiguration": {"subnets": [subnet], "securityGroups": [group], "assignPublicIp": "DISABLED"}}


def task_definition(server: MotoServer, image: str) -> str:
    return client(server, "ecs").register_task_definition(
        family="gradestack-unit-grading",
        networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"],
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "worker", "image": image, "essential": True}],
    )["taskDefinition"]["taskDefinitionArn"]


def service(server: MotoServer, name: str) -> dict:
    return client(server, "ecs").describe_services(cluster="gradestack-unit", services=[name])["services"][0]


def stopped_tasks(server: MotoServer) -> list[dict]:
    ecs = client(server, "ecs")
    arns = ecs.list_tasks(cluster="gradestack-unit", desiredStatus="STOPPED")["taskArns"]
    return ecs.describe_tasks(cluster="gradestack-unit", tasks=arns)["tasks"] if arns else []


def test_a_service_whose_image_was_not_put_never_runs_and_one_put_does(emulator, cluster):
    server, _ = emulator
    ecs = client(server, "ecs")
    missing = f"{REGISTRY}/{REPOSITORY}:not-pushed"
    ecs.create_service(
        cluster="gradestack-unit",
        serviceName="unit-missing",
        taskDefinition=task_definition(server, missing),
        desiredCount=2,
        launchType="FARGATE",
        networkConfiguration=cluster,
    )
    broken = service(server, "unit-missing")
    assert (broken["runningCount"], broken["desiredCount"]) == (0, 2)
    assert broken["deployments"][0]["rolloutState"] == "IN_PROGRESS"
    assert broken["deployments"][0]["failedTasks"] == 2
    assert "unable to consistently start tasks successfully" in broken["events"][0]["message"]
    failed = [t for t in stopped_tasks(server) if t["group"] == "service:unit-missing"]
    assert len(failed) == 2, failed
    for task in failed:
        assert task["lastStatus"] == "STOPPED" and task["stopCode"] == "TaskFailedToStart"
        assert task["stoppedReason"].startswith("CannotPullContainerError: ")
        assert task["stoppedReason"].endswith(f"{missing}: not found")
        assert "stoppedAt" in task

    client(server, "ecr").put_image(repositoryName=REPOSITORY, imageManifest=MANIFEST, imageTag="pushed")
    ecs.update_service(
        cluster="gradestack-unit",
        service="unit-missing",
        taskDefinition=task_definition(server, f"{REGISTRY}/{REPOSITORY}:pushed"),
    )
    fixed = service(server, "unit-missing")
    assert (fixed["runningCount"], fixed["desiredCount"]) == (2, 2)
    assert fixed["deployments"][0]["rolloutState"] == "COMPLETED"
    assert "has reached a steady state" in fixed["events"][0]["message"]


def test_an_image_by_digest_must_match_a_held_image(emulator, cluster):
    server, _ = emulator
    ecr, ecs = client(server, "ecr"), client(server, "ecs")
    ecr.put_image(repositoryName=REPOSITORY, imageManifest=MANIFEST, imageTag="by-digest")
    digest = ecr.describe_images(repositoryName=REPOSITORY, imageIds=[{"imageTag": "by-digest"}])["imageDetails"][0][
        "imageDigest"
    ]
    for name, reference, running in [
        ("unit-digest-held", f"{REGISTRY}/{REPOSITORY}@{digest}", 1),
        ("unit-digest-other", f"{REGISTRY}/{REPOSITORY}@sha256:{'0' * 64}", 0),
        ("unit-other-repository", f"{REGISTRY}/gradestack-unit-absent:pushed", 0),
    ]:
        ecs.create_service(
            cluster="gradestack-unit",
            serviceName=name,
            taskDefinition=task_definition(server, reference),
            desiredCount=1,
            launchType="FARGATE",
            networkConfiguration=cluster,
        )
        assert service(server, name)["runningCount"] == running, name


def test_images_outside_ecr_are_left_alone(emulator, cluster):
    server, _ = emulator
    client(server, "ecs").create_service(
        cluster="gradestack-unit",
        serviceName="unit-public",
        taskDefinition=task_definition(server, "public.ecr.aws/docker/library/busybox:1.36"),
        desiredCount=1,
        launchType="FARGATE",
        networkConfiguration=cluster,
    )
    assert service(server, "unit-public")["runningCount"] == 1


def test_a_versioned_bucket_with_a_deleted_object_empties_and_goes(emulator) -> None:
    """verify's S3 canary leaves a version and a delete marker. On destroy Terraform first suspends
    versioning (destroying aws_s3_bucket_versioning), then force_destroy deletes every listed version;
    moto 5.2 then drops the key's whole version list and answered 500 on the marker: the destroy hung."""
    s3 = client(emulator[0], "s3")
    bucket = "gradestack-test-delete-marker"
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    s3.put_object(Bucket=bucket, Key="verify/canary", Body=b"canary")
    s3.delete_object(Bucket=bucket, Key="verify/canary")
    s3.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Suspended"})

    listing = s3.list_object_versions(Bucket=bucket)
    assert len(listing["Versions"]) == 1 and len(listing["DeleteMarkers"]) == 1, listing
    versions = [{"Key": e["Key"], "VersionId": e["VersionId"]} for e in listing["Versions"] + listing["DeleteMarkers"]]
    deleted = s3.delete_objects(Bucket=bucket, Delete={"Objects": versions, "Quiet": True})
    assert not deleted.get("Errors"), deleted

    listing = s3.list_object_versions(Bucket=bucket)
    assert "Versions" not in listing and "DeleteMarkers" not in listing, listing
    s3.delete_bucket(Bucket=bucket)
    assert bucket not in {b["Name"] for b in s3.list_buckets()["Buckets"]}
