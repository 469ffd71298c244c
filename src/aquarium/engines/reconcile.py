"""Bring a tenant's billing schema up to its catalogue without touching its data.

A data dir written by an earlier release lacks the tables of objects added since, the columns of
standard fields added since, and (after ``aquarium tenant add-field`` while no engine was open)
custom-field columns. :func:`statements` compares what the schema has (from
``information_schema``) with the tenant's storage catalogue (``catalog.views.storage_view``) and
gives the DDL that adds what is missing: ``CREATE TABLE IF NOT EXISTS`` (empty) and ``ALTER TABLE
... ADD COLUMN IF NOT EXISTS`` (null for existing rows). Nothing is ever dropped or rewritten
here: a column the catalogue no longer has stays until a custom field's removal drops it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from aquarium.catalog import model
from aquarium.engines import ddl, naming

#: Lists the tables and columns of one schema (bind: the schema name), on both engines.
COLUMNS_SQL = (
    "SELECT table_name, column_name FROM information_schema.columns WHERE table_schema = {}"
)


def existing(rows: Iterable[tuple[object, object]]) -> dict[str, set[str]]:
    """``table -> columns`` from ``(table_name, column_name)`` rows of ``information_schema``."""
    found: dict[str, set[str]] = {}
    for table, column in rows:
        found.setdefault(str(table), set()).add(str(column))
    return found


def statements(
    tenant: str,
    catalog: model.Catalog,
    have: Mapping[str, set[str]],
    dialect: ddl.Dialect,
) -> list[str]:
    """The DDL that gives the schema every table and column of ``catalog`` (none when it has
    them all). New tables get no primary key on DuckDB, as the bulk loader makes them."""
    found: list[str] = []
    for obj in catalog:
        columns = have.get(obj.name)
        if columns is None:
            key = dialect == "postgres"
            found.append(ddl.create_missing_table(tenant, obj, dialect, primary_key=key))
            continue
        for field in obj.fields:
            if field.name not in columns:
                found.append(ddl.add_column(tenant, obj.name, field, dialect))
        if naming.DELETED_COLUMN not in columns:
            deleted = model.Field(naming.DELETED_COLUMN, "", model.FieldType.DATETIME)
            found.append(ddl.add_column(tenant, obj.name, deleted, dialect))
    return found
