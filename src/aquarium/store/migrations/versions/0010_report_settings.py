"""The Reporting API's tenant settings: ``report_settings`` (Get/Update Tenant Settings).

One row per tenant that has set them; no rows to fill, since no release before this one kept
them.

Revision ID: 0010
Revises: 0009
Create Date: 2027-02-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision: str | None = "0009"
branch_labels: str | None = None
depends_on: str | None = None

TENANT = 40
NAME = 255


def upgrade() -> None:
    op.create_table(
        "report_settings",
        sa.Column(
            "tenant",
            sa.String(TENANT),
            sa.ForeignKey(
                "tenants.name", ondelete="CASCADE", name="fk_report_settings_tenant_tenants"
            ),
            primary_key=True,
        ),
        sa.Column("email_domains", sa.Text(), nullable=False, server_default=sa.text("'[]'")),
        sa.Column("updated_by", sa.String(NAME), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("report_settings")
