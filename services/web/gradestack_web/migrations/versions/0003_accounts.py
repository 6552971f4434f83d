"""Accounts: users, API tokens, submission owners, hidden problems.

Expand-only, so the previous release keeps working against the migrated schema while a
rolling deploy replaces the web hosts one by one: new tables, a nullable new column
(old rows and the old release's inserts leave it NULL), and a NOT NULL column only with
a server default (the old release's inserts omit it and get ``false``; PostgreSQL 11+
adds such a column without rewriting the table). Nothing is renamed or dropped.

Revision 0003, after 0002 (the outbox NOTIFY trigger): 0002 is what the release before
accounts deployed, and a released revision id keeps its meaning. Numbered the other way
round, a database at that release's 0002 looked as if it had accounts, the upgrade skipped
them and failed re-creating the trigger (services/web/tests/test_rolling_schema.py).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(64), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("is_staff", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.UniqueConstraint("username", name="uq_users_username"),
    )
    # Case-insensitively unique: "Alice" and "alice" are one account name.
    op.create_index("uq_users_username_lower", "users", [sa.text("lower(username)")], unique=True)
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.BigInteger(), primary_key=True, autoincrement=True),
        sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
    op.create_index("ix_api_tokens_user_id", "api_tokens", ["user_id"])
    op.add_column("submissions", sa.Column("user_id", sa.BigInteger(), sa.ForeignKey("users.id"), nullable=True))
    op.create_index("ix_submissions_user_id", "submissions", ["user_id"])
    op.create_index("ix_submissions_problem_id", "submissions", ["problem_id"])
    op.add_column("problems", sa.Column("hidden", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    op.drop_column("problems", "hidden")
    op.drop_index("ix_submissions_problem_id", table_name="submissions")
    op.drop_index("ix_submissions_user_id", table_name="submissions")
    op.drop_column("submissions", "user_id")
    op.drop_index("ix_api_tokens_user_id", table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_index("uq_users_username_lower", table_name="users")
    op.drop_table("users")
