"""pytest fixtures: a real PostgreSQL 15 (Debian's binaries) in a temporary data directory.

The server listens on a free 127.0.0.1 port and keeps its unix socket inside its data
directory, so it never touches a system cluster or another engineer's test server.
PostgreSQL refuses to run as root: when the tests run as root, initdb and postgres run as
the ``postgres`` system user (subprocess's ``user=``/``group=``, so signals reach postgres
itself with no runuser in between), and the data directory is handed to that user.

Fixtures:
- ``postgres_server`` (session): the running server; ``.url()``, ``.env()`` (the
  DATABASE_* variables the web app reads), ``.create_database(name)``.
- ``postgres_database`` (module): a fresh, empty database for one test module.

The server also accepts TLS (``ssl=on``) with a throwaway CA and a server certificate for
127.0.0.1/localhost, so clients can test ``sslmode=require`` and ``verify-full`` the way
they talk to RDS; ``.ca_cert`` is the CA to trust. Plain connections keep working.
"""

from __future__ import annotations

import os
import pwd
import re
import secrets
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

import psycopg
import pytest

from testsupport.ports import free_port, wait_for_port

PG_BIN_CANDIDATES = [os.environ.get("GRADESTACK_PG_BIN", ""), "/usr/lib/postgresql/15/bin"]
START_TIMEOUT_S = float(os.environ.get("GRADESTACK_PG_START_TIMEOUT_S", "180"))
_DBNAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


def find_pg_bin() -> Path:
    for candidate in PG_BIN_CANDIDATES:
        if candidate and (Path(candidate) / "initdb").is_file():
            return Path(candidate)
    raise RuntimeError(
        "PostgreSQL 15 server binaries not found (looked in "
        f"{', '.join(c for c in PG_BIN_CANDIDATES if c)}). Install them with `apt-get install postgresql` "
        "(scripts/setup.sh does) or point GRADESTACK_PG_BIN at a directory holding initdb and postgres."
    )


@dataclass
class PostgresServer:
    host: str
    port: int
    user: str
    password: str = field(repr=False)
    dbname: str
    data_dir: Path
    ca_cert: Path | None = None
    process: subprocess.Popen | None = field(default=None, repr=False)

    def url(self, driver: str = "postgresql+psycopg") -> str:
        return f"{driver}://{self.user}:{self.password}@{self.host}:{self.port}/{self.dbname}"

    def env(self) -> dict[str, str]:
        """The DATABASE_* variables of services/web (see its README)."""
        return {
            "DATABASE_HOST": self.host,
            "DATABASE_PORT": str(self.port),
            "DATABASE_NAME": self.dbname,
            "DATABASE_USER": self.user,
            "DATABASE_PASSWORD": self.password,
            "DATABASE_SSLMODE": "disable",
        }

    def connect(self, dbname: str | None = None, autocommit: bool = True):
        return psycopg.connect(
            host=self.host,
            port=self.port,
            user=self.user,
            password=self.password,
            dbname=dbname or self.dbname,
            autocommit=autocommit,
            connect_timeout=10,
        )

    def create_database(self, name: str) -> PostgresServer:
        """Create an empty database and return a view of this server pointing at it."""
        if not _DBNAME.match(name):
            raise ValueError(f"database name {name!r} must match {_DBNAME.pattern}")
        with self.connect("postgres") as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{name}"')
        return replace(self, dbname=name, process=None)

    def drop_database(self, name: str) -> None:
        with self.connect("postgres") as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _make_certificates(directory: Path, owner: str | None) -> Path:
    """A CA and a server certificate (SAN 127.0.0.1, localhost) signed by it; returns the CA path."""

    def openssl(*args: str) -> None:
        done = subprocess.run(["openssl", *args], capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"openssl {args[0]} failed: {done.stderr}")

    ca_key, ca_cert = directory / "ca.key", directory / "ca.crt"
    key, csr, cert = directory / "server.key", directory / "server.csr", directory / "server.crt"
    ext = directory / "san.ext"
    ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes")
    openssl(
        "req",
        "-x509",
        *ec,
        "-keyout",
        str(ca_key),
        "-out",
        str(ca_cert),
        "-days",
        "2",
        "-subj",
        "/CN=gradestack test CA",
    )
    openssl("req", *ec, "-keyout", str(key), "-out", str(csr), "-subj", "/CN=127.0.0.1")
    openssl(
        "x509",
        "-req",
        "-in",
        str(csr),
        "-CA",
        str(ca_cert),
        "-CAkey",
        str(ca_key),
        "-CAcreateserial",
        "-out",
        str(cert),
        "-days",
        "2",
        "-extfile",
        str(ext),
    )
    if owner:
        entry = pwd.getpwnam(owner)
        for path in (key, cert):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    key.chmod(0o600)  # postgres refuses a key others can read
    return ca_cert


