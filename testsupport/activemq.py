"""pytest fixture: a real ActiveMQ (Debian's ``activemq`` package) speaking STOMP over TLS, as Amazon MQ does.

Each broker gets its own instance directory (ACTIVEMQ_BASE with conf/ and data/),
rendered from scripts/activemq/, free loopback ports, a test user, a certificate of a CA
of its own (testsupport/tls.py) and a persistent KahaDB store, so ``restart()`` keeps
every queued message. Usage::

    def test_something(activemq_server):
        env = activemq_server.endpoints_env()   # MQ_ENDPOINTS (stomp+ssl), MQ_CA_BUNDLE, MQ_USERNAME, ...
        worker_env = activemq_server.endpoints_env(user="worker")  # as the workers' account
        activemq_server.restart()                # same ports, same data

The broker has the accounts and destination permissions of group_vars (``mq_users``,
``mq_authorization``, ``mq_temp_destination_authorization``: the map Amazon MQ and the
local broker get), each account with a password of its own, and the tests' account
(``username``), allowed everything, for the tests that play every client at once.

A plain STOMP connector stays for the tests that reach the broker from a container
through a TCP forwarder (``endpoints_env(tls=False)``).

The session fixture is shared: tests use their own queue names (or drain what they
use) instead of assuming an empty broker. ``start_activemq()`` gives a private one.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path
from xml.sax.saxutils import quoteattr

import pytest
import yaml

from testsupport.ports import free_port, wait_for_port
from testsupport.tls import ServerTls, issue_server_tls

REPO = Path(__file__).resolve().parent.parent
TEMPLATES = REPO / "scripts" / "activemq"
GROUP_VARS = REPO / "group_vars" / "all" / "main.yml"
# The tests' own account's group: granted every destination (not an account of group_vars).
TEST_GROUP = "gradestack-tests"
ACTIVEMQ_HOME = Path(os.environ.get("ACTIVEMQ_HOME", "/usr/share/activemq"))
JVM_HEAP = os.environ.get("ACTIVEMQ_TEST_HEAP", "256m")

# Java 9+ needs these to let ActiveMQ 5.17's reflection work (copied from /usr/bin/activemq).
_JAVA_MODULE_FLAGS = [
    "--add-reads=java.xml=java.logging",
    "--add-opens=java.base/java.security=ALL-UNNAMED",
    "--add-opens=java.base/java.net=ALL-UNNAMED",
    "--add-opens=java.base/java.lang=ALL-UNNAMED",
    "--add-opens=java.base/java.util=ALL-UNNAMED",
    "--add-opens=java.naming/javax.naming.spi=ALL-UNNAMED",
    "--add-opens=java.rmi/sun.rmi.transport.tcp=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent=ALL-UNNAMED",
    "--add-opens=java.base/java.util.concurrent.atomic=ALL-UNNAMED",
]


def broker_access_map() -> dict:
    """The broker accounts and permissions of group_vars (mq_users, mq_authorization, mq_temp_destination_...)."""
    settings = yaml.safe_load(GROUP_VARS.read_text())
    return {key: settings[key] for key in ("mq_users", "mq_authorization", "mq_temp_destination_authorization")}


def _permissions(entry: dict, extra_group: str) -> str:
    # The tests' group joins every right: an empty list of group_vars leaves it the only one.
    return " ".join(
        f"{right}={quoteattr(','.join([*entry.get(right, []), extra_group]))}" for right in ("read", "write", "admin")
    )


def render_access(access: dict, passwords: dict[str, str], test_username: str, test_password: str) -> dict[str, str]:
    """The ``@USERS@``, ``@AUTHORIZATION_ENTRIES@`` and ``@TEMP_DESTINATION_AUTHORIZATION@`` of the template."""
    users = [
        f"          <authenticationUser username={quoteattr(test_username)} password={quoteattr(test_password)}"
        f" groups={quoteattr(TEST_GROUP)}/>"
    ]
    for key, user in access["mq_users"].items():
        users.append(
            f"          <authenticationUser username={quoteattr(user['username'])} password={quoteattr(passwords[key])}"
            f" groups={quoteattr(','.join(user['groups']))}/>"
        )
    entries = []
    for entry in access["mq_authorization"]:
        kind = "queue" if "queue" in entry else "topic"
        entries.append(
            f"              <authorizationEntry {kind}={quoteattr(entry[kind])} {_permissions(entry, TEST_GROUP)}/>"
        )
    # The tests' account may use every other destination too (their own queue names).
    everything = _permissions({}, TEST_GROUP)
    entries += [
        f"              <authorizationEntry {kind}={quoteattr('>')} {everything}/>" for kind in ("queue", "topic")
    ]
    temp = (
        "              <tempDestinationAuthorizationEntry "
        f"{_permissions(access['mq_temp_destination_authorization'], TEST_GROUP)}/>"
    )
    return {
        "USERS": "\n".join(users),
        "AUTHORIZATION_ENTRIES": "\n".join(entries),
        "TEMP_DESTINATION_AUTHORIZATION": temp,
    }


def render_config(
    base: Path,
    *,
    stomp_port: int,
    stomp_ssl_port: int,
    openwire_port: int,
    username: str,
    password: str,
    tls: ServerTls,
    user_passwords: dict[str, str],
    bind_host: str = "127.0.0.1",
    max_redeliveries: int = 3,
    redelivery_delay_ms: int = 1100,
) -> None:
    """Write ``base/conf/activemq.xml`` and ``log4j2.properties`` from the templates.

    ``username``/``password``: the tests' account; ``user_passwords``: a password for each
    account of group_vars' ``mq_users`` (by key).
    """
    conf = base / "conf"
    conf.mkdir(parents=True, exist_ok=True)
    (base / "data").mkdir(exist_ok=True)
    (base / "tmp").mkdir(exist_ok=True)
    values = {
        "BIND_HOST": bind_host,
        "STOMP_PORT": str(stomp_port),
        "STOMP_SSL_PORT": str(stomp_ssl_port),
        "KEYSTORE": quoteattr(str(tls.keystore))[1:-1],
        "KEYSTORE_PASSWORD": quoteattr(tls.keystore_password)[1:-1],
        "OPENWIRE_PORT": str(openwire_port),
        "MAX_REDELIVERIES": str(max_redeliveries),
        "REDELIVERY_DELAY_MS": str(redelivery_delay_ms),
        **render_access(broker_access_map(), user_passwords, username, password),
    }
    text = (TEMPLATES / "activemq.xml.template").read_text()
    for key, value in values.items():
        text = text.replace(f"@{key}@", value)
    leftover = re.findall(r"@[A-Z_]+@", text)
    if leftover:
        raise RuntimeError(f"unrendered placeholders in activemq.xml: {sorted(set(leftover))}")
    (conf / "activemq.xml").write_text(text)
    shutil.copyfile(TEMPLATES / "log4j2.properties", conf / "log4j2.properties")


class ActiveMQServer:
    """One broker process; stop()/start()/restart() keep ports, credentials and data."""

    def __init__(self, base: Path, *, username: str = "gradestack-test", max_redeliveries: int = 3) -> None:
        self.base = base
        self.host = "127.0.0.1"
        self.stomp_port = free_port()
        self.stomp_ssl_port = free_port()
        self.openwire_port = free_port()
        self.tls = issue_server_tls(base / "tls", hosts=("localhost", self.host))
        self.username = username
        self.password = secrets.token_urlsafe(16)
        # The accounts of group_vars' mq_users: key -> (username, password).
        self.users = {
            key: (user["username"], secrets.token_urlsafe(16)) for key, user in broker_access_map()["mq_users"].items()
        }
        self.log_path = base / "activemq.log"
        self.process: subprocess.Popen | None = None
        render_config(
            base,
            stomp_port=self.stomp_port,
            stomp_ssl_port=self.stomp_ssl_port,
            openwire_port=self.openwire_port,
            username=username,
            password=self.password,
            tls=self.tls,
            user_passwords={key: password for key, (_, password) in self.users.items()},
            max_redeliveries=max_redeliveries,
        )

    @property
    def stomp_url(self) -> str:
        """The TLS endpoint, as Amazon MQ's: what the web app and the workers use."""
        return f"stomp+ssl://{self.host}:{self.stomp_ssl_port}"

    @property
    def plain_stomp_url(self) -> str:
        return f"stomp://{self.host}:{self.stomp_port}"

    def credentials(self, user: str | None = None) -> tuple[str, str]:
        """(username, password) of an account of mq_users by key ("web", "worker", ...), or the tests' own."""
        return (self.username, self.password) if user is None else self.users[user]

    def endpoints_env(self, *, tls: bool = True, user: str | None = None) -> dict[str, str]:
        """The MQ_* variables a web app or worker needs to reach this broker (over TLS unless ``tls`` is off).

        ``user``: connect as that account of group_vars' mq_users ("web", "worker", "verify")
        instead of the tests' account, which may do everything.
        """
        username, password = self.credentials(user)
        env = {
            "MQ_ENDPOINTS": self.stomp_url if tls else self.plain_stomp_url,
            "MQ_USERNAME": username,
            "MQ_PASSWORD": password,
            "MQ_HEARTBEAT_MS": "2000",
        }
        if tls:
            env["MQ_CA_BUNDLE"] = str(self.tls.ca_bundle)
        return env

    def _command(self) -> list[str]:
        java = shutil.which("java")
        if java is None or not (ACTIVEMQ_HOME / "bin" / "activemq.jar").is_file():
            raise RuntimeError(
                "ActiveMQ needs Debian's 'activemq' and 'default-jre-headless' packages: "
                "apt-get install -y activemq default-jre-headless"
            )
        base, conf = self.base, self.base / "conf"
        return [
            java,
            "-Xms64m",
            f"-Xmx{JVM_HEAP}",
            "-XX:+UseSerialGC",  # one small heap on a 2-core machine: no parallel GC threads
            *_JAVA_MODULE_FLAGS,
            f"-Djava.io.tmpdir={base / 'tmp'}",
            f"-Dlog4j2.configurationFile={conf / 'log4j2.properties'}",
            f"-Dactivemq.classpath={conf}",
            f"-Dactivemq.home={ACTIVEMQ_HOME}",
            f"-Dactivemq.base={base}",
            f"-Dactivemq.conf={conf}",
            f"-Dactivemq.data={base / 'data'}",
            "-jar",
            str(ACTIVEMQ_HOME / "bin" / "activemq.jar"),
            "start",
            f"xbean:file:{conf / 'activemq.xml'}",
        ]

    def start(self, timeout: float = 90.0) -> None:
        if self.process is not None and self.process.poll() is None:
            return
        log = self.log_path.open("ab")
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ACTIVEMQ_", "AWS_"))}
        self.process = subprocess.Popen(
            self._command(), stdout=log, stderr=subprocess.STDOUT, env=env, cwd=self.base, start_new_session=True
        )
        log.close()
        try:
            for port in (self.stomp_ssl_port, self.stomp_port):
                wait_for_port(port, host=self.host, timeout=timeout, process=self.process)
        except Exception as exc:
            self.kill()
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"ActiveMQ did not open its STOMP ports: {exc}\n{tail}") from None

    def stop(self, timeout: float = 60.0) -> None:
        """Graceful shutdown (SIGTERM runs the broker's shutdown hook, KahaDB is closed cleanly)."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def kill(self) -> None:
        """Crash the broker (SIGKILL): what a host failure looks like."""
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.process = None

    def restart(self) -> None:
        self.stop()
        self.start()


def start_activemq(base: Path, **kwargs) -> ActiveMQServer:
    server = ActiveMQServer(base, **kwargs)
    server.start()
    return server


@pytest.fixture(scope="session")
def activemq_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ActiveMQServer]:
    """One real ActiveMQ for the whole session (STOMP over TLS and plain STOMP on free 127.0.0.1 ports)."""
    server = start_activemq(tmp_path_factory.mktemp("activemq"))
    yield server
    server.stop()
