"""Plan, apply, re-plan and destroy the stack with the real Terraform CLI and AWS provider against moto.

dev and staging are planned; production is applied, planned again (no changes except the
known emulator drift in emulator_drift.yml) and destroyed. Resource counts and timings are
printed and written to reports/terraform/emulator.json.
"""

from __future__ import annotations

import base64
import importlib.util
import json
import re
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from testsupport.iam_policy import allows_on
from testsupport.moto import MotoServer, start_moto
from testsupport.ssm_reads import VERIFIER_SSM_READS, WEB_HOST_SSM_READS
from testsupport.terraform import (
    LOCAL_BACKEND_OVERRIDE,
    REPO,
    TERRAFORM_DIR,
    TEST_MQ_PASSWORDS,
    TEST_SECRET_VALUES,
    TEST_SECRETS,
    TerraformCli,
    copy_root_module,
    emulator_override,
    write_tfvars,
)

pytestmark = [pytest.mark.terraform, pytest.mark.slow]

DRIFT_FILE = TERRAFORM_DIR / "emulator_drift.yml"
REPORT = REPO / "reports" / "terraform" / "emulator.json"
MEASURED: dict[str, dict] = {}
# The broker access map (mq_users, mq_authorization, mq_temp_destination_authorization).
GROUP_VARS = yaml.safe_load((REPO / "group_vars" / "all" / "main.yml").read_text())
_SPEC = importlib.util.spec_from_file_location(
    "terraform_plan_summary", REPO / "roles" / "terraform_stack" / "library" / "terraform_plan_summary.py"
)
plan_summary = importlib.util.module_from_spec(_SPEC)
_SPEC.loader.exec_module(plan_summary)
PRICES = yaml.safe_load((TERRAFORM_DIR / "prices" / "ap-northeast-2.yml").read_text())
# What an operator adds for production (README, "HTTPS set-up", "Alarm recipients"): the
# emulated environment's values, whose certificate scripts/moto_server.py puts in ACM.
_EMULATED = yaml.safe_load((REPO / "group_vars" / "emulated.yml").read_text())
OPERATOR_SETTINGS = {
    "production": {name: _EMULATED[name] for name in ("certificate_arn", "alarm_email_addresses")},
}
# What enable_deletion_protection / db_deletion_protection guard.
PROTECTED = (
    "module.compute.aws_lb.this",
    "module.database.aws_db_instance.this",
    "module.storage.aws_s3_bucket.grading",
    "module.storage.aws_s3_bucket.logs",
    "module.ecs_grading.aws_ecr_repository.grading",
    "module.verifier.aws_ecr_repository.verifier",
)


@dataclass
class Stack:
    cli: TerraformCli
    root: Path
    moto: MotoServer
    env: dict[str, str] = field(default_factory=dict)

    def tf(self, *args: str, check: bool = True, timeout: float = 900):
        return self.cli.run([*args], self.root, extra_env=self.env, check=check, timeout=timeout)

    def workspace(self, name: str) -> None:
        if self.tf("workspace", "select", "-or-create", name, check=False).returncode != 0:
            raise AssertionError(f"cannot select workspace {name}")

    def plan(self, environment: str, *extra: str) -> dict:
        tfvars = write_tfvars(self.root, environment, **OPERATOR_SETTINGS.get(environment, {}))
        plan_file = f"{environment}.tfplan"
        self.tf("plan", "-input=false", "-no-color", "-var-file", str(tfvars), "-out", plan_file, *extra)
        return json.loads(self.tf("show", "-json", plan_file).stdout)


