#!/usr/bin/python
"""Ansible module: validate gradestack settings before anything is deployed.

Every problem is collected, none stops the others, so one run lists them all.
Each problem is one line: the setting, the file it comes from, what is wrong
and how to fix it. Secret values are never echoed.
"""

from __future__ import annotations

import ipaddress
import os
import re

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
---
module: gradestack_preflight
short_description: Check gradestack settings, secrets, tools and network layout
description:
  - Runs every pre-deployment check of the deployment guide at once and returns
    the list of problems and warnings, one line each.
  - Never fails by itself; the preflight role decides.
options:
  environment_name: {type: str, required: true, description: The environment being deployed.}
  environment_groups: {type: list, elements: str, required: true, description: Environment groups the host is in.}
  inherited_groups:
    type: list
    elements: str
    default: []
    description: Groups whose settings the environment takes (lowest precedence first); their files are sources too.
  cloud: {type: bool, required: true, description: Whether the environment runs on AWS.}
  settings: {type: dict, required: true, description: Non-secret settings by name.}
  secrets: {type: dict, required: true, no_log: true, description: Secret values by name; failed reads as null.}
  secret_errors: {type: dict, default: {}, description: Why a secret could not be read, by name.}
  group_vars_dirs: {type: list, elements: path, default: [], description: group_vars directories to search for sources.}
  tools: {type: dict, default: {}, description: Tool name to version string (null when missing).}
  required_tools: {type: list, elements: str, default: [], description: Tools that must be present.}
  aws_identity_error: {type: str, description: Why AWS credentials could not be verified (null when they could).}
  permissions_boundary:
    type: dict
    description:
      - What iam:GetPolicy said of iam_permissions_boundary (arn, exists, error); omitted when it was not looked up.
