"""roles/web, converged: services up, config rendered, nginx answering through gunicorn's socket."""

import json

SERVICES = ["nginx", "gradestack-web.socket", "gradestack-web", "gradestack-web-outbox", "gradestack-web-results"]


def test_services_are_enabled_and_running(host):
    for name in SERVICES:
        service = host.service(name)
        assert service.is_enabled, name
        assert service.is_running, name


def test_nginx_listens_and_the_socket_is_nginx_only(host):
    assert host.socket("tcp://0.0.0.0:80").is_listening
    sock = host.file("/run/gradestack-web.sock")
    assert sock.is_socket
    assert sock.user == "www-data"
    assert sock.mode == 0o600


def test_health_through_nginx(host):
    out = host.check_output("curl -sS -i http://127.0.0.1/health")
    assert out.startswith("HTTP/1.1 200")
    assert json.loads(out.split("\r\n\r\n", 1)[1]) == {"status": "ok"}


def test_pages_need_and_reach_the_database(host):
    # The index lists problems from PostgreSQL: a 200 proves the env file's DB settings and the migration.
    out = host.check_output("curl -sS -o /dev/null -w '%{http_code} %{content_type}' http://127.0.0.1/")
    assert out.startswith("200 text/html")


def test_static_files_come_from_nginx(host):
    out = host.check_output("curl -sS -D - -o /dev/null http://127.0.0.1/static/style.css")
    assert " 200 " in out.splitlines()[0]
    assert "X-Content-Type-Options: nosniff" in out


def test_request_size_is_limited(host):
    code = host.check_output(
        "head -c 400000 /dev/zero | curl -sS -o /dev/null -w '%{http_code}' --data-binary @- http://127.0.0.1/api/submissions"
    )
    assert code == "413"


def test_environment_file_is_private_and_complete(host):
    env = host.file("/etc/gradestack/web.env")
    assert env.user == "root"
    assert env.group == "gradestack"
    assert env.mode == 0o640
    assert "DATABASE_PASSWORD='molecule-db-password'" in env.content_string
    assert "MQ_ENDPOINTS='stomp+ssl://localhost:61614'" in env.content_string
    assert "MQ_CA_BUNDLE='/etc/gradestack/mq-ca.pem'" in env.content_string


def test_app_runs_from_its_own_venv_built_from_wheels(host):
    current = host.file("/opt/gradestack/web/current")
    assert current.is_symlink
    venv = current.linked_to + "/venv"
    assert host.file(venv + "/bin/gunicorn").exists
    assert not host.file("/opt/gradestack/web/current/.git").exists
    pid = host.check_output("systemctl show -p MainPID --value gradestack-web")
    assert pid not in ("", "0"), "gradestack-web has no main process"
    # /proc/<pid>/exe of another user's process needs CAP_SYS_PTRACE, which a
    # default container lacks; the command line is world-readable.
    argv = host.check_output(f"tr '\\0' ' ' < /proc/{pid}/cmdline").split()
    assert argv[0].startswith("/opt/gradestack/web/"), argv
    assert any(arg.endswith("/venv/bin/gunicorn") for arg in argv), argv
    assert host.user("gradestack").shell == "/usr/sbin/nologin"


def test_operator_command_sees_the_app_settings_without_secrets(host):
    out = host.check_output("gradestack-web check-config")
    assert "gradestack" in out
    assert "molecule-db-password" not in out
    assert "molecule-secret-key" not in out


def test_logrotate_covers_the_logs(host):
    rules = host.file("/etc/logrotate.d/gradestack-web")
    assert "/var/log/gradestack/*.log" in rules.content_string
    host.run_expect([0], "logrotate --debug /etc/logrotate.d/gradestack-web")
    assert host.file("/var/log/gradestack/access.log").exists


def test_hsts_only_behind_an_https_load_balancer(host):
    # As the ALB's HTTPS listener forwards a request: its X-Forwarded-For and X-Forwarded-Proto.
    # nginx must pass the load balancer's scheme on (not its own, plain HTTP) for the app to
    # send HSTS and Secure cookies; a plain-HTTP request gets neither.
    alb = "-H 'X-Forwarded-For: 203.0.113.5'"
    https = host.check_output(f"curl -sS -D - -o /dev/null {alb} -H 'X-Forwarded-Proto: https' http://127.0.0.1/health")
    assert "Strict-Transport-Security: max-age=31536000" in https
    http = host.check_output(f"curl -sS -D - -o /dev/null {alb} -H 'X-Forwarded-Proto: http' http://127.0.0.1/health")
    assert "Strict-Transport-Security" not in http
    direct = host.check_output("curl -sS -D - -o /dev/null http://127.0.0.1/health")
    assert "Strict-Transport-Security" not in direct


def test_the_app_reaches_the_broker_over_tls_trusting_the_installed_ca(host):
    ca = host.file("/etc/gradestack/mq-ca.pem")
    assert (ca.user, ca.mode) == ("root", 0o644)
    assert ca.content_string.startswith("-----BEGIN CERTIFICATE-----")
    # /health/ready connects to the broker with the app's own settings (stomp+ssl, MQ_CA_BUNDLE).
    out = host.check_output("curl -sS -i http://127.0.0.1/health/ready")
    assert out.startswith("HTTP/1.1 200"), out
    assert json.loads(out.split("\r\n\r\n", 1)[1])["checks"] == {"database": "ok", "broker": "ok"}


def test_without_the_ca_the_broker_is_refused_for_its_certificate(host):
    # The same settings with the system trust store only: the handshake fails on the certificate.
    script = (
        "import os; from gradestack_protocol.broker import BrokerSettings, BrokerConnectError, connect\n"
        "env = dict(os.environ); env.pop('MQ_CA_BUNDLE')\n"
        "try:\n    connect(BrokerSettings.from_env(env), timeout=5)\nexcept BrokerConnectError as e:\n    print(e)\n"
    )
    host.check_output(f"cat > /tmp/no_ca_probe.py <<'EOF'\n{script}EOF")
    out = host.check_output(
        "set -a; . /etc/gradestack/web.env; set +a; /opt/gradestack/web/current/venv/bin/python /tmp/no_ca_probe.py"
    )
    assert "stomp+ssl://localhost:61614: SSLCertVerificationError: [SSL: CERTIFICATE_VERIFY_FAILED]" in out, out
