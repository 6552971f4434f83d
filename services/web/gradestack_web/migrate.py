"""Schema migrations: `gradestack-web migrate` upgrades to the newest Alembic revision.

Safe to run twice and from several hosts at once: Alembic skips applied revisions, and a
PostgreSQL advisory lock makes concurrent runs (two web hosts converging together) queue
instead of racing to create the same tables.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Engine, text

MIGRATIONS = Path(__file__).resolve().parent / "migrations"
# Arbitrary but fixed: "gradestk" as a 64-bit number, so no other tool's lock collides.
_LOCK_ID = int.from_bytes(b"gradestk", "big") & 0x7FFFFFFFFFFFFFFF


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(_config()).get_current_head() or ""


def upgrade(engine: Engine) -> tuple[str, str]:
    """Upgrade to head; return (revision before, revision after)."""
    config = _config()
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_advisory_lock(:id)"), {"id": _LOCK_ID})
        connection.commit()
        try:
            before = MigrationContext.configure(connection).get_current_revision() or ""
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            connection.commit()
            after = MigrationContext.configure(connection).get_current_revision() or ""
        finally:
            # A failed migration leaves its transaction aborted; without the rollback the
            # unlock would fail too and hide the migration's own error.
            connection.rollback()
            connection.execute(text("SELECT pg_advisory_unlock(:id)"), {"id": _LOCK_ID})
            connection.commit()
    return before, after