"""

PLACEHOLDERS = {"your-secure-db-password-here", "your-secure-mq-password-here", "your-secure-web-secret-key-here"}
# Obvious defaults, compared case-insensitively after stripping digits and punctuation.
WEAK_WORDS = {
    "password",
    "changeme",
    "admin",
    "secret",
    "default",
    "letmein",
    "qwerty",
    "example",
    "test",
    "gradestack",
}
RDS_FORBIDDEN = set('/@" ')
MQ_FORBIDDEN = set(",:=")
# One broker password per account (group_vars mq_users: web, worker, verify).
SECRETS = (
    "db_password",
    "mq_web_password",
    "mq_worker_password",
    "mq_verify_password",
    "web_secret_key",
    "verify_api_token",
)
# The web app's SECRET_KEY signs sessions and CSRF tokens: long enough that it cannot be guessed.
WEB_SECRET_KEY_MIN = 32
VERIFY_API_TOKEN_MIN = 32

# Minimum versions: (major, minor).
TOOL_MINIMUMS = {"terraform": (1, 11), "git": (2, 0), "docker": (20, 0), "podman": (3, 0)}
TOOL_INSTALL = {
    "terraform": "install Terraform >= 1.11 (write-only arguments keep secrets out of the state): https://developer.hashicorp.com/terraform/install",
    "git": "apt-get install git",
    "podman": "apt-get install podman runc (or install Docker >= 20 with a running engine)",
    "docker": "install Docker >= 20 and start its engine, or apt-get install podman runc",
}

MQ_INSTANCE_TYPES = {
    "mq.t2.micro",
    "mq.t3.micro",
    "mq.m4.large",
    "mq.m5.large",
    "mq.m5.xlarge",
    "mq.m5.2xlarge",
    "mq.m5.4xlarge",
}
MQ_MODES = {"SINGLE_INSTANCE", "ACTIVE_STANDBY_MULTI_AZ"}
# Valid Fargate task sizes: cpu units -> allowed memory in MiB.
FARGATE_SIZES = {
    256: (512, 1024, 2048),
    512: tuple(range(1024, 4097, 1024)),
    1024: tuple(range(2048, 8193, 1024)),
    2048: tuple(range(4096, 16385, 1024)),
    4096: tuple(range(8192, 30721, 1024)),
}


class VaultTag(str):
    """Stands for a `!vault` value found in a group_vars file."""


def _yaml_load(path: str):
    import yaml  # noqa: PLC0415  (ansible always ships PyYAML; imported where used)

    class Loader(yaml.SafeLoader):
        pass

    Loader.add_constructor("!vault", lambda loader, node: VaultTag(loader.construct_scalar(node)))
    Loader.add_constructor("!unsafe", lambda loader, node: loader.construct_scalar(node))
    with open(path, encoding="utf-8") as handle:
        data = yaml.load(handle, Loader=Loader)  # noqa: S506  (SafeLoader subclass)
    return data if isinstance(data, dict) else {}


def group_vars_files(dirs: list[str], groups: list[str]) -> list[str]:
    """The group_vars files Ansible reads for these groups, lowest precedence first."""
    files = []
    for directory in dirs:
        for group in ["all", *groups]:
            single = [os.path.join(directory, f"{group}{ext}") for ext in ("", ".yml", ".yaml")]
            files.extend(path for path in single if os.path.isfile(path))
            folder = os.path.join(directory, group)
            if os.path.isdir(folder):
                files.extend(
                    os.path.join(folder, name)
                    for name in sorted(os.listdir(folder))
                    if name.endswith((".yml", ".yaml"))
                )
    return files


def setting_sources(dirs: list[str], groups: list[str], repo_root: str) -> dict[str, tuple[str, object]]:
    """For each key: (file that sets it last, raw value as written)."""
    sources: dict[str, tuple[str, object]] = {}
    for path in group_vars_files(dirs, groups):
        for key, value in _yaml_load(path).items():
            sources[key] = (os.path.relpath(path, repo_root), value)
    return sources


def _version(text: str | None) -> tuple[int, int] | None:
    match = re.search(r"(\d+)\.(\d+)", text or "")
    return (int(match.group(1)), int(match.group(2))) if match else None


class Report:
    def __init__(self, sources: dict[str, tuple[str, object]]) -> None:
        self.problems: list[str] = []
        self.warnings: list[str] = []
        self.sources = sources

    def where(self, setting: str) -> str:
        return self.sources.get(setting, ("extra vars or role defaults", None))[0]

    def note_effective(self, settings: dict) -> None:
        """A literal written in a file but not in effect was overridden (-e or inventory vars)."""
        for key, value in settings.items():
            if key not in self.sources:
                continue
            path, raw = self.sources[key]
            literal = not (isinstance(raw, str) and "{{" in raw)
            if literal and raw != value:
                self.sources[key] = (f"overridden on the command line or in the inventory, not {path}", raw)

    def problem(self, setting: str, what: str, fix: str) -> None:
        self.problems.append(f"{setting} ({self.where(setting)}): {what}; fix: {fix}")

    def warning(self, setting: str, what: str, fix: str) -> None:
        self.warnings.append(f"{setting} ({self.where(setting)}): {what}; fix: {fix}")


def check_tools(report: Report, tools: dict, required: list[str]) -> None:
    image_tools = [name for name in ("podman", "docker") if name in required]
    for name in required:
        if name in image_tools:
            continue
        _check_one_tool(report, name, tools.get(name))
    if image_tools:
        usable = [name for name in image_tools if _tool_ok(name, tools.get(name))]
        if not usable:
            found = ", ".join(f"{n} {tools.get(n)}" for n in image_tools if tools.get(n)) or "neither is installed"
            report.problems.append(
                f"tool podman/docker (image builds): need podman >= 3 or docker >= 20 with a running engine, "
                f"{found}; fix: {TOOL_INSTALL['podman']}"
            )


def _tool_ok(name: str, text: str | None) -> bool:
    version = _version(text)
    return version is not None and version >= TOOL_MINIMUMS.get(name, (0, 0))


def _check_one_tool(report: Report, name: str, text: str | None) -> None:
    if not text:
        report.problems.append(f"tool {name}: not found on PATH; fix: {TOOL_INSTALL.get(name, 'install ' + name)}")
    elif not _tool_ok(name, text):
        minimum = ".".join(map(str, TOOL_MINIMUMS[name]))
        report.problems.append(
            f"tool {name}: version {text} is older than {minimum}; fix: {TOOL_INSTALL.get(name, 'upgrade ' + name)}"
        )


def _secret_store(name: str, *, cloud: bool, env: str) -> str:
    if cloud:
        parameter = f"/gradestack/{env}/{name}"
        # Keys need length (32+), passwords the characters RDS and Amazon MQ accept.
        value = (
            "openssl rand -hex 32"
            if name in {"web_secret_key", "verify_api_token"}
            else ("openssl rand -base64 24 | tr -d '/@+=:,'")
        )
        return (
            f"SSM Parameter Store (SecureString) {parameter}: `aws ssm put-parameter --type SecureString --name "
            f'{parameter} --value "$({value})"`, or an ansible-vault encrypted value'
        )
    return "the generated file .state/local/" + name + " (delete it to generate a new one)"


def check_secret_in_git(report: Report, name: str, *, cloud: bool, env: str) -> bool:
    """A cloud secret written as plain text in group_vars, found from its source alone (no read needed)."""
    raw = report.sources.get(name, (None, None))[1]
    if cloud and isinstance(raw, str) and not isinstance(raw, VaultTag) and "{{" not in raw:
        report.problem(
            name,
            "is plain text in group_vars (a secret in git)",
            f"remove it from {report.where(name)} and keep it in {_secret_store(name, cloud=cloud, env=env)}",
        )
        return True
    return False


def check_secret(report: Report, name: str, value, *, error: str | None, cloud: bool, env: str) -> None:
    store = _secret_store(name, cloud=cloud, env=env)
    if check_secret_in_git(report, name, cloud=cloud, env=env):
        return
    if error:
        report.problem(name, f"could not be read: {error}", f"store it in {store}")
        return
    if value is None or value == "":
        report.problem(name, "is not set", f"store it in {store}")
        return
    value = str(value)
    if value in PLACEHOLDERS:
        report.problem(
            name, "is still the deployment guide's placeholder", f"choose a real password and keep it in {store}"
        )
        return
    core = re.sub(r"[^a-z]", "", value.lower())
    # An obvious word, or only obvious words repeated ("secret" * 8 is as guessable as "secret").
    weak_words = re.fullmatch("(?:" + "|".join(sorted(WEAK_WORDS)) + ")+", core) is not None
    if weak_words or len(set(value)) < 4:
        report.problem(name, "is an obvious default or too repetitive", "generate one, e.g. `openssl rand -base64 24`")
    if name == "db_password":
        _rds_rules(report, name, value)
    elif name == "web_secret_key":
        _token_rules(report, name, value, WEB_SECRET_KEY_MIN, "the web app's SECRET_KEY")
    elif name == "verify_api_token":
        # The web app refuses tokens under 20 characters; 32+ keeps it out of brute-force reach.
        _token_rules(report, name, value, VERIFY_API_TOKEN_MIN, "the verifier's API token")
    else:
        _mq_rules(report, name, value)


def check_broker_passwords_differ(report: Report, secrets: dict) -> None:
    """Each broker account has a password of its own: one shared password would make every account every other."""
    names = [name for name in SECRETS if name.startswith("mq_") and secrets.get(name)]
    for index, name in enumerate(names):
        for other in names[index + 1 :]:
            if secrets[name] == secrets[other]:
                report.problem(
                    name,
                    f"is the same as {other}",
                    "give each broker account a password of its own (a leaked one would open the others)",
                )


def _token_rules(report: Report, name: str, value: str, minimum: int, needs: str) -> None:
    """A generated token's rules (web_secret_key, verify_api_token); ``needs``: who needs ``minimum`` characters."""
    if len(value) < minimum:
        report.problem(
            name,
            f"has {len(value)} characters, {needs} needs at least {minimum}",
            "generate one, e.g. `openssl rand -hex 32`",
        )
    # verify_api_token travels in an HTTP header (Authorization: Bearer) and through the app's stdin.
    if any(not c.isprintable() or c.isspace() for c in value):
        report.problem(name, "contains whitespace or non-printable characters", "use e.g. `openssl rand -hex 32`")