@pytest.fixture(scope="module")
def stack(terraform_cli: TerraformCli, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    work = tmp_path_factory.mktemp("tf-emulator")
    moto = start_moto(work)
    try:
        root = copy_root_module(work / "terraform")
        (root / "zz_backend_override.tf").write_text(LOCAL_BACKEND_OVERRIDE)
        (root / "zz_emulator_override.tf").write_text(emulator_override(moto.endpoint))
        stack = Stack(terraform_cli, root, moto, env={"AWS_EC2_METADATA_DISABLED": "true"})
        stack.tf("init", "-input=false", "-no-color")
        yield stack
    finally:
        moto.process.terminate()
        moto.process.wait(timeout=20)
    if MEASURED:
        REPORT.parent.mkdir(parents=True, exist_ok=True)
        REPORT.write_text(json.dumps(MEASURED, indent=2))


def creates(plan: dict) -> list[dict]:
    return [c for c in plan["resource_changes"] if c["change"]["actions"] == ["create"]]


def addresses(plan: dict, pattern: str) -> list[str]:
    return [c["address"] for c in creates(plan) if re.fullmatch(pattern, c["address"])]


def planned(plan: dict, address: str) -> dict:
    for change in plan["resource_changes"]:
        if change["address"] == address:
            return change["change"]["after"]
    raise AssertionError(f"{address} is not in the plan")


@pytest.mark.parametrize("environment", ["dev", "staging"])
def test_plan(stack: Stack, environment: str) -> None:
    stack.workspace(environment)
    started = time.monotonic()
    plan = stack.plan(environment)
    seconds = round(time.monotonic() - started, 1)
    count = len(creates(plan))
    cost = record_cost(environment, plan)
    MEASURED[environment].update({"resources": count, "plan_seconds": seconds})
    print(f"\n{environment}: plan creates {count} resources ({seconds} s)")
    assert cost["before"] == 0 and 100 < cost["after"] < 600, cost
    assert all(c["change"]["actions"] in (["create"], ["no-op"], ["read"]) for c in plan["resource_changes"])
    assert count >= 50

    db = planned(plan, "module.database.aws_db_instance.this")
    assert db["instance_class"] in {"db.t3.micro", "db.t3.small"}
    assert db["multi_az"] is False and db["deletion_protection"] is False and db["skip_final_snapshot"] is True
    assert planned(plan, "module.messaging.aws_mq_broker.this")["deployment_mode"] == "SINGLE_INSTANCE"
    assert len(addresses(plan, r"module\.vpc\.aws_nat_gateway\.this\[\d\]")) == 1
    ssh = addresses(plan, r"module\.security_groups\.aws_vpc_security_group_ingress_rule\.web_ssh\[.*\]")
    if environment == "dev":
        assert ssh == ['module.security_groups.aws_vpc_security_group_ingress_rule.web_ssh["0.0.0.0/0"]']
    else:
        assert ssh == []
    check_user_data(planned(plan, "module.compute.aws_launch_template.web")["user_data"], environment)
    check_broker_access(plan)
    service = planned(plan, "module.ecs_grading.aws_ecs_service.grading")
    assert service["name"] == f"gradestack-{environment}-grading-service"
    assert service["network_configuration"][0]["assign_public_ip"] is False
    # The verifier schedule follows verify_schedule_enabled (off in dev); without a schedule
    # nothing beats, so there is no heartbeat alarm to page on.
    enabled = environment != "dev"
    check_verify_schedule(plan, environment, enabled=enabled)


def check_verify_schedule(plan: dict, environment: str, enabled: bool) -> None:
    """Issue 16: the scheduled verifier task and its alarms, as group_vars set them."""
    name = f"gradestack-{environment}"
    schedule = planned(plan, "module.verifier.aws_scheduler_schedule.verify")
    assert schedule["name"] == f"{name}-verify" and schedule["group_name"] == "default"
    assert schedule["schedule_expression"] == "rate(15 minutes)"
    assert schedule["state"] == ("ENABLED" if enabled else "DISABLED")
    assert schedule["flexible_time_window"] == [{"maximum_window_in_minutes": None, "mode": "OFF"}]
    ecs = schedule["target"][0]["ecs_parameters"][0]
    assert ecs["launch_type"] == "FARGATE" and ecs["task_count"] == 1
    assert ecs["network_configuration"][0]["assign_public_ip"] is False
    repository = planned(plan, "module.verifier.aws_ecr_repository.verifier")
    assert repository["name"] == f"{name}-verifier" and repository["image_tag_mutability"] == "IMMUTABLE"
    assert repository["image_scanning_configuration"] == [{"scan_on_push": True}]
    assert repository["encryption_configuration"][0]["encryption_type"] == "KMS"
    task = planned(plan, "module.verifier.aws_ecs_task_definition.verifier")
    assert task["family"] == f"{name}-verifier" and task["requires_compatibilities"] == ["FARGATE"]
    container = json.loads(task["container_definitions"])[0]
    assert container["image"].endswith("-verifier:0123abc") and container["readonlyRootFilesystem"] is True
    environment_vars = {e["name"]: e["value"] for e in container["environment"]}
    assert environment_vars["GRADESTACK_ENVIRONMENT"] == environment
    assert environment_vars["GRADESTACK_VERIFY_VANTAGE"] == "network"
    assert re.fullmatch(
        rf"s3://{name}-grading-\d{{12}}/reports/verify", environment_vars["GRADESTACK_VERIFY_REPORT_S3_URI"]
    )
    alarms = {
        c["change"]["after"]["alarm_name"]: c["change"]["after"]
        for c in plan["resource_changes"]
        if c["type"] == "aws_cloudwatch_metric_alarm" and c["change"]["after"]
    }
    failed = alarms[f"{name}-verify-failed-checks"]
    assert failed["namespace"] == "Gradestack/Verify" and failed["metric_name"] == "FailedChecks"
    assert failed["dimensions"] == {"Environment": environment} and failed["period"] == 900
    assert failed["comparison_operator"] == "GreaterThanThreshold" and failed["threshold"] == 0
    heartbeat = alarms.get(f"{name}-verify-heartbeat-missing")
    if not enabled:
        assert heartbeat is None
        return
    assert heartbeat["metric_name"] == "Heartbeat" and heartbeat["dimensions"] == {"Environment": environment}
    assert heartbeat["treat_missing_data"] == "breaching"
    assert heartbeat["period"] == 900 and heartbeat["evaluation_periods"] == 2


def _groups(element: ET.Element, right: str) -> list[str]:
    return element.get(right, "").split(",") if element.get(right) else []


def check_broker_access(plan: dict) -> None:
    """The broker's accounts and its configuration's authorization map are group_vars' (mq_users, ...).

    One account per client, none with console access; the authorizationPlugin's entries are
    mq_authorization's, entry for entry, and temporary destinations mq_temp_destination_authorization's.
    """
    broker = planned(plan, "module.messaging.aws_mq_broker.this")
    users = {user["username"]: user for user in broker["user"]}
    assert set(users) == {user["username"] for user in GROUP_VARS["mq_users"].values()}
    for user in GROUP_VARS["mq_users"].values():
        assert users[user["username"]]["console_access"] is False, user
        assert sorted(users[user["username"]]["groups"]) == sorted(user["groups"]), user
    # Terraform's own rendering of the repo's template, not untrusted input.
    config = ET.fromstring(planned(plan, "module.messaging.aws_mq_configuration.this")["data"])  # noqa: S314
    ns = {"amq": "http://activemq.apache.org/schema/core"}
    plugin = config.find("amq:plugins/amq:authorizationPlugin/amq:map/amq:authorizationMap", ns)
    assert plugin is not None, "no authorizationPlugin in the broker configuration"
    entries = [
        {
            **({"queue": e.get("queue")} if e.get("queue") else {"topic": e.get("topic")}),
            **{right: _groups(e, right) for right in ("read", "write", "admin")},
        }
        for e in plugin.findall("amq:authorizationEntries/amq:authorizationEntry", ns)
    ]
    expected = [
        {k: entry[k] for k in ("queue", "topic") if k in entry}
        | {right: entry.get(right, []) for right in ("read", "write", "admin")}
        for entry in GROUP_VARS["mq_authorization"]
    ]
    assert entries == expected
    (temp,) = plugin.findall("amq:tempDestinationAuthorizationEntry/amq:tempDestinationAuthorizationEntry", ns)
    assert {right: _groups(temp, right) for right in ("read", "write", "admin")} == GROUP_VARS[
        "mq_temp_destination_authorization"
    ]


def check_user_data(encoded: str, environment: str) -> None:
    """The boot script is valid bash, follows the bundle contract and carries no secret."""
    script = base64.b64decode(encoded).decode()
    syntax = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True, check=False)
    assert syntax.returncode == 0, syntax.stderr
    assert f"RELEASE_PARAMETER='/gradestack/{environment}/web/release'" in script
    assert "BUNDLE_PREFIX='artifacts/web-bundle/'" in script
    assert 'ansible-playbook" -c local -i localhost, site.yml' in script
    assert "\nENDPOINT_URL=''\n" in script  # AWS's endpoints: only tests/local/test_web_boot.py sets an emulator's
    for secret in TEST_SECRET_VALUES:
        assert secret not in script


