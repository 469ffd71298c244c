"""Named copies of a tenant's billing data in the embedded engine (test control's snapshots).

Copying a million rows in a DuckDB file takes seconds (the rows are written and checkpointed
again), and DuckDB can neither rename a schema nor move a table to another one; but renaming a
table within its schema is a catalogue change, instant. So a snapshot ``name`` of a tenant is:

- the *template*: a schema of its own, ``"snapshot$<tenant>$<name>"``, with a
  ``CREATE TABLE ... AS SELECT`` of every table of the tenant's schema (custom-field columns and
  the hidden deleted column included; DuckDB billing tables carry no keys or indexes,
  ``engines/loading.py``, so a table made ``AS SELECT`` is the table). Never changed.
- the *spare*: one more copy of each table, inside the tenant's schema, named
  ``"snapshot$<name>$<table>"``. A restore drops the tenant's tables and renames the spare's
  into their places, in one transaction: instant, and a reader (a job's read-only snapshot)
  sees the data before or after it, never half. A new spare is then copied from the template
  (the service does it in the background); a restore that finds no complete spare copies the
  template itself, slower but the same result.

``$`` is in no tenant, snapshot or catalogue name, so no two of these ever meet, no template
matches the tenants' ``tenant_`` prefix, and no spare is a catalogue object: ZOQL, Data Query
and the Job Finder never see one.
"""

from __future__ import annotations

import duckdb
from sqlglot import exp

from aquarium.engines import naming
from aquarium.zoql import formatting

SEPARATOR = "$"
COPY_PREFIX = "snapshot" + SEPARATOR


def template_schema(tenant: str, name: str) -> str:
    """The schema holding the template of snapshot ``name`` of ``tenant``."""
    return COPY_PREFIX + naming.check_tenant_name(tenant) + SEPARATOR + name


def spare_table(name: str, table: str) -> str:
    """The name, in the tenant's schema, of the spare copy of ``table`` for snapshot ``name``."""
    return COPY_PREFIX + name + SEPARATOR + table


def _schema(schema: str) -> str:
    return exp.to_identifier(schema, quoted=True).sql(dialect=formatting.DUCKDB)


def _table(schema: str, table: str) -> str:
    return exp.Table(
        this=exp.to_identifier(table, quoted=True), db=exp.to_identifier(schema, quoted=True)
    ).sql(dialect=formatting.DUCKDB)


def tables_of(cursor: duckdb.DuckDBPyConnection, schema: str) -> list[str]:
    """The base tables of ``schema`` (spares included), sorted; none when it does not exist."""
    rows = cursor.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = ? AND table_type = 'BASE TABLE' ORDER BY table_name",
        [schema],
    ).fetchall()
    return [str(row[0]) for row in rows]


def live_tables(cursor: duckdb.DuckDBPyConnection, tenant: str) -> list[str]:
    """The tenant's billing tables, spares left out."""
    return [t for t in tables_of(cursor, naming.schema_name(tenant)) if SEPARATOR not in t]


def has_schema(cursor: duckdb.DuckDBPyConnection, schema: str) -> bool:
    found = cursor.execute(
        "SELECT count(*) FROM information_schema.schemata WHERE schema_name = ?", [schema]
    ).fetchone()
    return bool(found and found[0])


def _count(cursor: duckdb.DuckDBPyConnection, table: str) -> int:
    found = cursor.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(found[0]) if found else 0


def save(cursor: duckdb.DuckDBPyConnection, tenant: str, name: str) -> int:
    """Make (or make again) snapshot ``name`` of the tenant: template and spare; the rows
    saved. Inside the caller's transaction."""
    live, template = naming.schema_name(tenant), template_schema(tenant, name)
    cursor.execute(f"DROP SCHEMA IF EXISTS {_schema(template)} CASCADE")
    cursor.execute(f"CREATE SCHEMA {_schema(template)}")
    rows = 0
    for table in live_tables(cursor, tenant):
        source = _table(live, table)
        cursor.execute(f"CREATE TABLE {_table(template, table)} AS SELECT * FROM {source}")
        rows += _count(cursor, _table(template, table))
    make_spare(cursor, tenant, name)
    return rows


def make_spare(cursor: duckdb.DuckDBPyConnection, tenant: str, name: str) -> None:
    """Copy the template of snapshot ``name`` into a fresh spare. Inside the caller's
    transaction."""
    live, template = naming.schema_name(tenant), template_schema(tenant, name)
    drop_spare(cursor, tenant, name)
    for table in tables_of(cursor, template):
        spare = _table(live, spare_table(name, table))
        cursor.execute(f"CREATE TABLE {spare} AS SELECT * FROM {_table(template, table)}")


def drop_spare(cursor: duckdb.DuckDBPyConnection, tenant: str, name: str) -> None:
    live = naming.schema_name(tenant)
    prefix = spare_table(name, "")
    for table in tables_of(cursor, live):
        if table.startswith(prefix):
            cursor.execute(f"DROP TABLE {_table(live, table)}")


def has_spare(cursor: duckdb.DuckDBPyConnection, tenant: str, name: str) -> bool:
    """Whether every table of the template has its spare."""
    present = set(tables_of(cursor, naming.schema_name(tenant)))
    wanted = tables_of(cursor, template_schema(tenant, name))
    return all(spare_table(name, table) in present for table in wanted)


def restore(cursor: duckdb.DuckDBPyConnection, tenant: str, name: str) -> bool:
    """Put the tenant's tables back as snapshot ``name`` holds them, inside the caller's
    transaction: the spare renamed into place (``True``; a new spare is wanted), or without
    one, the template copied (``False``)."""
    live, template = naming.schema_name(tenant), template_schema(tenant, name)
    cursor.execute(f"CREATE SCHEMA IF NOT EXISTS {_schema(live)}")  # regenerated meanwhile?
    swap = has_spare(cursor, tenant, name)
    for table in live_tables(cursor, tenant):
        cursor.execute(f"DROP TABLE {_table(live, table)}")
    for table in tables_of(cursor, template):
        if swap:
            identifier = exp.to_identifier(table, quoted=True).sql(dialect=formatting.DUCKDB)
            spare = _table(live, spare_table(name, table))
            cursor.execute(f"ALTER TABLE {spare} RENAME TO {identifier}")
        else:
            source = _table(template, table)
            cursor.execute(f"CREATE TABLE {_table(live, table)} AS SELECT * FROM {source}")
    return swap


def drop(cursor: duckdb.DuckDBPyConnection, tenant: str, name: str) -> None:
    """Drop snapshot ``name`` of the tenant (template and spare); nothing when there is none."""
    if has_schema(cursor, naming.schema_name(tenant)):
        drop_spare(cursor, tenant, name)
    cursor.execute(f"DROP SCHEMA IF EXISTS {_schema(template_schema(tenant, name))} CASCADE")