def _rds_rules(report: Report, name: str, value: str) -> None:
    if not 8 <= len(value) <= 128:
        report.problem(name, f"has {len(value)} characters, RDS needs 8 to 128", "use a password of 8-128 characters")
    bad = sorted(c for c in set(value) if c in RDS_FORBIDDEN or not c.isprintable() or ord(c) > 126)
    if bad:
        shown = ", ".join("space" if c == " " else repr(c) for c in bad if c.isprintable()) or "non-printable"
        report.problem(name, f"contains characters RDS refuses ({shown})", 'use printable ASCII without / @ " or space')


def _mq_rules(report: Report, name: str, value: str) -> None:
    if not 12 <= len(value) <= 250:
        report.problem(
            name, f"has {len(value)} characters, Amazon MQ needs 12 to 250", "use a password of 12-250 characters"
        )
    if len(set(value)) < 4:
        report.problem(name, "has fewer than 4 unique characters", "use at least 4 different characters")
    bad = sorted(c for c in set(value) if c in MQ_FORBIDDEN)
    if bad:
        report.problem(
            name,
            f"contains characters Amazon MQ refuses ({', '.join(repr(c) for c in bad)})",
            "use no commas, colons or equals signs",
        )


def _network(report: Report, setting: str, text) -> ipaddress.IPv4Network | None:
    try:
        net = ipaddress.ip_network(str(text), strict=True)
    except ValueError as exc:
        report.problem(
            setting, f"{text!r} is not a valid CIDR ({exc})", "write it as a network address, e.g. 10.0.1.0/24"
        )
        return None
    if not isinstance(net, ipaddress.IPv4Network):
        report.problem(setting, f"{text} is not IPv4", "use an IPv4 CIDR")
        return None
    return net


