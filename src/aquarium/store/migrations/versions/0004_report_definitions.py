"""Reporting API report definitions.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision: str | None = "0003"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "report_definitions",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant", sa.String(40), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("description", sa.Text(), nullable=False, server_default=sa.text("''")),
        sa.Column("ds_name", sa.String(255), nullable=False),
        sa.Column("namespace", sa.String(16), nullable=False),
        sa.Column("view_type", sa.String(16), nullable=False),
        sa.Column("definition", sa.Text(), nullable=False),
        sa.Column("label_ids", sa.Text(), nullable=False),
        sa.Column("prototype_id", sa.String(32), nullable=True),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("updated_by", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_report_definitions_tenant_name", "report_definitions", ["tenant", "name"])


def downgrade() -> None:
    op.drop_index("ix_report_definitions_tenant_name", table_name="report_definitions")
    op.drop_table("report_definitions")
