"""Bulk loading of billing tables (generated, or read by ``aquarium load``) into DuckDB or
PostgreSQL.

The generated data's loaders replace the tenant's schema: drop it, create every table from the
catalogue (:mod:`aquarium.engines.ddl`), then insert each Arrow table with the engine's bulk path
(PostgreSQL in one transaction; DuckDB a transaction per table, see :func:`load_duckdb`).
DuckDB scans the Arrow data directly; PostgreSQL receives CSV through ``COPY FROM STDIN``,
written by pyarrow batch by batch. No Python code touches individual rows. ``tables`` may name
an object several times (a large object in slices); the slices are appended in order.

Null and empty text stay distinct: pyarrow's CSV writer leaves nulls unquoted-empty and quotes
empty strings, which is exactly how PostgreSQL's CSV format tells them apart.

:func:`replace_duckdb` and :func:`replace_postgres` (``aquarium load``; ``refill_*`` inside a
running server's transaction) replace the rows of some objects only, in one transaction, with
tables that may hold a subset of an object's fields.
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import duckdb
import psycopg
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg import sql
from sqlglot import exp

from aquarium.catalog import model
from aquarium.engines import ddl, naming, reconcile

#: Rows per CSV block sent to PostgreSQL (bounded memory per COPY write).
COPY_BATCH_ROWS = 50_000
#: DuckDB's memory budget on the connection a generated tenant is loaded through: each slice
#: commits on its own, so nothing needs more; past it DuckDB writes to its temporary directory.
LOAD_MEMORY_LIMIT = "1GB"
_SCAN_NAME = "_aquarium_load"


def _require(catalog: model.Catalog, name: str, table: pa.Table) -> model.ObjectDef:
    obj = catalog.require(name)
    expected = [f.name for f in obj.fields]
    if table.column_names != expected:
        raise ValueError(f"{name}: columns {table.column_names} are not the catalogue's")
    return obj


def connect_duckdb(path: Path) -> duckdb.DuckDBPyConnection:
    """A connection to the DuckDB file at ``path`` for :func:`load_duckdb`, its memory bounded
    (:data:`LOAD_MEMORY_LIMIT`; DuckDB's default is 80% of the machine, all of it cache a load
    never reads again)."""
    return duckdb.connect(str(path), config={"memory_limit": LOAD_MEMORY_LIMIT})


def load_duckdb(
    con: duckdb.DuckDBPyConnection,
    tenant: str,
    catalog: model.Catalog,
    tables: Iterable[tuple[str, pa.Table]],
) -> dict[str, int]:
    """Replace the tenant's billing schema with ``tables``; rows loaded per object.

    The schema is recreated in one transaction, then each table (or slice) is inserted in a
    transaction of its own: DuckDB keeps a transaction's uncommitted rows in memory, and a
    scale-50 tenant of every object in one transaction needs more memory than the machine has
    (measured: scale 10 peaked at 7.1 GB in one transaction, 2.6 GB this way, and loads
    faster). If a table fails, the tenant's schema is dropped and the error raised: the tenant
    has no half-loaded data (it has none, until the next load). A running server loads
    through :func:`fill_duckdb` instead, in one transaction its readers never see half of.
    """
    counts = {obj.name: 0 for obj in catalog}
    try:
        _in_transaction(con, ddl.schema_statements(tenant, catalog, "duckdb", primary_keys=False))
        for name, table in tables:
            con.begin()
            try:
                counts[name] += _insert_duckdb(con, tenant, catalog, name, table)
                con.commit()
            except BaseException:
                con.rollback()
                raise
    except BaseException:
        _in_transaction(con, [ddl.drop_schema(tenant).sql(dialect="duckdb")])
        raise
    return counts


def _in_transaction(con: duckdb.DuckDBPyConnection, statements: list[str]) -> None:
    con.begin()
    try:
        for statement in statements:
            con.execute(statement)
        con.commit()
    except BaseException:
        con.rollback()
        raise


def fill_duckdb(
    con: duckdb.DuckDBPyConnection,
    tenant: str,
    catalog: model.Catalog,
    tables: Iterable[tuple[str, pa.Table]],
) -> dict[str, int]:
    """:func:`load_duckdb`'s work inside a transaction the caller owns (a running server's
    engine commits it: :meth:`DuckDbEngine.bulk_transaction`); rows loaded per object."""
    counts = {obj.name: 0 for obj in catalog}
    for statement in ddl.schema_statements(tenant, catalog, "duckdb", primary_keys=False):
        con.execute(statement)
    for name, table in tables:
        counts[name] += _insert_duckdb(con, tenant, catalog, name, table)
    # No primary-key indexes in DuckDB: exports scan and hash-join, never look rows up by key,
    # and building ART indexes over millions of 32-character ids doubled the load time.
    return counts


def _insert_duckdb(
    con: duckdb.DuckDBPyConnection,
    tenant: str,
    catalog: model.Catalog,
    name: str,
    table: pa.Table,
) -> int:
    """Insert one generated table (DuckDB scans the Arrow data); its row count."""
    return _insert_columns(con, tenant, _require(catalog, name, table).name, table)


def _insert_columns(con: duckdb.DuckDBPyConnection, tenant: str, name: str, table: pa.Table) -> int:
    """Insert ``table`` into the object's table, its columns by name; its row count."""
    insert = exp.insert(
        exp.select(*[exp.column(c, quoted=True) for c in table.column_names]).from_(_SCAN_NAME),
        ddl.table(tenant, name),
        columns=[exp.to_identifier(c, quoted=True) for c in table.column_names],
    )
    con.register(_SCAN_NAME, table)
    try:
        con.execute(insert.sql(dialect="duckdb"))
    finally:
        con.unregister(_SCAN_NAME)
    rows: int = table.num_rows
    return rows


