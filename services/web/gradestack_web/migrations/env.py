"""Alembic environment: runs online only, against the connection migrate.py hands over."""

from __future__ import annotations

from alembic import context
from gradestack_web.models import Base

connection = context.config.attributes["connection"]
context.configure(connection=connection, target_metadata=Base.metadata, transaction_per_migration=True)
with context.begin_transaction():
    context.run_migrations()
