"""The first metadata schema: jobs, batches, files and idempotency keys.

Revision ID: 0001
Revises:
Create Date: 2026-05-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision: str | None = None
branch_labels: str | None = None
depends_on: str | None = None

ID = 32
TENANT = 40
SHA256 = 64
NAME = 255


def _timestamp(name: str, *, nullable: bool = True) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "jobs",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("tenant", sa.String(TENANT), nullable=False),
        sa.Column("name", sa.String(NAME), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("version", sa.String(8), nullable=False),
        sa.Column("format", sa.String(8), nullable=False),
        sa.Column("encrypted", sa.String(16), nullable=True),
        sa.Column("partner", sa.String(NAME), nullable=True),
        sa.Column("project", sa.String(NAME), nullable=True),
        sa.Column("notify_url", sa.Text(), nullable=True),
        sa.Column("incremental_time_ms", sa.BigInteger(), nullable=True),
        sa.Column("offset_seconds", sa.Integer(), nullable=True),
        sa.Column("null_replacement", sa.String(NAME), nullable=True),
        sa.Column("use_query_labels", sa.Boolean(), nullable=False),
        sa.Column("date_time_utc", sa.Boolean(), nullable=False),
        sa.Column("source_data", sa.String(32), nullable=True),
        sa.Column("use_last_completed_job_queries", sa.Boolean(), nullable=False),
        sa.Column("stateful", sa.Boolean(), nullable=False),
        sa.Column("created_by", sa.String(NAME), nullable=True),
        _timestamp("created_at", nullable=False),
        _timestamp("started_at"),
        _timestamp("finished_at"),
        sa.Column("attempt", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("worker", sa.String(NAME), nullable=True),
        _timestamp("heartbeat_at"),
        sa.Column("idempotency_key", sa.String(255), nullable=True),
        sa.Column("request_sha256", sa.String(SHA256), nullable=True),
        sa.Column("error_code", sa.String(16), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
    )
    op.create_index("ix_jobs_tenant_status", "jobs", ["tenant", "status"])
    op.create_index("ix_jobs_status_created_at", "jobs", ["status", "created_at"])

    op.create_table(
        "batches",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column(
            "job_id",
            sa.String(ID),
            sa.ForeignKey("jobs.id", ondelete="CASCADE", name="fk_batches_job_id_jobs"),
            nullable=False,
        ),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(NAME), nullable=False),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("batch_type", sa.String(32), nullable=False),
        sa.Column("api_version", sa.String(16), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("full", sa.Boolean(), nullable=False),
        sa.Column("deleted_json", sa.Text(), nullable=True),
        sa.Column("record_count", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("rows_written", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("bytes_written", sa.BigInteger(), nullable=False, server_default=sa.text("0")),
        sa.Column("message", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.Column("file_id", sa.String(ID), nullable=True),
        sa.Column("sha256", sa.String(SHA256), nullable=True),
        _timestamp("started_at"),
        _timestamp("finished_at"),
    )
    op.create_index("ix_batches_job_id", "batches", ["job_id"])

    op.create_table(
        "files",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("tenant", sa.String(TENANT), nullable=False),
        sa.Column("job_id", sa.String(ID), nullable=False),
        sa.Column("batch_id", sa.String(ID), nullable=True),
        sa.Column("path", sa.Text(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(SHA256), nullable=False),
        sa.Column("content_type", sa.String(100), nullable=False),
        sa.Column("record_count", sa.BigInteger(), nullable=False),
        _timestamp("created_at", nullable=False),
        _timestamp("expires_at", nullable=False),
        _timestamp("deleted_at"),
    )
    op.create_index("ix_files_expires_at", "files", ["expires_at"])
    op.create_index("ix_files_job_id", "files", ["job_id"])

    op.create_table(
        "idempotency_keys",
        sa.Column("tenant", sa.String(TENANT), primary_key=True),
        sa.Column("key", sa.String(255), primary_key=True),
        sa.Column("request_sha256", sa.String(SHA256), nullable=False),
        sa.Column("job_id", sa.String(ID), nullable=False),
        _timestamp("created_at", nullable=False),
    )


def downgrade() -> None:
    op.drop_table("idempotency_keys")
    op.drop_index("ix_files_job_id", table_name="files")
    op.drop_index("ix_files_expires_at", table_name="files")
    op.drop_table("files")
    op.drop_index("ix_batches_job_id", table_name="batches")
    op.drop_table("batches")
    op.drop_index("ix_jobs_status_created_at", table_name="jobs")
    op.drop_index("ix_jobs_tenant_status", table_name="jobs")
    op.drop_table("jobs")
