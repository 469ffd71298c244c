"""Each tenant's custom fields (``tenant_custom_fields``) and its Invoice Settlement switch
(``tenants.invoice_settlement``).

Tenants that existed before get Invoice Settlement on, as new tenants and the demo tenant do:
every object of both families is then there for them (the legacy objects read-only), which is
what a Zuora tenant made since 2021 has. No custom fields existed before this release.

Revision ID: 0011
Revises: 0010
Create Date: 2027-03-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision: str | None = "0010"
branch_labels: str | None = None
depends_on: str | None = None

TENANT = 40
NAME = 255


def upgrade() -> None:
    with op.batch_alter_table("tenants") as batch:
        batch.add_column(
            sa.Column("invoice_settlement", sa.Boolean(), nullable=False, server_default=sa.true())
        )
    op.create_table(
        "tenant_custom_fields",
        sa.Column(
            "tenant",
            sa.String(TENANT),
            sa.ForeignKey(
                "tenants.name", ondelete="CASCADE", name="fk_tenant_custom_fields_tenant_tenants"
            ),
            primary_key=True,
        ),
        sa.Column("object", sa.String(NAME), primary_key=True),
        sa.Column("name_key", sa.String(NAME), primary_key=True),
        sa.Column("name", sa.String(NAME), nullable=False),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("label", sa.Text(), nullable=False),
        sa.Column("picklist", sa.Text(), nullable=False, server_default=sa.text("'[]'")),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("tenant_custom_fields")
    with op.batch_alter_table("tenants") as batch:
        batch.drop_column("invoice_settlement")
