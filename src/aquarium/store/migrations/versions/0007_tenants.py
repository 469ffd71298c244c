"""Tenants, users, OAuth clients, partners and the tenants generation in the metadata database.

They were in ``DATA_DIR/tenants.json``; ``store/tenants_file.py`` imports such a file once.

Revision ID: 0007
Revises: 0006
Create Date: 2027-01-12
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision: str | None = "0006"
branch_labels: str | None = None
depends_on: str | None = None

TENANT = 40
NAME = 255
SHA256 = 64
TIME_ZONE = 64


def _tenant(table: str, *, primary_key: bool = False) -> sa.Column[str]:
    return sa.Column(
        "tenant",
        sa.String(TENANT),
        sa.ForeignKey("tenants.name", ondelete="CASCADE", name=f"fk_{table}_tenant_tenants"),
        nullable=False,
        primary_key=primary_key,
    )


def _timestamp(name: str, *, now_by_default: bool = False) -> sa.Column[object]:
    default = sa.func.now() if now_by_default else None
    return sa.Column(name, sa.DateTime(timezone=True), nullable=False, server_default=default)


def upgrade() -> None:
    op.create_table(
        "tenants",
        sa.Column("name", sa.String(TENANT), primary_key=True),
        sa.Column(
            "time_zone",
            sa.String(TIME_ZONE),
            nullable=False,
            server_default=sa.text("'America/Los_Angeles'"),
        ),
        sa.Column("limits", sa.Text(), nullable=False, server_default=sa.text("'{}'")),
        sa.Column("file_segmentation", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("pgp_public_key", sa.Text(), nullable=True),
        _timestamp("created_at", now_by_default=True),
        _timestamp("updated_at", now_by_default=True),
    )
    op.create_table(
        "tenant_users",
        sa.Column("name", sa.String(NAME), primary_key=True),
        _tenant("tenant_users"),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("admin", sa.Boolean(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        _timestamp("created_at"),
    )
    op.create_index("ix_tenant_users_tenant", "tenant_users", ["tenant"])
    op.create_table(
        "tenant_clients",
        sa.Column("client_id", sa.String(NAME), primary_key=True),
        _tenant("tenant_clients"),
        sa.Column("secret_hash", sa.Text(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        _timestamp("created_at"),
    )
    op.create_index("ix_tenant_clients_tenant", "tenant_clients", ["tenant"])
    op.create_table(
        "tenant_partners",
        _tenant("tenant_partners", primary_key=True),
        sa.Column("partner", sa.String(NAME), primary_key=True),
        sa.Column("position", sa.Integer(), nullable=False),
    )
    op.create_table(
        "tenants_generation",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("generation", sa.BigInteger(), nullable=False),
        _timestamp("changed_at"),
    )
    op.create_table(
        "tenant_imports",
        sa.Column("sha256", sa.String(SHA256), primary_key=True),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("tenants", sa.Integer(), nullable=False),
        _timestamp("imported_at"),
    )


def downgrade() -> None:
    op.drop_table("tenant_imports")
    op.drop_table("tenants_generation")
    op.drop_table("tenant_partners")
    op.drop_index("ix_tenant_clients_tenant", table_name="tenant_clients")
    op.drop_table("tenant_clients")
    op.drop_index("ix_tenant_users_tenant", table_name="tenant_users")
    op.drop_table("tenant_users")
    op.drop_table("tenants")