def _owner_kwargs(owner: str | None, cwd: Path) -> dict:
    """subprocess arguments that run a program as ``owner`` (None: as ourselves)."""
    if not owner:
        return {"cwd": cwd}
    entry = pwd.getpwnam(owner)
    env = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": entry.pw_dir, "USER": owner}
    return {"cwd": cwd, "user": entry.pw_uid, "group": entry.pw_gid, "extra_groups": [], "env": env}


def start_postgres(log_dir: Path) -> PostgresServer:
    """initdb a throwaway cluster and start postgres on a free port; the caller stops it."""
    pg_bin = find_pg_bin()
    owner = "postgres" if os.geteuid() == 0 else None
    # tmp_path_factory's directories are private to root, so the cluster lives in its own
    # temp dir that the postgres user owns.
    data_root = Path(tempfile.mkdtemp(prefix="gradestack-pg-"))
    data_dir = data_root / "data"
    pwfile = data_root / "pwfile"
    password = secrets.token_hex(16)
    pwfile.write_text(password + "\n")
    if owner:
        entry = pwd.getpwnam(owner)
        for path in (data_root, pwfile):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    pwfile.chmod(0o600)

    user = "gradestack"
    log_path = log_dir / "postgres.log"
    initdb = subprocess.run(
        [
            str(pg_bin / "initdb"),
            "-D",
            str(data_dir),
            "-U",
            user,
            f"--pwfile={pwfile}",
            "--auth-host=scram-sha-256",
            "--auth-local=peer",
            "-E",
            "UTF8",
            "--locale=C.UTF-8",
            "--no-sync",
        ],
        **_owner_kwargs(owner, data_root),
        capture_output=True,
        text=True,
        check=False,
    )
    if initdb.returncode != 0:
        raise RuntimeError(f"initdb failed ({initdb.returncode}):\n{initdb.stdout}\n{initdb.stderr}")
    pwfile.unlink()

    ca_cert = _make_certificates(data_root, owner)
    port = free_port()
    log = log_path.open("wb")
    process = subprocess.Popen(
        [
            str(pg_bin / "postgres"),
            "-D",
            str(data_dir),
            "-p",
            str(port),
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={data_root}",
            # A disposable test cluster: durability is not worth the disk syncs.
            "-c",
            "fsync=off",
            "-c",
            "synchronous_commit=off",
            "-c",
            "full_page_writes=off",
            "-c",
            "max_connections=200",
            "-c",
            "ssl=on",
            "-c",
            f"ssl_cert_file={data_root / 'server.crt'}",
            "-c",
            f"ssl_key_file={data_root / 'server.key'}",
        ],
        **_owner_kwargs(owner, data_root),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    server = PostgresServer("127.0.0.1", port, user, password, "postgres", data_dir, ca_cert, process)
    try:
        # Generous bounds, ended early by readiness (or by postgres exiting): under `make test`
        # three lanes share two cores and a first start (shared buffers, recovery) can be slow.
        deadline = time.monotonic() + START_TIMEOUT_S
        wait_for_port(port, timeout=START_TIMEOUT_S, process=process)
        _wait_until_accepting(server, deadline)
    except Exception as exc:
        stop_postgres(server)
        raise RuntimeError(f"postgres did not start ({exc}); log {log_path}:\n{log_path.read_text()[-3000:]}") from None
    return server


def _wait_until_accepting(server: PostgresServer, deadline: float) -> None:
    while True:
        try:
            with server.connect("postgres"):
                return
        except psycopg.OperationalError as exc:  # "the database system is starting up"
            if server.process is not None and server.process.poll() is not None:
                raise RuntimeError(f"postgres exited with code {server.process.returncode}") from None
            if time.monotonic() > deadline:
                raise TimeoutError(f"postgres took TCP but no session in {START_TIMEOUT_S:.0f} s: {exc}") from None
            time.sleep(0.2)


def stop_postgres(server: PostgresServer) -> None:
    process = server.process
    if process is not None and process.poll() is None:
        process.terminate()  # SIGTERM = postgres "smart" shutdown; sessions are closed by then
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    shutil.rmtree(server.data_dir.parent, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresServer]:
    server = start_postgres(tmp_path_factory.mktemp("postgres"))
    yield server
    stop_postgres(server)


@pytest.fixture(scope="module")
def postgres_database(postgres_server: PostgresServer, request: pytest.FixtureRequest) -> Iterator[PostgresServer]:
    """A fresh database named after the test module, dropped afterwards."""
    stem = re.sub(r"[^a-z0-9_]", "_", Path(str(request.node.path)).stem.lower())[:40]
    name = f"t_{stem}_{secrets.token_hex(3)}"
    database = postgres_server.create_database(name)
    yield database
    postgres_server.drop_database(name)