def load_drift_allow_list() -> list[dict]:
    entries = yaml.safe_load(DRIFT_FILE.read_text()) or []
    for entry in entries:
        assert {"resource_type", "attribute", "reason"} <= set(entry), entry
        assert len(entry["reason"]) > 20, f"drift entry {entry} needs a real reason"
    return entries


def changed_attributes(before: object, after: object, path: str = "") -> list[str]:
    """Dotted paths of the leaves that differ (lists by index)."""
    if isinstance(before, dict) and isinstance(after, dict):
        found: list[str] = []
        for key in sorted(set(before) | set(after)):
            found += changed_attributes(before.get(key), after.get(key), f"{path}.{key}" if path else key)
        return found
    if isinstance(before, list) and isinstance(after, list) and len(before) == len(after):
        found = []
        for index, (b, a) in enumerate(zip(before, after, strict=True)):
            found += changed_attributes(b, a, f"{path}[{index}]")
        return found
    return [] if before == after else [path]


def unexplained_drift(plan: dict, allow: list[dict]) -> list[str]:
    problems = []
    for change in plan["resource_changes"]:
        actions = change["change"]["actions"]
        if actions in (["no-op"], ["read"]):
            continue
        if actions != ["update"]:
            problems.append(f"{change['address']}: {actions}")
            continue
        before, after = change["change"]["before"], change["change"]["after"]
        for attribute in changed_attributes(before, after):
            top = re.split(r"[.\[]", attribute)[0]
            allowed = any(e["resource_type"] == change["type"] and e["attribute"] in (attribute, top) for e in allow)
            if not allowed:
                problems.append(
                    f"{change['address']}: {attribute}: {_short(before, attribute)} -> {_short(after, attribute)}"
                )
    return problems


