#!/usr/bin/python
"""Ansible module: publish a verify run's results as CloudWatch metrics (PutMetricData).

No collection has put-metric-data; the alarms of the verifier (issue 16) watch
these metrics, so the names and dimensions are an interface (docs/ARCHITECTURE.md,
"Verification"): CheckFailed per check, FailedChecks and Heartbeat per run.
"""

from __future__ import annotations

from typing import Any

DOCUMENTATION = r"""
---
module: gradestack_verify_metrics
short_description: Publish the results of a gradestack verify run to CloudWatch
description:
  - Puts, in one namespace, C(CheckFailed) (0 or 1, dimensions C(Environment) and C(Check)) for every check
    that passed or failed, C(FailedChecks) (the number of failed checks, dimension C(Environment)) and
    C(Heartbeat) (1, dimension C(Environment)).
  - A skipped check publishes no C(CheckFailed): it was not tested, so it neither clears nor raises an alarm.
  - Metric data is appended, never replaced, so every call changes something; in check mode nothing is sent.
  - Endpoint, region and credentials are taken like the amazon.aws modules (C(endpoint_url) reaches moto).
options:
  namespace:
    type: str
    required: true
    description: CloudWatch namespace, e.g. Gradestack/Verify (group_vars verify_metrics_namespace).
  environment_name:
    type: str
    required: true
    description: Value of the Environment dimension.
  results:
    type: list
    elements: dict
    required: true
    description:
      - The run's checks, each with C(id) (the check id, the Check dimension) and C(status) (pass, fail or skip).
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Publish the results
  gradestack_verify_metrics:
    namespace: Gradestack/Verify
    environment_name: production
    results:
      - {id: alb.root, status: pass}
      - {id: mq.dlq, status: fail}
      - {id: mq.roundtrip, status: skip}
    region: ap-northeast-2
"""

RETURN = r"""
metrics:
  description: The metric data sent (or, in check mode, that would be sent).
  returned: always
  type: list
  elements: dict
failed_checks:
  description: The number of failed checks (the FailedChecks value).
  returned: always
  type: int
"""

STATUSES = ("pass", "fail", "skip")
# PutMetricData takes at most 1000 data points per call; a run has about twenty.
BATCH = 1000


def build_metric_data(environment_name: str, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The data points of one run; raises ValueError for a result without an id or with an unknown status."""
    env_dimension = {"Name": "Environment", "Value": environment_name}
    data: list[dict[str, Any]] = []
    failed = 0
    for result in results:
        check_id = str(result.get("id") or "")
        status = result.get("status")
        if not check_id or status not in STATUSES:
            raise ValueError(f"result {result!r}: needs an id and a status among {', '.join(STATUSES)}")
        if status == "skip":
            continue
        failed += status == "fail"
        data.append(
            {
                "MetricName": "CheckFailed",
                "Dimensions": [env_dimension, {"Name": "Check", "Value": check_id}],
                "Value": 1.0 if status == "fail" else 0.0,
                "Unit": "Count",
            }
        )
    data.append({"MetricName": "FailedChecks", "Dimensions": [env_dimension], "Value": float(failed), "Unit": "Count"})
    data.append({"MetricName": "Heartbeat", "Dimensions": [env_dimension], "Value": 1.0, "Unit": "Count"})
    return data


def main() -> None:
    # Imported here so that the pure function above can be unit tested without the collection.
    from ansible_collections.amazon.aws.plugins.module_utils.modules import AnsibleAWSModule  # noqa: PLC0415

    module = AnsibleAWSModule(
        argument_spec={
            "namespace": {"type": "str", "required": True},
            "environment_name": {"type": "str", "required": True},
            "results": {"type": "list", "elements": "dict", "required": True},
        },
        supports_check_mode=True,
    )
    try:
        data = build_metric_data(module.params["environment_name"], module.params["results"])
    except ValueError as exc:
        module.fail_json(msg=str(exc))
    failed = int(next(d["Value"] for d in data if d["MetricName"] == "FailedChecks"))
    if module.check_mode:
        module.exit_json(changed=True, metrics=data, failed_checks=failed)
    client = module.client("cloudwatch")
    try:
        for start in range(0, len(data), BATCH):
            client.put_metric_data(Namespace=module.params["namespace"], MetricData=data[start : start + BATCH])
    except Exception as exc:
        module.fail_json_aws(exc, msg=f"could not put the verify metrics into {module.params['namespace']}")
    module.exit_json(changed=True, metrics=data, failed_checks=failed)


if __name__ == "__main__":
    main()