def check_network(report: Report, settings: dict) -> None:
    vpc = _network(report, "vpc_cidr", settings.get("vpc_cidr"))
    if vpc is not None and not 16 <= vpc.prefixlen <= 28:
        report.problem("vpc_cidr", f"{vpc} has prefix /{vpc.prefixlen}, AWS allows /16 to /28", "use e.g. 10.0.0.0/16")
    zones = settings.get("availability_zone_count")
    seen: list[tuple[str, ipaddress.IPv4Network]] = []
    for tier in ("public_subnet_cidrs", "private_subnet_cidrs", "database_subnet_cidrs"):
        cidrs = settings.get(tier) or []
        if not isinstance(cidrs, list):
            report.problem(tier, "must be a list of CIDRs", "write it as a YAML list")
            continue
        if isinstance(zones, int) and len(cidrs) != zones:
            report.problem(
                tier,
                f"has {len(cidrs)} subnets for {zones} availability zones (availability_zone_count)",
                f"give exactly one subnet per availability zone ({zones})",
            )
        for text in cidrs:
            net = _network(report, tier, text)
            if net is None:
                continue
            if vpc is not None and not net.subnet_of(vpc):
                report.problem(tier, f"{net} is outside vpc_cidr {vpc}", f"choose a subnet inside {vpc}")
            for other_tier, other in seen:
                if net.overlaps(other):
                    report.problem(tier, f"{net} overlaps {other} of {other_tier}", "give every subnet its own range")
            seen.append((tier, net))


