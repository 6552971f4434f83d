#!/usr/bin/python
"""Ansible module: the verify checks that talk to the database and the broker themselves.

They run where the application runs (a web host, the local verifier container, the
verifier task in the VPC), with the application's settings, so a pass means the
application can do the same. Never fails by itself: the result says ok or why not,
and the calling check records it (verify_report).
"""

from __future__ import annotations

import threading
import time
import uuid
from typing import Any

from ansible.module_utils.basic import AnsibleModule

DOCUMENTATION = r"""
---
module: gradestack_verify_probe
short_description: Database and broker round trips of gradestack's verify checks
description:
  - C(sql) connects to PostgreSQL and runs a query (the database round trip).
  - C(stomp_roundtrip) connects to the broker over STOMP (STOMP+SSL for stomp+ssl:// endpoints), sends a message to
    a temporary queue of its own and receives it back. The broker deletes a temporary queue when its connection
    closes, so the probe leaves nothing behind.
  - Never fails by itself; C(ok) and C(reason) say how the probe went. Secrets are never returned.
  - Needs psycopg (sql) or the gradestack_protocol package and stomp.py (stomp_roundtrip) on the host it runs on.
options:
  kind:
    type: str
    required: true
    choices: [sql, stomp_roundtrip]
    description: Which probe.
  db_host: {type: str, description: PostgreSQL host (sql).}
  db_port: {type: int, default: 5432, description: PostgreSQL port (sql).}
  db_name: {type: str, description: Database (sql).}
  db_user: {type: str, description: User (sql).}
  db_password: {type: str, no_log: true, description: Password (sql).}
  db_sslmode: {type: str, default: prefer, description: libpq sslmode (sql); RDS takes require.}
  mq_endpoints: {type: str, description: 'Comma-separated failover list, stomp://host:port or stomp+ssl://host:port.'}
  mq_username: {type: str, description: Broker user.}
  mq_password: {type: str, no_log: true, description: Broker password.}
  mq_ca_bundle: {type: str, default: '', description: CA bundle for stomp+ssl; empty for the system bundle.}
  timeout: {type: int, default: 10, description: Seconds to wait for a connection or the message back.}
"""

EXAMPLES = r"""
- name: Database round trip
  gradestack_verify_probe:
    kind: sql
    db_host: db
    db_name: gradestack
    db_user: gradestack
    db_password: "{{ db_password }}"
  register: probe
"""

RETURN = r"""
ok: {description: Whether the probe succeeded., returned: always, type: bool}
reason: {description: What was done and seen, or why it failed (never a secret)., returned: always, type: str}
latency_ms: {description: Milliseconds the round trip took (sql and stomp_roundtrip)., returned: when ok, type: int}
"""


def probe_sql(p: dict[str, Any]) -> dict[str, Any]:
    import psycopg  # noqa: PLC0415 - only the sql probe needs it

    started = time.monotonic()
    try:
        with psycopg.connect(
            host=p["db_host"],
            port=p["db_port"],
            dbname=p["db_name"],
            user=p["db_user"],
            password=p["db_password"],
            sslmode=p["db_sslmode"],
            connect_timeout=p["timeout"],
        ) as conn:
            user, database, one = conn.execute("select current_user, current_database(), 1").fetchone()
    except psycopg.Error as exc:
        # psycopg's message names host, port and the server's answer; never the password.
        return {"ok": False, "reason": f"{p['db_host']}:{p['db_port']}/{p['db_name']}: {str(exc).strip()}"}
    latency = int((time.monotonic() - started) * 1000)
    return {
        "ok": one == 1,
        "reason": f"{p['db_host']}:{p['db_port']}: connected as {user} to {database}, select 1 in {latency} ms",
        "latency_ms": latency,
    }


def _broker(p: dict[str, Any]):
    from gradestack_protocol.broker import BrokerSettings, Endpoint  # noqa: PLC0415 - only the stomp probes need it

    endpoints = tuple(Endpoint.parse(e) for e in p["mq_endpoints"].split(",") if e.strip())
    return BrokerSettings(endpoints, p["mq_username"], p["mq_password"], ca_bundle=p["mq_ca_bundle"] or None)


