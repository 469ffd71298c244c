"""Data Query jobs: ``dataquery_jobs``, the particulars of a run of kind ``dataquery``.

No rows to fill: no release before this one ran Data Query jobs.

Revision ID: 0012
Revises: 0011
Create Date: 2027-04-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision: str | None = "0011"
branch_labels: str | None = None
depends_on: str | None = None

ID = 32


def upgrade() -> None:
    op.create_table(
        "dataquery_jobs",
        sa.Column(
            "run_id",
            sa.String(ID),
            sa.ForeignKey("runs.id", ondelete="CASCADE", name="fk_dataquery_jobs_run_id_runs"),
            primary_key=True,
        ),
        sa.Column("query", sa.Text(), nullable=False),
        sa.Column("output_format", sa.String(8), nullable=False),
        sa.Column("compression", sa.String(8), nullable=False),
        sa.Column("column_separator", sa.String(8), nullable=True),
        sa.Column("encryption_key", sa.Text(), nullable=True),
        sa.Column("read_deleted", sa.Boolean(), nullable=False),
        sa.Column("source_data", sa.String(16), nullable=False),
        sa.Column("use_index_join", sa.Boolean(), nullable=False),
        sa.Column("warehouse_size", sa.String(16), nullable=True),
        sa.Column("row_count", sa.BigInteger(), nullable=True),
        sa.Column("file_id", sa.String(ID), nullable=True),
        sa.Column("processing_ms", sa.BigInteger(), nullable=True),
        sa.Column("error_code", sa.String(40), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("dataquery_jobs")