def _short(values: object, attribute: str) -> str:
    """The value at a dotted/indexed path, for the failure message."""
    for part in re.findall(r"[^.\[\]]+|\[\d+\]", attribute):
        if part.startswith("[") and isinstance(values, list):
            index = int(part[1:-1])
            values = values[index] if index < len(values) else None
        elif isinstance(values, dict):
            values = values.get(part)
        else:
            values = None
    return json.dumps(values)[:400]


def test_production_apply_replan_destroy(stack: Stack) -> None:
    stack.workspace("production")
    plan = stack.plan("production")
    count = len(creates(plan))
    assert planned(plan, "module.database.aws_db_instance.this")["multi_az"] is True
    assert planned(plan, "module.messaging.aws_mq_broker.this")["deployment_mode"] == "ACTIVE_STANDBY_MULTI_AZ"
    assert len(addresses(plan, r"module\.vpc\.aws_nat_gateway\.this\[\d\]")) == 2
    assert planned(plan, "module.compute.aws_lb.this")["enable_deletion_protection"] is True
    db = planned(plan, "module.database.aws_db_instance.this")
    assert db["deletion_protection"] is True and db["skip_final_snapshot"] is False
    assert planned(plan, "module.storage.aws_s3_bucket_versioning.grading")["versioning_configuration"][0][
        "status"
    ] == ("Enabled")

    check_hardening(plan)
    check_verify_schedule(plan, "production", enabled=True)
    cost = record_cost("production", plan)
    # The active/standby mq.m5.large pair is about half of production's bill (group_vars/production.yml).
    assert 0.4 < cost["categories_after"]["broker"] / cost["after"] < 0.6, cost

    started = time.monotonic()
    stack.tf("apply", "-input=false", "-no-color", "-auto-approve", "production.tfplan")
    apply_seconds = round(time.monotonic() - started, 1)
    check_applied_hardening(check_state_keeps_no_secrets(stack))

    outputs = {k: v["value"] for k, v in json.loads(stack.tf("output", "-json").stdout).items()}
    check_outputs(outputs)

    state = stack.tf("state", "list").stdout.split()
    managed = [a for a in state if not re.search(r"(^|\.)data\.", a)]

    started = time.monotonic()
    replan = stack.plan("production")
    replan_seconds = round(time.monotonic() - started, 1)
    allow = load_drift_allow_list()
    problems = unexplained_drift(replan, allow)
    updates = [c for c in replan["resource_changes"] if c["change"]["actions"] == ["update"]]
    used = {
        (c["type"], re.split(r"[.\[]", a)[0])
        for c in updates
        for a in changed_attributes(c["change"]["before"], c["change"]["after"])
    }
    unused = [
        f"{e['resource_type']}.{e['attribute']}" for e in allow if (e["resource_type"], e["attribute"]) not in used
    ]
    MEASURED["drift_entries_unused"] = {"entries": unused}
    print(f"\nemulator drift: {len(allow) - len(unused)} allow-list entries seen, unused: {unused}")
    assert not problems, "second plan shows changes that are not known emulator drift:\n" + "\n".join(problems)

    # Deletion protection holds: lift it on the protected resources, the way an operator
    # would (a full apply would also act on the emulator drift above), then destroy.
    unprotect = ["-var-file", "production.tfvars.json", "-var", "enable_deletion_protection=false",
                 "-var", "db_deletion_protection=false"]  # fmt: skip
    targets = [f"-target={a}" for a in PROTECTED]
    # The second plan has just refreshed the state, so these two skip refreshing it again.
    stack.tf("apply", "-input=false", "-no-color", "-auto-approve", "-refresh=false", *targets, *unprotect)
    started = time.monotonic()
    stack.tf("destroy", "-input=false", "-no-color", "-auto-approve", "-refresh=false", *unprotect)
    destroy_seconds = round(time.monotonic() - started, 1)
    assert stack.tf("state", "list").stdout.strip() == ""

    MEASURED["production"].update(
        {
            "resources": count,
            "resources_in_state": len(managed),
            "apply_seconds": apply_seconds,
            "replan_seconds": replan_seconds,
            "destroy_seconds": destroy_seconds,
        }
    )
    print(f"\nproduction: {count} resources; apply {apply_seconds} s, replan {replan_seconds} s", end="")
    print(f", destroy {destroy_seconds} s")
    assert count == len(managed)


