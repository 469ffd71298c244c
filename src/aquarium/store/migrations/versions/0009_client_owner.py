"""Every OAuth client acts as a user of its tenant: ``tenant_clients.owner``.

A client that existed before gets its tenant's first admin user (the first created), or, in a
tenant without admins, its first user: the same default ``domain.tenancy.default_client_user``
gives a client imported from an older ``tenants.json``. In Zuora a client is made by a user and
acts as that user; Aquarium's clients were made by administrators with ``aquarium client add``,
so the first admin is the nearest owner. A client of a tenant with no users at all is left
without an owner: its tokens are refused until ``aquarium client set-user`` gives it one.

Removing the owner (``ON DELETE SET NULL``) leaves the client without one, with the same effect.
SQLite cannot add a foreign key to a table in place, so there the table is rebuilt (Alembic's
batch mode, with the rows kept).

Revision ID: 0009
Revises: 0008
Create Date: 2027-02-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision: str | None = "0008"
branch_labels: str | None = None
depends_on: str | None = None

NAME = 255
FOREIGN_KEY = "fk_tenant_clients_owner_tenant_users"
INDEX = "ix_tenant_clients_owner"
# The tenant's admins first, then in order of creation (booleans sort true last ascending on
# both databases, so descending puts admins first).
DEFAULT_OWNER = (
    "UPDATE tenant_clients SET owner = (SELECT u.name FROM tenant_users u "
    "WHERE u.tenant = tenant_clients.tenant ORDER BY u.admin DESC, u.position, u.name LIMIT 1)"
)


def upgrade() -> None:
    with op.batch_alter_table("tenant_clients") as batch:
        batch.add_column(sa.Column("owner", sa.String(NAME), nullable=True))
        batch.create_foreign_key(
            FOREIGN_KEY, "tenant_users", ["owner"], ["name"], ondelete="SET NULL"
        )
        batch.create_index(INDEX, ["owner"])
    op.execute(DEFAULT_OWNER)


def downgrade() -> None:
    with op.batch_alter_table("tenant_clients") as batch:
        batch.drop_index(INDEX)
        batch.drop_constraint(FOREIGN_KEY, type_="foreignkey")
        batch.drop_column("owner")
