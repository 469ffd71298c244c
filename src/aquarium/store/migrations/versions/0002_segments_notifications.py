"""Segmented batches and notifyUrl deliveries: ``batches.segments_json``, ``notifications``,
``notification_attempts``.

Revision ID: 0002
Revises: 0001
Create Date: 2026-05-20
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision: str | None = "0001"
branch_labels: str | None = None
depends_on: str | None = None

ID = 32
TENANT = 40


def _timestamp(name: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.add_column("batches", sa.Column("segments_json", sa.Text(), nullable=True))

    op.create_table(
        "notifications",
        sa.Column(
            "job_id",
            sa.String(ID),
            sa.ForeignKey("jobs.id", ondelete="CASCADE", name="fk_notifications_job_id_jobs"),
            primary_key=True,
        ),
        sa.Column("tenant", sa.String(TENANT), nullable=False),
        sa.Column("job_status", sa.String(20), nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default=sa.text("0")),
        _timestamp("next_attempt_at"),
        _timestamp("created_at", nullable=False),
        _timestamp("finished_at"),
    )
    op.create_index(
        "ix_notifications_state_next_attempt_at", "notifications", ["state", "next_attempt_at"]
    )

    op.create_table(
        "notification_attempts",
        sa.Column(
            "job_id",
            sa.String(ID),
            sa.ForeignKey(
                "notifications.job_id",
                ondelete="CASCADE",
                name="fk_notification_attempts_job_id_notifications",
            ),
            primary_key=True,
        ),
        sa.Column("attempt", sa.Integer(), primary_key=True),
        _timestamp("at", nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("notification_attempts")
    op.drop_index("ix_notifications_state_next_attempt_at", table_name="notifications")
    op.drop_table("notifications")
    # SQLite drops a column by rebuilding the table; batch mode does that (and is a plain
    # ALTER TABLE on PostgreSQL).
    with op.batch_alter_table("batches") as batch:
        batch.drop_column("segments_json")
