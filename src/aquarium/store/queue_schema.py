"""The job queue's tables (Procrastinate's schema) in the scale-out PostgreSQL database.

Applied once, by whichever process of a deployment starts first, under the lock the metadata
migrations take (``database.PG_MIGRATION_LOCK``), so nodes starting together never apply it
twice. The schema comes from the installed Procrastinate, pinned to one minor version in
``pyproject.toml``: a later version that changes the schema comes with a migration here.
"""

from __future__ import annotations

import sqlalchemy as sa
from procrastinate import schema

from aquarium.store import database

QUEUE_TABLE = "procrastinate_jobs"


def ensure(metadata: sa.Engine) -> bool:
    """Create the queue's tables when the database has none; whether it did."""
    with metadata.begin() as conn:
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(database.PG_MIGRATION_LOCK)))
        if conn.execute(sa.select(sa.func.to_regclass(QUEUE_TABLE))).scalar() is not None:
            return False
        driver = conn.connection.driver_connection
        assert driver is not None
        # Several statements (functions, triggers): psycopg runs them as one simple query.
        driver.execute(schema.SchemaManager.get_schema())
        return True
