"""Alembic environment: migrates over the connection ``database.migrate`` passes in.

There is no ``alembic.ini`` and no URL here: the caller owns the engine and the transaction.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context

from aquarium.store import tables

connection = context.config.attributes.get("connection")
if not isinstance(connection, sa.Connection):
    raise RuntimeError("run migrations through aquarium.store.database.migrate(engine)")

context.configure(
    connection=connection,
    target_metadata=tables.metadata,
    # SQLite can't ALTER most things; batch mode recreates the table instead.
    render_as_batch=connection.dialect.name == "sqlite",
    transaction_per_migration=False,
)
with context.begin_transaction():
    context.run_migrations()
