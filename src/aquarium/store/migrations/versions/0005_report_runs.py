"""Reporting API report runs.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision: str | None = "0004"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "report_runs",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant", sa.String(40), nullable=False),
        sa.Column("report_id", sa.String(32), nullable=False),
        sa.Column("report_name", sa.String(255), nullable=False),
        sa.Column("ds_name", sa.String(255), nullable=False),
        sa.Column("view_type", sa.String(16), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("filters_json", sa.Text(), nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("attempt", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("worker", sa.String(255), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.Column("row_count", sa.BigInteger(), nullable=True),
        sa.Column("data_file_id", sa.String(32), nullable=True),
        sa.Column("export_file_id", sa.String(32), nullable=True),
        sa.Column("pivoted_file_id", sa.String(32), nullable=True),
    )
    op.create_index("ix_report_runs_tenant_status", "report_runs", ["tenant", "status"])
    op.create_index("ix_report_runs_status_created_at", "report_runs", ["status", "created_at"])
    op.create_index("ix_report_runs_tenant_report_id", "report_runs", ["tenant", "report_id"])


def downgrade() -> None:
    op.drop_index("ix_report_runs_tenant_report_id", table_name="report_runs")
    op.drop_index("ix_report_runs_status_created_at", table_name="report_runs")
    op.drop_index("ix_report_runs_tenant_status", table_name="report_runs")
    op.drop_table("report_runs")