def load_postgres(
    conn: psycopg.Connection[object],
    tenant: str,
    catalog: model.Catalog,
    tables: Iterable[tuple[str, pa.Table]],
) -> dict[str, int]:
    """Replace the tenant's billing schema with ``tables`` via ``COPY``, in one transaction;
    rows per object."""
    with conn.transaction():
        return fill_postgres(conn, tenant, catalog, tables)


def fill_postgres(
    conn: psycopg.Connection[Any],
    tenant: str,
    catalog: model.Catalog,
    tables: Iterable[tuple[str, pa.Table]],
) -> dict[str, int]:
    """:func:`load_postgres`'s work inside a transaction the caller owns
    (:meth:`PostgresEngine.bulk_transaction`); rows loaded per object."""
    counts = {obj.name: 0 for obj in catalog}
    with conn.cursor() as cur:
        for statement in ddl.schema_statements(tenant, catalog, "postgres"):
            cur.execute(statement.encode("utf-8"))
        for name, table in tables:
            obj = _require(catalog, name, table)
            counts[obj.name] += _copy_postgres(cur, tenant, obj.name, table)
    return counts


def _copy_postgres(cur: psycopg.Cursor[Any], tenant: str, name: str, table: pa.Table) -> int:
    """``COPY`` ``table`` into the object's table, its columns by name; its row count."""
    options = pacsv.WriteOptions(include_header=False, batch_size=COPY_BATCH_ROWS)
    copy = sql.SQL("COPY {}.{} ({}) FROM STDIN WITH (FORMAT csv)").format(
        sql.Identifier(naming.schema_name(tenant)),
        sql.Identifier(name),
        sql.SQL(", ").join(sql.Identifier(c) for c in table.column_names),
    )
    with cur.copy(copy) as sink:
        for batch in table.to_batches(max_chunksize=COPY_BATCH_ROWS):
            buffer = io.BytesIO()
            pacsv.write_csv(batch, buffer, options)
            sink.write(buffer.getbuffer())
    rows: int = table.num_rows
    return rows