def check_exposure(report: Report, settings: dict, env: str) -> None:
    if not settings.get("enable_ssh_access"):
        return
    for text in settings.get("ssh_cidr_blocks") or []:
        try:
            world = ipaddress.ip_network(str(text), strict=False).prefixlen == 0
        except ValueError:
            report.problem("ssh_cidr_blocks", f"{text!r} is not a valid CIDR", "write e.g. 203.0.113.0/24")
            continue
        if world and env == "dev":
            report.warning(
                "ssh_cidr_blocks",
                f"SSH is open to the whole internet ({text}) in dev",
                "narrow it to your office or VPN range",
            )
        elif world:
            report.problem(
                "ssh_cidr_blocks",
                f"SSH open to the whole internet ({text}) is refused in {env}",
                "set enable_ssh_access: false (hosts are reached through SSM) or list your VPN range",
            )


def check_web_ami(report: Report, settings: dict, env: str, cloud: bool) -> None:
    """An empty web_ami_id looks the newest Debian image up at every plan: a new image replaces every web host."""
    if not cloud or env in ("dev", "local") or "web_ami_id" not in settings:
        return
    if not settings.get("web_ami_id"):
        report.warning(
            "web_ami_id",
            f"empty in {env}: every plan looks up the newest Debian 12 image, and a new one replaces every web host",
            "pin the AMI id (group_vars/all/aws_stack.yml shows the lookup command)",
        )


# Environments serving real users: HTTPS and alarm recipients are required there.
PROTECTED = ("staging", "production")
ACM_ARN = re.compile(r"arn:aws[a-z-]*:acm:([a-z0-9-]+):[0-9]{12}:certificate/[A-Za-z0-9-]+")
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")


def _tier(env: str, inherited: list[str]) -> str:
    """production, staging or the environment itself: emulated inherits production's rules."""
    for tier in ("production", "staging"):
        if env == tier or tier in inherited:
            return tier
    return env


def check_https(report: Report, settings: dict, tier: str, cloud: bool) -> None:
    """Sessions and CSRF tokens cross the internet: staging and production serve HTTPS only."""
    if not cloud or "certificate_arn" not in settings:
        return
    arn = settings.get("certificate_arn")
    if not arn:
        if tier in PROTECTED:
            report.problem(
                "certificate_arn",
                f"empty in {tier}: the site would serve sessions over plain HTTP",
                "request or import an ACM certificate for the site's name in aws_region "
                "(README, HTTPS set-up) and set its ARN as certificate_arn",
            )
        else:
            report.warning(
                "certificate_arn",
                f"empty in {tier}: the load balancer serves plain HTTP only",
                "set an ACM certificate ARN to serve HTTPS (README, HTTPS set-up)",
            )
        return
    match = ACM_ARN.fullmatch(str(arn))
    if not match:
        report.problem(
            "certificate_arn",
            f"{arn!r} is not an ACM certificate ARN",
            "copy the ARN from `aws acm list-certificates` (arn:aws:acm:<region>:<account>:certificate/<id>)",
        )
    elif settings.get("aws_region") and match.group(1) != settings["aws_region"]:
        report.problem(
            "certificate_arn",
            f"the certificate is in {match.group(1)}, the load balancer in {settings['aws_region']}",
            f"request or import the certificate in {settings['aws_region']} (an ALB uses its own region's ACM)",
        )