def record_cost(environment: str, plan: dict) -> dict:
    """The plan summary's estimate of a first apply (README, "What each environment costs")."""
    cost = plan_summary.estimate(plan, PRICES)
    assert cost["unpriced"] == [], f"resources the price table cannot price: {cost['unpriced']}"
    MEASURED[environment] = {"monthly_cost": cost}
    print(f"\n{environment}: " + "; ".join(plan_summary.cost_lines(cost, PRICES)))
    return cost


def check_hardening(plan: dict) -> None:
    """Issue #17 in the production plan: boundaries, stop timeout, scaling, endpoints, alarms."""
    changes = [c for c in plan["resource_changes"] if c["mode"] == "managed"]
    roles = [c for c in changes if c["type"] == "aws_iam_role"]
    assert len(roles) >= 5
    for role in roles:
        boundary = role["change"]["after"]["permissions_boundary"]
        assert boundary == "arn:aws:iam::123456789012:policy/gradestack-permissions-boundary", role["address"]
    policy = planned(plan, "module.compute.aws_autoscaling_policy.cpu")
    assert policy["policy_type"] == "TargetTrackingScaling"
    assert policy["target_tracking_configuration"][0]["target_value"] == 60
    endpoints = addresses(plan, r"module\.vpc\.aws_vpc_endpoint\.interface\[.*\]")
    assert len(endpoints) == 6, endpoints
    alarms = [c for c in changes if c["type"] == "aws_cloudwatch_metric_alarm"]
    names = {c["change"]["after"]["alarm_name"] for c in alarms}
    for suffix in ("mq-dead-letters", "mq-cpu-high", "mq-heap-high", "mq-store-high", "alb-unhealthy-hosts",
                   "alb-5xx-rate", "ecs-tasks-below-desired", "db-cpu-high", "db-free-storage-low",
                   "db-connections-high"):  # fmt: skip
        assert f"gradestack-production-{suffix}" in names, suffix
    for alarm in alarms:
        after, unknown = alarm["change"]["after"], alarm["change"]["after_unknown"]
        assert unknown.get("alarm_actions") or after.get("alarm_actions"), f"{alarm['address']} notifies nobody"
    check_https_and_recipients(plan)


def check_https_and_recipients(plan: dict) -> None:
    """HTTPS on 443 with a modern policy, 80 redirects there; the alarm topic has its recipients."""
    https = planned(plan, "module.compute.aws_lb_listener.https[0]")
    assert https["ssl_policy"] == "ELBSecurityPolicy-TLS13-1-2-2021-06"
    assert https["certificate_arn"] == OPERATOR_SETTINGS["production"]["certificate_arn"]
    http = planned(plan, "module.compute.aws_lb_listener.http")["default_action"]
    assert [a["type"] for a in http] == ["redirect"]
    assert http[0]["redirect"][0]["protocol"] == "HTTPS" and http[0]["redirect"][0]["status_code"] == "HTTP_301"
    assert addresses(plan, r"module\.security_groups\..*alb_https.*"), "the ALB's security group keeps 443 closed"
    for address in OPERATOR_SETTINGS["production"]["alarm_email_addresses"]:
        subscription = planned(plan, f'module.monitoring.aws_sns_topic_subscription.email["{address}"]')
        assert (subscription["protocol"], subscription["endpoint"]) == ("email", address)


def check_state_keeps_no_secrets(stack: Stack) -> dict:
    """The DB password is nowhere in the state; no SSM parameter keeps a secret value there.

    The broker's password is the documented exception (terraform/README.md, "Secrets and the
    state"): Amazon MQ users have no write-only argument, so aws_mq_broker holds it.
    """
    state_text = stack.tf("state", "pull").stdout
    state = json.loads(state_text)
    assert TEST_SECRETS["db_password"] not in state_text

    for resource in state["resources"]:
        if resource["mode"] != "managed":
            continue
        for instance in resource["instances"]:
            text = json.dumps(instance)
            if resource["type"] == "aws_ssm_parameter":
                assert not any(p in text for p in TEST_MQ_PASSWORDS.values()), f"{resource['name']} keeps a secret"
                if instance["attributes"]["name"].endswith("/password"):
                    assert not instance["attributes"].get("value"), instance["attributes"]["name"]
            elif resource["type"] != "aws_mq_broker":
                assert not any(p in text for p in TEST_MQ_PASSWORDS.values()), f"{resource['type']}.{resource['name']}"
    return state


