"""Names of billing-data schemas and tables, shared by every engine."""

from __future__ import annotations

import re

from aquarium.domain import errors

TENANT_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
SCHEMA_PREFIX = "tenant_"
DUCKDB_FILE = "billing.duckdb"
#: The hidden column of every billing table: when the row was deleted (null: live). Not in the
#: catalogue, so no query can name it.
DELETED_COLUMN = "_DeletedDate"


def check_tenant_name(tenant: str) -> str:
    """``tenant`` when it is a valid tenant name (lowercase letters, digits, ``_``; <= 40 chars)."""
    if TENANT_NAME.fullmatch(tenant) is None:
        raise errors.DataGenerationError(
            f"tenant name {tenant!r} must be 1-40 lowercase letters, digits or '_', "
            "starting with a letter"
        )
    return tenant


def schema_name(tenant: str) -> str:
    """The schema holding one tenant's billing tables (one table per catalogue object)."""
    return SCHEMA_PREFIX + check_tenant_name(tenant)
