"""A new AWS web host's boot (terraform/modules/compute/templates/user_data.sh.tftpl), run for real.

Every web host the Auto Scaling Group starts (scale-out, instance refresh) configures
itself with this script: wait for the release in SSM, fetch its bundle from S3, install
ansible-core from the bundle's wheels, read the settings from SSM and run the bundle's
site.yml (roles/web) locally. Here it runs as follows:

- rendered by Terraform's own templatefile() with the variable map of the compute
  module's launch template (read from its main.tf, so a new or renamed template
  variable fails here first), except the emulator's endpoint;
- the bundle built by roles/build_artifacts (versions + bundle, as playbooks/aws/web.yml
  and release_facts.yml run them, ansible-core wheels included) and published like
  web.yml publishes it: artifacts/web-bundle/<release>.tar.gz (SSE-KMS) in the bucket
  and the release's name in <prefix>/web/release; the settings under the names the
  database and messaging modules give their SSM parameters (read from their main.tf),
  SecureStrings, plus the operator's <prefix>/web_secret_key;
- in a fresh Debian 12 systemd container (localhost/gradestack-base:bookworm-systemd)
  standing in for an instance of the official Debian 12 AMI the module launches, as a
  systemd service the way cloud-init's cloud-final runs user data (no HOME, no TTY);
- against moto (S3, SSM), a real PostgreSQL with TLS (sslmode=require, as the script
  sets for RDS) and a real ActiveMQ, reached through the network's gateway address.

What differs from EC2, on purpose: credentials come from the service's environment
(AWS_ACCESS_KEY_ID, ...) instead of the instance profile through IMDS; the endpoint is
moto's through the template's aws_endpoint_url (empty in every real rendering, checked
here) because Debian 12's awscli 2.9 ignores AWS_ENDPOINT_URL; the broker endpoint is
stomp:// (Amazon MQ's is stomp+ssl://); the container has no cloud-init, and its image
carries a few packages the AMI may lack (sudo, openssh-server, python3-apt): the script
installs what it needs itself, and Ansible's apt module installs python3-apt if missing.

Cases: a host that boots to a serving web app (/health, and /health/ready with database
and broker connected) having read from SSM exactly what its instance role allows
(testsupport/ssm_reads.py, from moto's call log); a missing release parameter and a missing web_secret_key, each
failing fast with its message, within the wait the template itself enforces.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import boto3
import pytest

from testsupport.activemq import ActiveMQServer
from testsupport.ansible import REPO, VENV_BIN, playbook_env, run_playbook
from testsupport.forward import Forwarder, forward_tcp
from testsupport.moto import MotoServer
from testsupport.postgres import PostgresServer
from testsupport.ssm_reads import WEB_HOST_SSM_READS, ssm_reads
from testsupport.terraform import make_cli, render_template

pytestmark = [pytest.mark.slow, pytest.mark.containers, pytest.mark.terraform]

REGION = "ap-northeast-2"
IMAGE = "localhost/gradestack-base:bookworm-systemd"
COMPUTE = REPO / "terraform" / "modules" / "compute"
TEMPLATE = COMPUTE / "templates" / "user_data.sh.tftpl"
LABEL = "io.gradestack.test"
# Where cloud-init puts a user-data script before cloud-final runs it.
SCRIPT_PATH = "/var/lib/cloud/instance/scripts/part-001"
LOG_PATH = "/var/log/gradestack-bootstrap.log"
# Seconds the missing-release case lets the template wait (its release_wait_seconds).
SHORT_WAIT = 5
# GRADESTACK_KEEP_BOOT=1 keeps the containers and their network to look into (remove them by label).
KEEP = os.environ.get("GRADESTACK_KEEP_BOOT", "") == "1"

BUILD_PLAY = """
# The AWS path's build: playbooks/aws/release_facts.yml (versions) and web.yml (bundle).
- hosts: localhost
  connection: local
  gather_facts: false
  tasks:
    - ansible.builtin.include_role: {name: build_artifacts, tasks_from: versions}
    - ansible.builtin.include_role: {name: build_artifacts, tasks_from: bundle}
    - ansible.builtin.copy:
        content: "{{ {'release': build_artifacts_release, 'bundle': build_artifacts_bundle_path} | to_json }}"
        dest: "{{ built_to }}"
        mode: "0644"