def _known_columns(catalog: model.Catalog, name: str, table: pa.Table) -> model.ObjectDef:
    obj = catalog.require(name)
    unknown = [c for c in table.column_names if obj.field(c) is None]
    if unknown or not table.column_names:
        raise ValueError(f"{name}: columns {unknown} are not the catalogue's")
    return obj


def _delete_rows(tenant: str, name: str) -> str:
    return exp.delete(ddl.table(tenant, name)).sql(dialect="duckdb")


def _schema_updates(
    tenant: str, catalog: model.Catalog, have: list[tuple[Any, Any]], dialect: ddl.Dialect
) -> list[str]:
    """The tenant's schema created when it has none, and every table and column of
    ``catalog`` added (``engines/reconcile.py``)."""
    create = ddl.create_schema(tenant)
    create.set("exists", True)
    todo = reconcile.statements(tenant, catalog, reconcile.existing(have), dialect)
    return [create.sql(dialect=dialect), *todo]


def replace_duckdb(
    con: duckdb.DuckDBPyConnection,
    tenant: str,
    catalog: model.Catalog,
    tables: Iterable[tuple[str, pa.Table]],
) -> dict[str, int]:
    """:func:`refill_duckdb` in one transaction of its own: on any failure nothing of it
    remains; rows loaded per object."""
    con.begin()
    try:
        counts = refill_duckdb(con, tenant, catalog, tables)
        con.commit()
    except BaseException:
        con.rollback()
        raise
    return counts


def refill_duckdb(
    con: duckdb.DuckDBPyConnection,
    tenant: str,
    catalog: model.Catalog,
    tables: Iterable[tuple[str, pa.Table]],
) -> dict[str, int]:
    """Replace the rows of each object named in ``tables`` (deleted rows too) with the table's,
    inside a transaction the caller owns (:func:`replace_duckdb`, or a running server's
    :meth:`DuckDbEngine.bulk_transaction`); rows loaded per object. Other objects keep theirs.

    The tenant's schema is created when it has none, and given every table and column of
    ``catalog`` (new custom fields) first. A table holds any of the object's fields, by name;
    the others are null.
    """
    counts: dict[str, int] = {}
    schema = naming.schema_name(tenant)
    have = con.execute(reconcile.COLUMNS_SQL.format("?"), [schema]).fetchall()
    for statement in _schema_updates(tenant, catalog, have, "duckdb"):
        con.execute(statement)
    for name, table in tables:
        obj = _known_columns(catalog, name, table)
        con.execute(_delete_rows(tenant, obj.name))
        counts[obj.name] = _insert_columns(con, tenant, obj.name, table)
    return counts


def replace_postgres(
    conn: psycopg.Connection[Any],
    tenant: str,
    catalog: model.Catalog,
    tables: Iterable[tuple[str, pa.Table]],
) -> dict[str, int]:
    """:func:`refill_postgres` in one transaction of its own; rows per object."""
    with conn.transaction():
        return refill_postgres(conn, tenant, catalog, tables)


def refill_postgres(
    conn: psycopg.Connection[Any],
    tenant: str,
    catalog: model.Catalog,
    tables: Iterable[tuple[str, pa.Table]],
) -> dict[str, int]:
    """:func:`refill_duckdb` in PostgreSQL, rows sent with ``COPY``, inside a transaction the
    caller owns (:func:`replace_postgres`, :meth:`PostgresEngine.bulk_transaction`)."""
    counts: dict[str, int] = {}
    schema = naming.schema_name(tenant)
    with conn.cursor() as cur:
        cur.execute(reconcile.COLUMNS_SQL.format("%s").encode("utf-8"), [schema])
        for statement in _schema_updates(tenant, catalog, cur.fetchall(), "postgres"):
            cur.execute(statement.encode("utf-8"))
        for name, table in tables:
            obj = _known_columns(catalog, name, table)
            delete = sql.SQL("DELETE FROM {}.{}").format(
                sql.Identifier(schema), sql.Identifier(obj.name)
            )
            cur.execute(delete)
            counts[obj.name] = _copy_postgres(cur, tenant, obj.name, table)
    return counts
