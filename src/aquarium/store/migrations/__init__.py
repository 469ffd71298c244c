"""Alembic migrations of the metadata store; run them with ``aquarium.store.database.migrate``."""