"""


# --- What the compute module passes the template --------------------------------------------


def template_arguments() -> dict[str, str]:
    """The launch template's templatefile() map in compute/main.tf: variable -> HCL expression."""
    text = (COMPUTE / "main.tf").read_text()
    found = re.search(
        r'templatefile\("\$\{path\.module\}/templates/user_data\.sh\.tftpl",\s*\{(.*?)\n\s*\}\)', text, re.S
    )
    assert found, "compute/main.tf no longer renders templates/user_data.sh.tftpl with a literal map"
    arguments = {}
    for raw in found.group(1).splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            key, expression = (part.strip() for part in line.split("=", 1))
            arguments[key] = expression
    return arguments


def module_locals() -> dict[str, str]:
    """The compute module's string locals (name -> raw string)."""
    block = re.search(r"^locals \{(.*?)^\}", (COMPUTE / "main.tf").read_text(), re.S | re.M)
    assert block, "compute/main.tf has no locals block"
    return dict(re.findall(r'^\s*(\w+)\s*=\s*"([^"]*)"\s*$', block.group(1), re.M))


def user_data_variables(environment: str, bucket: str, wait_seconds: int) -> dict:
    """The values Terraform gives the template for ``environment`` (parameter prefix /gradestack/<env>)."""
    prefix = f"/gradestack/{environment}"
    variables = {
        "var.environment_name": environment,
        "data.aws_region.current.name": REGION,
        "var.grading_bucket_name": bucket,
        "var.parameter_prefix": prefix,
        "var.release_wait_seconds": wait_seconds,
    }
    local_values = module_locals()
    values: dict[str, object] = {}
    for key, expression in template_arguments().items():
        if expression in variables:
            values[key] = variables[expression]
        elif expression.startswith("local.") and expression[6:] in local_values:
            values[key] = local_values[expression[6:]].replace("${var.parameter_prefix}", prefix)
        elif re.fullmatch(r'"[^"$%]*"', expression):
            values[key] = expression[1:-1]
        else:
            raise AssertionError(f"compute/main.tf passes {key} = {expression}: teach this test its value")
    return values


def ssm_parameter_names(module: str, each_key: str = "") -> dict[str, str]:
    """aws_ssm_parameter label -> name suffix below the prefix, as terraform/modules/<module> creates them.

    A parameter per for_each key (the broker accounts' <client>/username) is named for ``each_key``.
    """
    text = (REPO / "terraform" / "modules" / module / "main.tf").read_text()
    pattern = (
        r'resource "aws_ssm_parameter" "(\w+)" \{\s*(?:for_each\s*=[^\n]*\s*)?'
        r'name\s*=\s*"\$\{var\.parameter_prefix\}/([^"]+)"'
    )
    return {label: name.replace("${each.key}", each_key) for label, name in re.findall(pattern, text)}


# --- The emulated account, the servers and the bundle -----------------------------------------