def check_alarm_recipients(report: Report, settings: dict, tier: str, cloud: bool) -> None:
    """Alarms that reach nobody are not monitoring: production needs a recipient, staging is warned."""
    if not cloud or "alarm_email_addresses" not in settings:
        return
    emails = settings.get("alarm_email_addresses") or []
    endpoints = settings.get("alarm_https_endpoints") or []
    for address in emails:
        if not EMAIL.fullmatch(str(address)):
            report.problem(
                "alarm_email_addresses", f"{address!r} is not an e-mail address", "write e.g. oncall@example.org"
            )
    for url in endpoints:
        if not str(url).startswith("https://"):
            report.problem(
                "alarm_https_endpoints", f"{url!r} is not an https:// URL", "give the on-call tool's HTTPS webhook URL"
            )
    if emails or endpoints:
        return
    what = f"no alarm recipient in {tier}: every alarm goes to an SNS topic nobody reads"
    fix = "list the on-call addresses in alarm_email_addresses (or webhooks in alarm_https_endpoints)"
    if tier == "production":
        report.problem("alarm_email_addresses", what, fix)
    elif tier == "staging":
        report.warning("alarm_email_addresses", what, fix)


def check_permissions_boundary(report: Report, settings: dict, boundary: dict | None) -> None:
    """The boundary every role carries exists before Terraform creates the first role."""
    if not boundary:
        return
    name = settings.get("iam_permissions_boundary") or boundary.get("arn")
    if boundary.get("error"):
        report.problem(
            "iam_permissions_boundary",
            f"could not read the policy {boundary.get('arn')}: {boundary['error']}",
            "let the deploying identity call iam:GetPolicy on it (docs/iam/deployer-policy.json) and check the name",
        )
    elif not boundary.get("exists"):
        report.problem(
            "iam_permissions_boundary",
            f"the policy {boundary.get('arn')} does not exist in this account, and every role of the stack needs it",
            f"an administrator creates it once per account: aws iam create-policy --policy-name {name} "
            "--policy-document file://docs/iam/permissions-boundary.json (docs/iam/README.md); the deployer may not",
        )


def check_capacity(report: Report, settings: dict) -> None:
    mode = settings.get("mq_deployment_mode")
    itype = settings.get("mq_instance_type")
    if mode not in MQ_MODES:
        report.problem(
            "mq_deployment_mode",
            f"{mode!r} is not an ActiveMQ deployment mode",
            f"use one of {', '.join(sorted(MQ_MODES))}",
        )
    if itype not in MQ_INSTANCE_TYPES:
        report.problem(
            "mq_instance_type",
            f"{itype!r} is not an Amazon MQ for ActiveMQ instance type",
            f"use one of {', '.join(sorted(MQ_INSTANCE_TYPES))}",
        )
    elif mode == "ACTIVE_STANDBY_MULTI_AZ" and not itype.startswith(("mq.m4", "mq.m5")):
        report.problem(
            "mq_instance_type",
            f"{itype} cannot run ACTIVE_STANDBY_MULTI_AZ",
            "use mq.m5.large or larger, or mq_deployment_mode: SINGLE_INSTANCE",
        )
    db_class = str(settings.get("db_instance_class", ""))
    if not re.fullmatch(r"db\.[a-z0-9]+\.[a-z0-9]+", db_class):
        report.problem("db_instance_class", f"{db_class!r} is not an RDS instance class", "use e.g. db.t3.micro")
    try:
        cpu, memory = int(settings.get("ecs_task_cpu")), int(settings.get("ecs_task_memory"))
    except (TypeError, ValueError):
        report.problem("ecs_task_cpu", "ecs_task_cpu and ecs_task_memory must be integers", "use e.g. 512 and 1024")
    else:
        if memory not in FARGATE_SIZES.get(cpu, ()):
            report.problem(
                "ecs_task_memory",
                f"cpu {cpu} with memory {memory} is not a Fargate task size",
                "see the Fargate task size table, e.g. cpu 512 with 1024-4096",
            )
    _counts(report, settings)


def _counts(report: Report, settings: dict) -> None:
    pairs = (
        ("ecs_desired_count", "ecs_max_capacity"),
        ("min_size", "desired_capacity"),
        ("desired_capacity", "max_size"),
    )
    for low, high in pairs:
        lo, hi = settings.get(low), settings.get(high)
        if isinstance(lo, int) and isinstance(hi, int) and lo > hi:
            report.problem(low, f"{low} ({lo}) is larger than {high} ({hi})", f"keep {low} <= {high}")


