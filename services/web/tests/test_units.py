"""Pure-logic tests: configuration, client address behind proxies, statement rendering."""

from __future__ import annotations

import ipaddress

import pytest
from gradestack_web.cli import main
from gradestack_web.config import ConfigError, Settings
from gradestack_web.proxies import client_address
from gradestack_web.render import render_statement

PROD = {"GRADESTACK_ENV": "production", "SECRET_KEY": "k" * 40}


@pytest.mark.parametrize("secret", ["", "changeme", "CHANGEME", "secret", "short"])
def test_production_refuses_missing_or_placeholder_secret(secret):
    with pytest.raises(ConfigError, match="SECRET_KEY is missing, a placeholder or shorter than 16"):
        Settings.from_env({**PROD, "SECRET_KEY": secret})


@pytest.mark.parametrize("environment", ["local", "test", "debug", "production"])
def test_secret_key_is_required_everywhere(environment):
    """No derived fallback, local use included: a missing key is a clear error, not a weak key."""
    with pytest.raises(ConfigError, match="SECRET_KEY is missing, a placeholder or shorter than 16"):
        Settings.from_env({"GRADESTACK_ENV": environment, "DATABASE_PASSWORD": "hunter2-db-password"})
    with pytest.raises(ConfigError, match="SECRET_KEY is missing"):
        Settings.from_env({"GRADESTACK_ENV": environment, "FLASK_DEBUG": "true"})


def test_repr_hides_secrets():
    settings = Settings.from_env({**PROD, "DATABASE_PASSWORD": "hunter2-db-password"})
    assert settings.secret_key == PROD["SECRET_KEY"]
    text = repr(settings)
    assert "hunter2" not in text
    assert settings.secret_key not in text


def test_database_url_and_sslmode():
    settings = Settings.from_env(
        {
            **PROD,
            "DATABASE_HOST": "db.example.internal",
            "DATABASE_PORT": "5433",
            "DATABASE_NAME": "judge",
            "DATABASE_USER": "app",
            "DATABASE_PASSWORD": "p@ss:word/",
            "DATABASE_SSLMODE": "verify-full",
            "DATABASE_SSLROOTCERT": "/etc/ssl/rds-global-bundle.pem",
        }
    )
    url = settings.database.url()
    assert (url.host, url.port, url.database, url.username, url.password) == (
        "db.example.internal",
        5433,
        "judge",
        "app",
        "p@ss:word/",
    )
    assert url.query["sslmode"] == "verify-full"
    assert url.query["sslrootcert"] == "/etc/ssl/rds-global-bundle.pem"
    assert "p@ss" not in repr(url)
    with pytest.raises(ConfigError, match="DATABASE_SSLMODE must be one of"):
        Settings.from_env({**PROD, "DATABASE_SSLMODE": "yes"})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"DATABASE_PORT": "http"}, "DATABASE_PORT must be an integer"),
        ({"MAX_SOURCE_BYTES": "1000000"}, "MAX_SOURCE_BYTES must be between 1 and 65536"),
        ({"ALLOWED_LANGUAGES": "c,java"}, "ALLOWED_LANGUAGES must be a non-empty subset"),
        ({"TRUSTED_PROXIES": "10.0.0.0/33"}, "TRUSTED_PROXIES: '10.0.0.0/33' is not an IP address"),
        ({"TRUSTED_PROXIES": "10.0.0.0/16", "TRUSTED_PROXY_COUNT": "1"}, "not both"),
        ({"RATE_LIMIT_ENABLED": "maybe"}, "RATE_LIMIT_ENABLED must be true or false"),
        ({"HSTS_MAX_AGE": "-1"}, "HSTS_MAX_AGE must be between 0 and 63072000"),
        ({"HSTS_MAX_AGE": "1y"}, "HSTS_MAX_AGE must be an integer"),
        ({"ARTIFACT_DELIVERY": "proxy"}, "ARTIFACT_DELIVERY must be one of redirect, stream"),
        ({"LOGIN_RATE_LIMIT_ATTEMPTS": "0"}, "LOGIN_RATE_LIMIT_ATTEMPTS must be >= 1"),
    ],
)
def test_bad_settings_name_the_variable(env, message):
    with pytest.raises(ConfigError, match=message):
        Settings.from_env({**PROD, **env})


def test_cli_reports_config_errors_clearly(monkeypatch, capsys):
    monkeypatch.setenv("GRADESTACK_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    assert main(["migrate"]) == 2
    assert "SECRET_KEY is missing" in capsys.readouterr().err


NETS = (ipaddress.ip_network("10.0.0.0/16"), ipaddress.ip_network("127.0.0.1/32"))


@pytest.mark.parametrize(
    ("remote", "xff", "trusted", "count", "expected"),
    [
        ("203.0.113.5", "1.2.3.4", (), 0, ("203.0.113.5", False)),  # nothing trusted: header ignored
        ("203.0.113.5", "1.2.3.4", NETS, 0, ("203.0.113.5", False)),  # peer is not a trusted proxy
        ("127.0.0.1", "1.2.3.4, 10.0.1.7", NETS, 0, ("1.2.3.4", True)),  # nginx <- ALB <- client
        ("127.0.0.1", "6.6.6.6, 1.2.3.4, 10.0.1.7", NETS, 0, ("1.2.3.4", True)),  # spoofed left entries ignored
        ("127.0.0.1", "10.0.3.3", NETS, 0, ("10.0.3.3", True)),  # every hop trusted: left-most
        ("127.0.0.1", "not-an-ip", NETS, 0, ("127.0.0.1", True)),
        ("", "1.2.3.4, 10.0.1.7", NETS, 0, ("1.2.3.4", True)),  # unix socket peer: nginx on this host
        ("127.0.0.1", "6.6.6.6, 1.2.3.4, 10.0.1.7", (), 2, ("1.2.3.4", True)),  # count semantics
        ("127.0.0.1", "1.2.3.4", (), 2, ("127.0.0.1", False)),  # fewer hops than proxies
    ],
)
def test_client_address(remote, xff, trusted, count, expected):
    assert client_address(remote, xff, trusted, count) == expected


def test_statement_rendering_escapes_everything():
    html = str(render_statement("# Title <b>\n\nText with `<code>` and **bold** <script>x</script>\n\n```\n<a>\n```"))
    assert "<h2>Title &lt;b&gt;</h2>" in html
    assert "<code>&lt;code&gt;</code>" in html
    assert "<strong>bold</strong> &lt;script&gt;x&lt;/script&gt;" in html
    assert "<pre><code>&lt;a&gt;</code></pre>" in html
    assert "<script>" not in html