def check_applied_hardening(state: dict) -> None:
    """What is known only after apply: the workers' stop timeout and the dashboard's new widgets."""

    def attributes(resource_type: str, module: str) -> dict:
        return next(r for r in state["resources"] if r["type"] == resource_type and r.get("module") == module)[
            "instances"
        ][0]["attributes"]

    container = json.loads(attributes("aws_ecs_task_definition", "module.ecs_grading")["container_definitions"])[0]
    environment = {e["name"]: e["value"] for e in container["environment"]}
    assert container["stopTimeout"] == 120 and environment["WORKER_SHUTDOWN_GRACE_S"] == "110"
    # The workers connect with their own broker account, not the web app's.
    secrets = {s["name"]: s["valueFrom"] for s in container["secrets"]}
    assert secrets["MQ_USERNAME"].endswith(":parameter/gradestack/production/mq/worker/username"), secrets
    assert secrets["MQ_PASSWORD"].endswith(":parameter/gradestack/production/mq/worker/password"), secrets
    body = json.loads(attributes("aws_cloudwatch_dashboard", "module.monitoring")["dashboard_body"])
    titles = " ".join(w["properties"].get("title", "") for w in body["widgets"])
    for title in (
        "backlog per task",
        "Dead-letter queue",
        "Broker health",
        "Verification: failed checks and heartbeat",
    ):
        assert title in titles
    # Issue 16: one widget with FailedChecks and Heartbeat, one with CheckFailed per check (SEARCH).
    widgets = {w["properties"].get("title", ""): w["properties"] for w in body["widgets"]}
    summary = widgets["Verification: failed checks and heartbeat (15 min runs)"]["metrics"]
    assert [m[:4] for m in summary] == [
        ["Gradestack/Verify", "FailedChecks", "Environment", "production"],
        ["Gradestack/Verify", "Heartbeat", "Environment", "production"],
    ]
    (search,) = widgets["Verification: failed checks by check (1 = failed)"]["metrics"]
    assert search[0]["expression"] == (
        'SEARCH(\'{Gradestack/Verify,Check,Environment} MetricName="CheckFailed" Environment="production"\', '
        "'Maximum', 900)"
    )
    # The schedule starts the current verifier task definition in the grading cluster.
    schedule = attributes("aws_scheduler_schedule", "module.verifier")
    target = schedule["target"][0]
    assert target["arn"] == attributes("aws_ecs_cluster", "module.ecs_grading")["arn"]
    task_definition = attributes("aws_ecs_task_definition", "module.verifier")
    assert target["ecs_parameters"][0]["task_definition_arn"] == task_definition["arn"]
    scheduler_role = next(
        r
        for r in state["resources"]
        if r["type"] == "aws_iam_role" and r.get("module") == "module.verifier" and r["name"] == "scheduler"
    )["instances"][0]["attributes"]
    assert target["role_arn"] == scheduler_role["arn"]
    assert scheduler_role["name"] == "gradestack-production-verifier-scheduler"
    check_ssm_readers_read_only_their_own(state)


def role_policy(state: dict, module: str, name: str) -> dict:
    resource = next(
        r
        for r in state["resources"]
        if r["type"] == "aws_iam_role_policy" and r.get("module") == module and r["name"] == name
    )
    return json.loads(resource["instances"][0]["attributes"]["policy"])


def parameters_under_the_prefix(state: dict) -> tuple[dict[str, str], str]:
    """Every parameter below /gradestack/production (name relative to it -> ARN), and the prefix's ARN.

    Those the stack created, plus those others store beside them: the operator's secrets, a
    web/settings override, the release the deploy publishes.
    """
    prefix = "/gradestack/production/"
    arns = {
        instance["attributes"]["name"].removeprefix(prefix): instance["attributes"]["arn"]
        for resource in state["resources"]
        if resource["type"] == "aws_ssm_parameter" and resource["mode"] == "managed"
        for instance in resource["instances"]
    }
    arn_prefix = arns["db/host"].removesuffix("/db/host")
    for name in ("db_password", "mq_web_password", "mq_worker_password", "mq_verify_password", "web_secret_key",
                 "verify_api_token", "web/settings/web_gunicorn_workers", "web/release"):  # fmt: skip
        arns[name] = f"{arn_prefix}/{name}"
    assert {"mq/worker/password", "mq/verify/password", "mq/web/password", "verify/stack"} <= set(arns)
    return arns, arn_prefix