@dataclass
class Published:
    """One environment's SSM parameters and the bundle they name."""

    environment: str
    prefix: str
    release: str
    secrets: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    tmp: Path
    network: str
    gateway: str
    moto: MotoServer
    forwards: dict[str, Forwarder]
    database: PostgresServer
    broker: ActiveMQServer
    bucket: str
    release: str
    bundle: Path
    run_id: str
    containers: list[str] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        """moto as the container reaches it."""
        return f"http://{self.gateway}:{self.forwards['moto'].port}"

    def client(self, service: str):
        env = self.moto.client_env()
        return boto3.client(
            service,
            endpoint_url=self.moto.endpoint,
            region_name=REGION,
            aws_access_key_id=env["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=env["AWS_SECRET_ACCESS_KEY"],
        )

    def publish(self, environment: str, *, release: bool = True, secret_key: bool = True) -> Published:
        """What an environment's Terraform apply, operator and deploy (web stage) leave in SSM."""
        variables = user_data_variables(environment, self.bucket, SHORT_WAIT)
        prefix = variables["parameter_prefix"]
        published = Published(environment, prefix, self.release)
        # The web hosts connect with the web app's own broker account (group_vars mq_users.web).
        mq_username, mq_password = self.broker.credentials("web")
        db_password = self.database.password
        published.secrets = {"db": db_password, "mq": mq_password, "key": secrets.token_hex(32)}
        values = {}
        database = ssm_parameter_names("database")
        values.update(
            {
                database["host"]: self.gateway,
                database["port"]: str(self.forwards["postgres"].port),
                database["name"]: self.database.dbname,
                database["username"]: self.database.user,
                database["password"]: db_password,
            }
        )
        messaging = ssm_parameter_names("messaging", each_key="web")
        values.update(
            {
                messaging["endpoints"]: f"stomp://host.containers.internal:{self.forwards['activemq'].port}",
                messaging["username"]: mq_username,
                messaging["password"]: mq_password,
            }
        )
        # The operator's SecureStrings (README "Secrets"), the release record of the release
        # stage, and a web_* setting below web/settings/ (one gunicorn worker: a small host).
        values.update(
            {
                "db_password": db_password,
                "mq_web_password": mq_password,
                "release/current": json.dumps({"release": self.release, "web_bundle": self.release}),
                "web/settings/web_gunicorn_workers": "1",
            }
        )
        if secret_key:
            values["web_secret_key"] = published.secrets["key"]
        ssm = self.client("ssm")
        for name, value in values.items():
            ssm.put_parameter(Name=f"{prefix}/{name}", Value=value, Type="SecureString", Overwrite=True)
        if release:
            # playbooks/aws/web.yml: "Name the release booting web hosts install" (a String).
            ssm.put_parameter(Name=variables["release_parameter"], Value=self.release, Type="String", Overwrite=True)
        return published

    def render(self, environment: str, wait_seconds: int = SHORT_WAIT) -> str:
        variables = user_data_variables(environment, self.bucket, wait_seconds)
        assert variables["aws_endpoint_url"] == "", "the compute module must render AWS's own endpoints"
        variables["aws_endpoint_url"] = self.endpoint
        return render_template(make_cli(), TEMPLATE, variables, self.tmp / f"render-{environment}")

    def boot(self, name: str, user_data: str, timeout: float) -> Boot:
        """A fresh instance that runs ``user_data`` as cloud-final does; returns when the script ends."""
        container = f"gs-boot-{self.run_id}-{name}"
        self.containers.append(container)
        podman(
            "run", "--detach", "--name", container, "--hostname", f"ip-10-0-1-{len(self.containers) + 10}",
            "--network", self.network, "--label", f"{LABEL}={self.network}", "--systemd", "always",
            IMAGE, "/sbin/init",
        )  # fmt: skip
        podman("exec", container, "timeout", "60", "systemctl", "is-system-running", "--wait", check=False)
        script = self.tmp / f"{name}.sh"
        script.write_text(user_data)
        podman("exec", container, "mkdir", "-p", str(Path(SCRIPT_PATH).parent))
        podman("cp", str(script), f"{container}:{SCRIPT_PATH}")
        podman("exec", container, "chmod", "0700", SCRIPT_PATH)
        # Test speed only: dpkg without fsync (a throwaway container's disk need not survive a crash).
        podman("exec", container, "sh", "-c", "echo force-unsafe-io > /etc/dpkg/dpkg.cfg.d/gradestack-test-unsafe-io")
        started = time.monotonic()
        done = subprocess.run(
            ["podman", "exec", container, "systemd-run", "--unit", "gradestack-user-data", "--wait", "--quiet",
             "--service-type", "oneshot",
             # cloud-final.service's settings: no timeout of its own, and processes the script
             # leaves behind are not waited for.
             "--property", "TimeoutStartSec=infinity", "--property", "KillMode=process",
             "--setenv", "AWS_ACCESS_KEY_ID=testing", "--setenv", "AWS_SECRET_ACCESS_KEY=testing",
             SCRIPT_PATH],
            capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        elapsed = time.monotonic() - started
        # The script logs through `tee | logger`: give the pipe a moment to drain.
        time.sleep(1)
        log = podman("exec", container, "cat", LOG_PATH, check=False)
        return Boot(container, done.returncode, log, elapsed)


@dataclass
class Boot:
    container: str
    returncode: int
    log: str
    elapsed: float

    def diagnose(self) -> str:
        """The web units' status and journal, for a failure message."""
        units = "gradestack-web.service gradestack-web-outbox.service gradestack-web-results.service nginx.service"
        shown = self.sh(
            f"systemctl status --no-pager --lines 0 {units}; journalctl --no-pager -o cat -n 60 -u '*gradestack*'"
        )
        return "\n--- units ---\n" + shown.stdout[-6000:]

    def sh(self, command: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            ["podman", "exec", self.container, "bash", "-c", command],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip


def podman(*args: str, check: bool = True) -> str:
    done = subprocess.run(["podman", *args], capture_output=True, text=True, timeout=300, check=False)
    if check and done.returncode != 0:
        raise AssertionError(f"podman {' '.join(args)} failed: {done.stderr}")
    return done.stdout


def build_bundle(tmp: Path) -> tuple[str, Path]:
    play = tmp / "build.yml"
    play.write_text(BUILD_PLAY)
    built = tmp / "built.json"
    result = run_playbook(
        str(play),
        inventory="localhost,",
        extra_vars={
            "ansible_python_interpreter": str(VENV_BIN / "python"),
            "build_artifacts_dir": str(tmp / "artifacts"),
            "built_to": str(built),
        },
        env=playbook_env({"ANSIBLE_ROLES_PATH": str(REPO / "roles")}),
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-4000:]
    facts = json.loads(built.read_text())
    return facts["release"], Path(facts["bundle"])


def migrate(database: PostgresServer, broker: ActiveMQServer) -> None:
    """The data stage's `gradestack-web migrate`, which runs before the web stage names a release."""
    env = {
        "PATH": f"{VENV_BIN}:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        **database.env(),
        **broker.endpoints_env(),
        "GRADESTACK_ENV": "production",
        "SECRET_KEY": secrets.token_hex(32),
    }
    done = subprocess.run(
        [str(VENV_BIN / "gradestack-web"), "migrate"], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory,
    moto_server: MotoServer,
    postgres_database: PostgresServer,
    activemq_server: ActiveMQServer,
) -> Iterator[World]:
    if shutil.which("podman") is None:
        pytest.fail("podman is required; run 'make setup'")
    podman("image", "exists", IMAGE)
    tmp = tmp_path_factory.mktemp("web_boot")
    run_id = uuid.uuid4().hex[:8]
    network = f"gs-boot-{run_id}"
    podman("network", "create", "--label", f"{LABEL}={network}", network)
    forwards: dict[str, Forwarder] = {}
    world = None
    try:
        subnet = json.loads(podman("network", "inspect", network))[0]["subnets"][0]
        gateway = subnet["gateway"]
        port = int(moto_server.endpoint.rsplit(":", 1)[1])
        forwards = {
            "moto": forward_tcp(gateway, port),
            "postgres": forward_tcp(gateway, postgres_database.port),
            "activemq": forward_tcp(gateway, activemq_server.stomp_port),
        }
        release, bundle = build_bundle(tmp)
        migrate(postgres_database, activemq_server)
        world = World(
            tmp, network, gateway, moto_server, forwards, postgres_database, activemq_server,
            f"gs-boot-{run_id}-grading", release, bundle, run_id,
        )  # fmt: skip
        s3 = world.client("s3")
        s3.create_bucket(Bucket=world.bucket, CreateBucketConfiguration={"LocationConstraint": REGION})
        prefix = user_data_variables("any", world.bucket, SHORT_WAIT)["bundle_prefix"]
        # playbooks/aws/web.yml: "Upload the bundle (a release's bundle never changes)", SSE-KMS.
        s3.upload_file(str(bundle), world.bucket, f"{prefix}{release}.tar.gz", {"ServerSideEncryption": "aws:kms"})
        yield world
    finally:
        for container in world.containers if world and not KEEP else []:
            subprocess.run(["podman", "rm", "--force", "--time", "0", container], capture_output=True, check=False)
        for forward in forwards.values():
            forward.close()
        if not KEEP:
            subprocess.run(["podman", "network", "rm", "--force", network], capture_output=True, check=False)


def assert_no_secret(text: str, published: Published) -> None:
    for name, value in published.secrets.items():
        assert value not in text, f"the {name} secret is in the boot log"


# --- Tests ---------------------------------------------------------------------------------


def test_every_real_rendering_uses_aws_endpoints(tmp_path):
    """The emulator hook is a literal "" in the module: no environment can set it, every rendering is empty."""
    assert template_arguments()["aws_endpoint_url"] == '""'
    for environment in ("dev", "staging", "production"):
        variables = user_data_variables(environment, f"gradestack-{environment}-grading", 1800)
        script = render_template(make_cli(), TEMPLATE, variables, tmp_path / environment)
        assert "\nENDPOINT_URL=''\n" in script
        assert f"\nRELEASE_PARAMETER='/gradestack/{environment}/web/release'\n" in script


@dataclass
class Case:
    published: Published
    boot: Boot


@pytest.fixture(scope="module")
def cases(world: World) -> Iterator[dict[str, Future[Case]]]:
    """The three boots, started together (each in its own fresh container): the module's wall time is the longest."""
    settings = {
        "ok": {"timeout": 420},
        "norelease": {"release": False, "timeout": 180},
        "nosecret": {"secret_key": False, "timeout": 300},
    }

    def run(name: str, published: Published, user_data: str, timeout: float) -> Case:
        return Case(published, world.boot(name, user_data, timeout=timeout))

    with ThreadPoolExecutor(max_workers=len(settings)) as pool:
        futures = {}
        for name, options in settings.items():
            timeout = options.pop("timeout")
            environment = f"{name}{world.run_id}"
            published = world.publish(environment, **options)
            futures[name] = pool.submit(run, name, published, world.render(environment), timeout)
        yield futures


def test_a_new_host_configures_itself_and_serves(cases: dict[str, Future[Case]], world: World):
    published, boot = astuple_case(cases["ok"].result())
    print(f"\nboot to a serving host: {boot.elapsed:.0f} s")
    assert boot.returncode == 0, boot.log[-6000:] + boot.diagnose()
    assert f"release {published.release} configured" in boot.log

    health = boot.sh("curl -fsS http://127.0.0.1/health")
    assert health.returncode == 0 and json.loads(health.stdout) == {"status": "ok"}, health.stderr
    ready = boot.sh("curl -sS http://127.0.0.1/health/ready")
    body = json.loads(ready.stdout)
    assert body["checks"] == {"database": "ok", "broker": "ok"}, body
    assert body["status"] == "ready"

    # What it read from SSM, from moto's call log: exactly what the instance role allows
    # (testsupport/ssm_reads.py; tests/terraform checks the policy side against the same list).
    reads = ssm_reads(world.moto.calls(), published.prefix)
    assert reads == WEB_HOST_SSM_READS, sorted(reads)

    env = boot.sh("cat /etc/gradestack/web.env").stdout.replace('"', "").replace("'", "")
    assert f"GRADESTACK_ENV={published.environment}" in env
    assert "DATABASE_SSLMODE=require" in env
    assert boot.sh("test ! -e /opt/gradestack/settings.json").returncode == 0, "settings.json (secrets) left behind"
    assert boot.sh("systemctl is-active gradestack-web-outbox gradestack-web-results").returncode == 0
    journal = boot.sh("journalctl --no-pager -o cat").stdout
    assert_no_secret(boot.log + journal, published)


def test_a_missing_release_fails_with_its_message_in_bounded_time(cases: dict[str, Future[Case]]):
    published, boot = astuple_case(cases["norelease"].result())
    print(f"\nmissing release: failed after {boot.elapsed:.0f} s")
    assert boot.returncode != 0, boot.log[-3000:]
    parameter = f"{published.prefix}/web/release"
    assert f"no release in SSM parameter {parameter} after {SHORT_WAIT} s; run deploy.yml" in boot.log, boot.log[-3000:]
    # apt (under a minute here), the wait and one poll interval: the template's own deadline.
    assert boot.elapsed < SHORT_WAIT + 120
    assert boot.sh("test ! -e /opt/gradestack/ansible").returncode == 0


def test_a_missing_secret_key_fails_with_its_message(cases: dict[str, Future[Case]]):
    published, boot = astuple_case(cases["nosecret"].result())
    print(f"\nmissing web_secret_key: failed after {boot.elapsed:.0f} s")
    assert boot.returncode != 0, boot.log[-3000:]
    message = f"SSM parameter {published.prefix}/web_secret_key (SecureString, 32+ characters) is missing; see README"
    assert message in boot.log, boot.log[-3000:]
    assert "PLAY [" not in boot.log, "the web role ran without a secret key"
    assert boot.sh("systemctl is-active nginx").stdout.strip() != "active"
    assert boot.sh("test ! -e /opt/gradestack/settings.json").returncode == 0, "settings.json left behind"
    assert_no_secret(boot.log, published)


def astuple_case(case: Case) -> tuple[Published, Boot]:
    return case.published, case.boot
