"""Outbox rows wake the publisher: a trigger NOTIFYs gradestack_outbox on every insert.

PostgreSQL delivers a notification only when the inserting transaction commits, so the
publisher (gradestack_web.outbox.OutboxWakeup) never looks for a row before it is visible.
Expand-only: a release that does not LISTEN ignores the notifications.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.execute(
        """
        CREATE FUNCTION gradestack_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM pg_notify('gradestack_outbox', '');
            RETURN NULL;
        END;
        $$
        """
    )
    # One notification per statement (and PostgreSQL folds identical ones of a transaction).
    op.execute(
        "CREATE TRIGGER outbox_notify AFTER INSERT ON outbox "
        "FOR EACH STATEMENT EXECUTE FUNCTION gradestack_outbox_notify()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER IF EXISTS outbox_notify ON outbox")
    op.execute("DROP FUNCTION IF EXISTS gradestack_outbox_notify()")