def check_ssm_readers_read_only_their_own(state: dict) -> None:
    """The web hosts' instance role and the scheduled verifier's task role each read their own
    parameters below the prefix (testsupport/ssm_reads.py), and nothing else: neither reaches the
    workers' broker account, the web hosts not the verifier's, the verifier not the web app's.
    """
    arns, arn_prefix = parameters_under_the_prefix(state)

    web = role_policy(state, "module.compute", "web")
    readable = {name for name, arn in arns.items() if allows_on(web, "ssm:GetParameters", arn)}
    assert readable == {
        "web/release", "web_secret_key", "mq/endpoints", "mq/web/username", "mq/web/password",
        "db/host", "db/port", "db/name", "db/username", "db/password", "web/settings/web_gunicorn_workers",
    }, sorted(readable)  # fmt: skip
    paths = [
        p
        for p in ("db", "mq/web", "web/settings", "mq", "")
        if allows_on(web, "ssm:GetParametersByPath", f"{arn_prefix}/{p}".rstrip("/"))
    ]
    assert paths == ["db", "mq/web", "web/settings"], paths
    # Every read a real boot makes (tests/local/test_web_boot.py records them) is allowed.
    denied = [(a, name) for a, name in sorted(WEB_HOST_SSM_READS) if not allows_on(web, a, f"{arn_prefix}/{name}")]
    assert denied == [], f"the web hosts' instance role does not allow what their boot script reads: {denied}"

    verifier = role_policy(state, "module.verifier", "task")
    readable = {name for name, arn in arns.items() if allows_on(verifier, "ssm:GetParameter", arn)}
    assert readable == {name for _, name in VERIFIER_SSM_READS}, sorted(readable)
    denied = [(a, n) for a, n in sorted(VERIFIER_SSM_READS) if not allows_on(verifier, a, f"{arn_prefix}/{n}")]
    assert denied == [], f"the verifier's task role does not allow what verify.yml reads: {denied}"
    assert not allows_on(verifier, "ssm:GetParametersByPath", arn_prefix)


def check_outputs(outputs: dict) -> None:
    for name in ("vpc_id", "load_balancer_dns_name", "ecs_cluster_name", "database_endpoint", "database_port",
                 "grading_bucket_name", "mq_broker_id", "mq_console_url", "ecs_log_group_name",
                 "alb_target_group_arn", "web_asg_name", "ecs_service_name", "mq_stomp_ssl_endpoints",
                 "ecr_repository_url", "artifacts_bucket_name"):  # fmt: skip
        assert outputs.get(name) not in (None, "", []), f"output {name} is empty"
    assert outputs["vpc_id"].startswith("vpc-")
    assert outputs["ecs_cluster_name"] == "gradestack-production"
    assert outputs["ecs_service_name"] == "gradestack-production-grading-service"
    assert outputs["database_port"] == 5432
    assert outputs["alb_target_group_arn"].startswith("arn:aws:elasticloadbalancing:")
    assert outputs["web_asg_name"] == "gradestack-production-web"
    assert re.fullmatch(r"gradestack-production-grading-\d{12}", outputs["grading_bucket_name"])
    assert outputs["ecr_repository_url"].endswith("/gradestack-production-grading")
    assert outputs["mq_console_url"].startswith("https://")
    endpoints = outputs["mq_stomp_ssl_endpoints"]
    for endpoint in endpoints:
        match = re.fullmatch(r"stomp\+ssl://([A-Za-z0-9.-]+):(\d+)", endpoint)
        assert match, f"{endpoint!r} is not stomp+ssl://host:port"
        assert 0 < int(match.group(2)) < 65536
    assert outputs["mq_endpoints"] == ",".join(endpoints)
    # One username and one password parameter per broker account (the web hosts read the web app's).
    parameters = outputs["ssm_parameter_names"]
    for client in GROUP_VARS["mq_users"]:
        assert parameters[f"mq_{client}_username"] == f"/gradestack/production/mq/{client}/username"
        assert parameters[f"mq_{client}_password"] == f"/gradestack/production/mq/{client}/password"
    assert outputs["web_release_parameter_name"] == "/gradestack/production/web/release"
    assert outputs["verifier_ecr_repository_url"].endswith("/gradestack-production-verifier")
    assert outputs["verify_schedule_name"] == "gradestack-production-verify"
    assert outputs["verifier_log_group_name"] == "/ecs/gradestack-production-verifier"
    assert re.fullmatch(r"s3://gradestack-production-grading-\d{12}/reports/verify", outputs["verify_report_s3_uri"])


