"""roles/load_balancer: HAProxy routes round robin to healthy backends and drains one on request.

The side_effect step drained app-1 through tasks/server_state.yml. What it left is recorded
once, before any test changes the servers (``after_side_effect``), and each test that needs
servers in service puts them there itself: the tests pass in any order, or alone.
"""

from pathlib import Path

import pytest

SOCKET = "/run/haproxy/admin.sock"
CLIENT = "/tmp/haproxy_admin.py"


@pytest.fixture(scope="module", autouse=True)
def admin_client(host):
    source = (Path(__file__).parent / "haproxy_admin.py").read_text()
    host.check_output(f"cat > {CLIENT} <<'CLIENT_EOF'\n{source}\nCLIENT_EOF")


@pytest.fixture(scope="module")
def after_side_effect(host, admin_client) -> tuple[dict[str, str], set[str]]:
    """The servers' states and who answers, as side_effect left them (taken before any test changes them)."""
    return server_status(host), {get(host) for _ in range(6)}


@pytest.fixture(autouse=True)
def recorded_first(after_side_effect) -> None:
    """Every test records the side effect's state first, whichever test runs first."""


def admin(host, command: str) -> str:
    return host.check_output(f"python3 {CLIENT} {SOCKET} '{command}'")


def server_status(host) -> dict[str, str]:
    rows = [line.split(",") for line in admin(host, "show stat").splitlines() if line.startswith("web,")]
    return {row[1]: row[17] for row in rows if row[1] not in ("FRONTEND", "BACKEND")}


def get(host, path: str = "/") -> str:
    return host.check_output(f"curl -sS -f http://127.0.0.1:80{path}").strip()


def wait_until(host, server: str, status: str) -> None:
    # HAProxy's checks run every 2 s; poll the runtime API instead of sleeping a fixed time.
    for _ in range(60):
        if server_status(host).get(server, "").startswith(status):
            return
        host.run("sleep 1")
    raise AssertionError(f"{server} never became {status}: {server_status(host)}")


def test_haproxy_running_and_enabled(host):
    service = host.service("haproxy")
    assert service.is_running
    assert service.is_enabled


def test_listens_on_port_80(host):
    assert host.socket("tcp://0.0.0.0:80").is_listening


def test_config_has_health_checks_and_round_robin(host):
    text = host.file("/etc/haproxy/haproxy.cfg").content_string
    assert "balance roundrobin" in text
    assert "http-check send meth GET uri /health" in text
    assert "server app-1 127.0.0.1:8081" in text
    assert "level admin" in text
    assert "timeout http-request 3s" in text


def test_a_client_that_never_finishes_its_headers_is_cut_off(host):
    # Half a request, then silence (a slowloris client): HAProxy answers 408 and closes once
    # `timeout http-request` has passed. The outer timeout only bounds a broken case.
    out = host.check_output(
        'timeout 60 bash -c \'exec 3<>/dev/tcp/127.0.0.1/80; printf "GET / HTTP/1.1\\r\\nHost: lb\\r\\n" >&3; '
        "head -c 64 <&3'"
    )
    assert out.startswith("HTTP/1.1 408"), out


def test_drained_server_gets_no_traffic(after_side_effect):
    status, answered_by = after_side_effect
    assert status["app-1"].startswith("MAINT")
    assert answered_by == {"app-2"}


def in_service(host) -> None:
    """Both servers enabled and up (side_effect drained app-1; a test may have stopped app-2)."""
    admin(host, "enable server web/app-1")
    host.check_output("systemctl start app-2")
    wait_until(host, "app-1", "UP")
    wait_until(host, "app-2", "UP")


def test_enabled_servers_share_traffic_round_robin(host):
    in_service(host)
    assert {get(host) for _ in range(6)} == {"app-1", "app-2"}


def test_unhealthy_server_is_taken_out(host):
    in_service(host)
    host.check_output("systemctl stop app-2")
    try:
        wait_until(host, "app-2", "DOWN")
        assert {get(host) for _ in range(6)} == {"app-1"}
    finally:
        host.check_output("systemctl start app-2")
    wait_until(host, "app-2", "UP")


def test_path_route_reaches_its_backend_without_the_prefix(host):
    # /s3/bucket/object is /bucket/object on the store; other paths stay with the web hosts.
    assert get(host, "/s3/bucket/object") == "store"
    # The store would answer /bucket/object; without the prefix it is the web hosts' (404 there).
    assert host.check_output("curl -sS -o /dev/null -w '%{http_code}' http://127.0.0.1:80/bucket/object") == "404"
    assert host.check_output("curl -sS -o /dev/null -w '%{http_code}' http://127.0.0.1:80/s3x/bucket/object") == "404"
    assert get(host) in {"app-1", "app-2"}