def check_secrets_path(report: Report, settings: dict, env: str) -> None:
    """New web hosts read web_secret_key below the stack's SSM path, /<project_name>/<environment_name>."""
    expected = f"/{settings.get('project_name')}/{env}"
    prefix = settings.get("secrets_ssm_prefix")
    if prefix != expected:
        report.problem(
            "secrets_ssm_prefix",
            f"is {prefix!r}, but the stack's SSM path (where new web hosts read web_secret_key and the only path "
            f"their instance role may read) is {expected!r}",
            f"set secrets_ssm_prefix: {expected!r} (or remove the override) and keep the secrets there",
        )


def check_inventory(report: Report, env: str, groups: list[str]) -> None:
    if groups != [env]:
        shown = ", ".join(groups) or "none"
        report.problem(
            "environment_name",
            f"is {env!r} but the inventory puts this host in environment group(s) {shown}",
            f"use the inventory inventories/{env} or fix environment_name",
        )


def run_checks(params: dict, repo_root: str) -> Report:
    env = params["environment_name"]
    groups = params["environment_groups"]
    inherited = params.get("inherited_groups") or []
    sources = setting_sources(params["group_vars_dirs"], [*inherited, *groups], repo_root)
    report = Report(sources)
    report.note_effective(params["settings"])
    check_inventory(report, env, groups)
    check_tools(report, params["tools"], params["required_tools"])
    if params.get("aws_identity_error"):
        report.problems.append(
            f"AWS credentials: {params['aws_identity_error']}; fix: configure credentials "
            "(aws configure, AWS_PROFILE or an instance role) for an identity allowed by docs/iam/deployer-policy.json"
        )
    errors = params.get("secret_errors") or {}
    if params["cloud"]:
        check_secrets_path(report, params["settings"], env)
    for name in SECRETS:
        if params.get("aws_identity_error") and (name in errors or name not in params["secrets"]):
            # Unreadable (or not read) because there are no credentials: one line above says so.
            check_secret_in_git(report, name, cloud=params["cloud"], env=env)
            continue
        check_secret(report, name, params["secrets"].get(name), error=errors.get(name), cloud=params["cloud"], env=env)
    check_broker_passwords_differ(report, params["secrets"])
    check_network(report, params["settings"])
    check_exposure(report, params["settings"], env)
    check_web_ami(report, params["settings"], env, params["cloud"])
    tier = _tier(env, inherited)
    check_https(report, params["settings"], tier, params["cloud"])
    check_alarm_recipients(report, params["settings"], tier, params["cloud"])
    check_permissions_boundary(report, params["settings"], params.get("permissions_boundary"))
    check_capacity(report, params["settings"])
    return report


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "environment_name": {"type": "str", "required": True},
            "environment_groups": {"type": "list", "elements": "str", "required": True},
            "inherited_groups": {"type": "list", "elements": "str", "default": []},
            "cloud": {"type": "bool", "required": True},
            "settings": {"type": "dict", "required": True},
            "secrets": {"type": "dict", "required": True, "no_log": True},
            "secret_errors": {"type": "dict", "default": {}},
            "group_vars_dirs": {"type": "list", "elements": "path", "default": []},
            "tools": {"type": "dict", "default": {}},
            "required_tools": {"type": "list", "elements": "str", "default": []},
            "aws_identity_error": {"type": "str", "required": False},
            "permissions_boundary": {"type": "dict", "required": False},
        },
        supports_check_mode=True,
    )
    dirs = module.params["group_vars_dirs"]
    repo_root = os.path.dirname(dirs[0]) if dirs else os.getcwd()
    report = run_checks(module.params, repo_root)
    module.exit_json(changed=False, problems=report.problems, warnings_list=report.warnings)


if __name__ == "__main__":
    main()
