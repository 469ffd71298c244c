"""generate_into with PostgreSQL: same rows and values as DuckDB for the same seed."""

from __future__ import annotations

from pathlib import Path

import duckdb
import psycopg
import pytest
from psycopg import sql

from aquarium import datagen
from aquarium.catalog import model
from aquarium.datagen import generate
from aquarium.engines import naming

SCALE = 0.02
pytestmark = pytest.mark.postgres

# Columns compared value by value: text with nulls and empty strings, decimals, booleans,
# dates and instants (compared as epoch microseconds, independent of the session zone).
PROBES = {
    "Invoice": ("Id", "InvoiceNumber", "Amount", "Balance", "AutoPay", "InvoiceDate", "PostedDate"),
    "Contact": ("Id", "FirstName", "NickName", "Address2", "County"),
    "Usage": ("Id", "Quantity", "StartDateTime", "InvoiceId"),
}


def _pg_rows(
    conn: psycopg.Connection[tuple[object, ...]], schema: str, name: str
) -> list[tuple[object, ...]]:
    columns = PROBES[name]
    select = [
        sql.SQL("(extract(epoch from {}) * 1000000)::bigint").format(sql.Identifier(c))
        if c.endswith(("DateTime", "PostedDate"))
        else sql.Identifier(c)
        for c in columns
    ]
    query = sql.SQL("SELECT {} FROM {}.{} ORDER BY {}").format(
        sql.SQL(", ").join(select),
        sql.Identifier(schema),
        sql.Identifier(name),
        sql.Identifier("Id"),
    )
    return [tuple(row) for row in conn.execute(query).fetchall()]


def _duck_rows(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> list[tuple[object, ...]]:
    columns = PROBES[name]
    select = ", ".join(
        f'epoch_us("{c}")' if c.endswith(("DateTime", "PostedDate")) else f'"{c}"' for c in columns
    )
    return con.execute(f'SELECT {select} FROM "{schema}"."{name}" ORDER BY "Id"').fetchall()


def test_postgres_matches_duckdb(tmp_path: Path, pg_dsn: str, pg_schema: str) -> None:
    report = datagen.generate_into(
        tmp_path, pg_schema, scale=SCALE, seed=11, engine="postgres", dsn=pg_dsn
    )
    datagen.generate_into(tmp_path, pg_schema, scale=SCALE, seed=11)
    schema = naming.schema_name(pg_schema)
    with psycopg.connect(pg_dsn) as conn, duckdb.connect(str(tmp_path / naming.DUCKDB_FILE)) as con:
        for obj in model.default():
            pg_count = conn.execute(
                sql.SQL("SELECT count(*) FROM {}.{}").format(
                    sql.Identifier(schema), sql.Identifier(obj.name)
                )
            ).fetchone()
            assert pg_count == (report.rows[obj.name],), obj.name
        for name in PROBES:
            pg_rows = _pg_rows(conn, schema, name)
            duck_rows = _duck_rows(con, schema, name)
            assert len(pg_rows) == len(duck_rows)
            assert pg_rows == duck_rows, name
        empties = conn.execute(
            sql.SQL(
                "SELECT count(*) FILTER (WHERE {c} = ''), count(*) FILTER (WHERE {c} IS NULL) "
                "FROM {}.{}"
            ).format(
                sql.Identifier(schema), sql.Identifier("Contact"), c=sql.Identifier("NickName")
            )
        ).fetchone()
        assert empties is not None and empties[0] == 0 and empties[1] > 0


def test_a_sharded_generation_matches_duckdb(
    tmp_path: Path, pg_dsn: str, pg_schema: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Three shards through COPY (the primary keys refuse a repeated id) and through DuckDB."""
    monkeypatch.setattr(generate, "SHARD_SCALE", 0.01)
    report = datagen.generate_into(
        tmp_path, pg_schema, scale=0.03, seed=11, engine="postgres", dsn=pg_dsn
    )
    assert report.rows["Account"] == 30
    assert datagen.generate_into(tmp_path, pg_schema, scale=0.03, seed=11).rows == report.rows
    schema = naming.schema_name(pg_schema)
    with psycopg.connect(pg_dsn) as conn, duckdb.connect(str(tmp_path / naming.DUCKDB_FILE)) as con:
        for name in PROBES:
            assert _pg_rows(conn, schema, name) == _duck_rows(con, schema, name), name
