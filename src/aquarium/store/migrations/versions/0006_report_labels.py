"""Reporting API report labels (folders).

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-08
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision: str | None = "0005"
branch_labels: str | None = None
depends_on: str | None = None


def upgrade() -> None:
    op.create_table(
        "report_labels",
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("tenant", sa.String(40), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column(
            "parent_id",
            sa.String(32),
            sa.ForeignKey("report_labels.id", name="fk_report_labels_parent_id_report_labels"),
            nullable=True,
        ),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(255), nullable=False),
        sa.Column("updated_by", sa.String(255), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("order", sa.Integer(), nullable=False),
    )
    op.create_index("ix_report_labels_tenant_parent_id", "report_labels", ["tenant", "parent_id"])


def downgrade() -> None:
    op.drop_index("ix_report_labels_tenant_parent_id", table_name="report_labels")
    op.drop_table("report_labels")
