"""roles/postgresql: the server runs, listens on the network, and the application user logs in over TLS."""

PASSWORD = "molecule-db-secret-1"  # noqa: S105  (throwaway secret of the test container, see converge.yml)


def _address(host) -> str:
    return host.check_output("hostname -I").split()[0]


def _psql(host, password: str, sql: str, address: str):
    conninfo = f"host={address} port=5432 dbname=gradestack user=gradestack sslmode=require connect_timeout=5"
    return host.run(f"PGPASSWORD={password} psql '{conninfo}' -tAc \"{sql}\"")


def test_cluster_is_running_and_enabled(host):
    service = host.service("postgresql@15-main")
    assert service.is_running
    assert service.is_enabled


def test_listens_on_every_interface(host):
    assert host.socket("tcp://0.0.0.0:5432").is_listening


def test_settings_rendered(host):
    conf = host.file("/etc/postgresql/15/main/conf.d/gradestack.conf")
    assert conf.user == "postgres"
    assert "listen_addresses = '*'" in conf.content_string
    assert "password_encryption = scram-sha-256" in conf.content_string
    hba = host.file("/etc/postgresql/15/main/pg_hba.conf")
    assert hba.mode == 0o640
    assert "gradestack gradestack" in hba.content_string


def test_app_user_logs_in_over_the_network_with_tls(host):
    result = _psql(host, PASSWORD, "select ssl from pg_stat_ssl where pid = pg_backend_pid()", _address(host))
    assert result.rc == 0, result.stderr
    assert result.stdout.strip() == "t"


def test_app_user_owns_its_database(host):
    result = _psql(host, PASSWORD, "create table molecule_probe (id int); drop table molecule_probe;", _address(host))
    assert result.rc == 0, result.stderr


def test_wrong_password_is_rejected(host):
    result = _psql(host, "not-the-password", "select 1", _address(host))
    assert result.rc != 0
    assert "password authentication failed" in result.stderr