def test_invalid_settings_are_rejected_with_clear_messages(terraform_cli: TerraformCli, tmp_path: Path) -> None:
    """Variable validation: every bad value is reported at once, naming what to use instead.

    Runs on the root module's variables alone (no provider, no emulator): validation is all
    that is under test, and it is the same file Terraform evaluates in the full stack.
    """
    shutil.copy(TERRAFORM_DIR / "variables.tf", tmp_path / "variables.tf")
    terraform_cli.run(["init", "-backend=false", "-input=false", "-no-color"], tmp_path)
    tfvars = write_tfvars(
        tmp_path,
        "dev",
        mq_instance_type="mq.t3.small",
        vpc_cidr="10.0.0.0/33",
        db_password="short",  # noqa: S106  (an invalid test value)
        mq_passwords=TEST_MQ_PASSWORDS | {"web": "has,comma-and=equals"},  # an invalid test value
        ecs_task_cpu=300,
        ssh_cidr_blocks=["office"],
        grading_container_image="grading service",
        db_name="1judge",
        db_username="postgres",
        mq_users=GROUP_VARS["mq_users"] | {"web": {"username": "app user", "groups": ["gradestack-web"]}},
        mq_authorization=[*GROUP_VARS["mq_authorization"], {"queue": "grading audit", "read": ["gradestack-web"]}],
        mq_maximum_redeliveries=-1,
        mq_redelivery_delay_ms=10,
    )
    result = terraform_cli.run(["plan", "-input=false", "-no-color", "-var-file", str(tfvars)], tmp_path, check=False)
    assert result.returncode != 0
    errors = " ".join(result.stderr.split())
    for expected in (
        "There is no mq.t3.small; use mq.m5.large for active/standby.",
        "vpc_cidr must be an IPv4 CIDR block",
        "db_password must be 12-128 printable ASCII characters",
        "no commas, colons, equal signs or whitespace",
        "ecs_task_cpu must be one of the Fargate CPU sizes",
        "ssh_cidr_blocks must be a list of IPv4 CIDR blocks",
        "grading_container_image must be an image reference",
        "db_name must be 1-63 letters, digits or underscores, starting with a letter",
        "db_username must not be a reserved or well-known user name",
        "Each of mq_users needs a username and at least one group of 2-100 letters",
        "Each entry of mq_authorization names exactly one queue or topic",
        "mq_maximum_redeliveries must be a whole number from 0",
        "mq_redelivery_delay_ms must be a whole number of milliseconds from 100 to 600000",
    ):
        assert expected in errors, f"missing error {expected!r} in:\n{result.stderr[-4000:]}"
    # The same settings without the bad values are accepted.
    good = write_tfvars(tmp_path, "dev")
    terraform_cli.run(["plan", "-input=false", "-no-color", "-var-file", str(good)], tmp_path)


def test_overlapping_subnets_are_rejected(stack: Stack) -> None:
    stack.workspace("overlap")
    tfvars = write_tfvars(stack.root, "dev", database_subnet_cidrs=["10.0.1.0/24", "10.0.6.0/24"])
    result = stack.tf(
        "plan", "-input=false", "-no-color", "-var-file", str(tfvars), "-target=module.vpc.aws_vpc.this", check=False
    )
    assert result.returncode != 0
    assert "Subnet CIDR blocks must not overlap each other." in " ".join(result.stderr.split()), result.stderr


def test_inconsistent_settings_fail_their_preconditions(stack: Stack) -> None:
    """Cross-setting rules: a Fargate size that does not exist, ASG bounds, broker size for active/standby,
    the broker access map's groups and passwords."""
    stack.workspace("inconsistent")
    tfvars = write_tfvars(
        stack.root,
        "dev",
        ecs_task_cpu=256,
        ecs_task_memory=4096,
        min_size=3,
        max_size=2,
        desired_capacity=2,
        mq_deployment_mode="ACTIVE_STANDBY_MULTI_AZ",
        # A typo in a granted group, and an account without a password.
        mq_authorization=[*GROUP_VARS["mq_authorization"], {"queue": "grading.audit", "read": ["auditors"]}],
        mq_passwords={k: v for k, v in TEST_MQ_PASSWORDS.items() if k != "verify"},
    )
    result = stack.tf("plan", "-input=false", "-no-color", "-var-file", str(tfvars), check=False)
    assert result.returncode != 0
    errors = " ".join(result.stderr.split())
    for expected in (
        "ecs_task_cpu/ecs_task_memory is not a Fargate size",
        "min_size <= desired_capacity <= max_size",
        "ACTIVE_STANDBY_MULTI_AZ needs an mq.m5.* instance type",
        "mq_passwords needs one password for each account of mq_users",
        "grants a group that no account of mq_users is in (a typo?): auditors.",
    ):
        assert expected in errors, f"missing error {expected!r} in:\n{result.stderr[-4000:]}"
