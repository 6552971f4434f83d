"""Submissions keep their trace: stage -> epoch seconds on the way through the pipeline.

The results consumer stores the done result's ``trace`` (gradestack_protocol.trace) and
the JSON API shows it to the submission's owner and staff as per-stage ``timing``.
Expand-only: a nullable column without a default, so PostgreSQL adds it without
rewriting the table; the previous release neither reads nor writes it, and its rows
(and every submission graded before tracing) keep NULL.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("submissions", sa.Column("trace", JSONB(), nullable=True))


def downgrade() -> None:
    op.drop_column("submissions", "trace")
