#!/usr/bin/env python3
"""Create the ECS cluster and services roles/ecs_rollout watches, in the scenario's emulator (boto3).

    ecs.py <endpoint>

grading: a healthy service (1 task); stuck: the same, tagged
gradestack:emulator-fault=never-steady, so its tasks never start (scripts/moto_server.py).
"""

from __future__ import annotations

import sys

import boto3

CLUSTER = "gradestack-molecule"


def main() -> None:
    ecs = boto3.client(
        "ecs",
        endpoint_url=sys.argv[1],
        region_name="ap-northeast-2",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",  # noqa: S106 (moto's fixed test credentials)
    )
    ecs.create_cluster(clusterName=CLUSTER)
    task = ecs.register_task_definition(
        family="gradestack-molecule-grading",
        requiresCompatibilities=["FARGATE"],
        networkMode="awsvpc",
        cpu="256",
        memory="512",
        containerDefinitions=[{"name": "worker", "image": "public.ecr.aws/docker/library/busybox:latest"}],
    )["taskDefinition"]["taskDefinitionArn"]
    faults = {"grading": [], "stuck": [{"key": "gradestack:emulator-fault", "value": "never-steady"}]}
    for name, tags in faults.items():
        ecs.create_service(
            cluster=CLUSTER,
            serviceName=name,
            taskDefinition=task,
            desiredCount=1,
            launchType="FARGATE",
            tags=tags,
        )
    print(f"created {CLUSTER}: {', '.join(faults)} ({task})")


if __name__ == "__main__":
    main()