class _Inbox:
    """Collects the frames of one subscription."""

    def __init__(self) -> None:
        self.frames: list[Any] = []
        self.arrived = threading.Event()
        self.error = ""

    def on_message(self, frame) -> None:
        self.frames.append(frame)
        self.arrived.set()

    def on_error(self, frame) -> None:
        self.error = frame.headers.get("message", "") or (frame.body or "")[:200]
        self.arrived.set()


def probe_stomp_roundtrip(p: dict[str, Any]) -> dict[str, Any]:
    import stomp  # noqa: PLC0415
    from gradestack_protocol.broker import BrokerConnectError, connect  # noqa: PLC0415

    settings = _broker(p)
    token = f"gradestack-verify-{uuid.uuid4()}"
    # A temporary queue: the broker removes it with this connection (nothing left behind).
    destination = f"/temp-queue/gradestack.verify.{uuid.uuid4().hex[:12]}"
    inbox = _Inbox()
    listener = stomp.ConnectionListener()
    listener.on_message = inbox.on_message  # type: ignore[method-assign]
    listener.on_error = inbox.on_error  # type: ignore[method-assign]
    started = time.monotonic()
    try:
        conn = connect(settings, listener, timeout=p["timeout"])
    except BrokerConnectError as exc:
        return {"ok": False, "reason": str(exc)}
    try:
        conn.subscribe(destination, id="verify", ack="auto")
        conn.send(destination, token, headers={"persistent": "false"})
        got = inbox.arrived.wait(p["timeout"])
    finally:
        conn.disconnect()
    latency = int((time.monotonic() - started) * 1000)
    where = ",".join(str(e) for e in settings.endpoints)
    if inbox.error:
        return {"ok": False, "reason": f"{where}: the broker answered ERROR: {inbox.error}"}
    if not got:
        return {"ok": False, "reason": f"{where}: sent to a temporary queue, nothing came back within {p['timeout']} s"}
    if inbox.frames[0].body != token:
        return {"ok": False, "reason": f"{where}: received a different message from the temporary queue"}
    return {
        "ok": True,
        "reason": f"{where}: sent and received back on a temporary queue as {settings.username} in {latency} ms",
        "latency_ms": latency,
    }


PROBES = {"sql": probe_sql, "stomp_roundtrip": probe_stomp_roundtrip}
NEEDS = {
    "sql": ("db_host", "db_name", "db_user", "db_password"),
    "stomp_roundtrip": ("mq_endpoints", "mq_username", "mq_password"),
}


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "kind": {"type": "str", "required": True, "choices": list(PROBES)},
            "db_host": {"type": "str"},
            "db_port": {"type": "int", "default": 5432},
            "db_name": {"type": "str"},
            "db_user": {"type": "str"},
            "db_password": {"type": "str", "no_log": True},
            "db_sslmode": {"type": "str", "default": "prefer"},
            "mq_endpoints": {"type": "str"},
            "mq_username": {"type": "str"},
            "mq_password": {"type": "str", "no_log": True},
            "mq_ca_bundle": {"type": "str", "default": ""},
            "timeout": {"type": "int", "default": 10},
        },
        supports_check_mode=True,
    )
    p = module.params
    missing = [name for name in NEEDS[p["kind"]] if not p[name]]
    if missing:
        module.fail_json(msg=f"{p['kind']} needs {', '.join(missing)}")
    try:
        result = PROBES[p["kind"]](p)
    except ImportError as exc:
        result = {"ok": False, "reason": f"{p['kind']} cannot run on this host: {exc} (the probe needs it installed)"}
    except Exception as exc:
        result = {"ok": False, "reason": f"{p['kind']}: {type(exc).__name__}: {exc}"}
    # A probe reads or uses only its own temporary queue: nothing changes.
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
