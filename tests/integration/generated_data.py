"""Generated billing data in an in-memory DuckDB, and the two SQL checks the datagen family
tests (test_datagen_<family>.py) make of it."""

from __future__ import annotations

from collections.abc import Iterator

import duckdb

from aquarium.catalog import model
from aquarium.datagen import generate
from aquarium.engines import loading, naming


def loaded(
    tenant: str, *, scale: float, seed: int, catalog: model.Catalog | None = None
) -> Iterator[duckdb.DuckDBPyConnection]:
    """A connection to an in-memory DuckDB holding ``tenant``'s generated data, its schema the
    default one (for a module-scoped fixture to ``yield from``)."""
    catalog = catalog or model.default()
    connection = duckdb.connect()
    loading.load_duckdb(
        connection, tenant, catalog, generate.generate(catalog, scale=scale, seed=seed)
    )
    connection.execute(f'SET schema = "{naming.schema_name(tenant)}"')  # test-only SQL
    yield connection
    connection.close()


def one(con: duckdb.DuckDBPyConnection, sql: str) -> object:
    """The single value ``sql`` answers."""
    row = con.execute(sql).fetchone()
    assert row is not None
    return row[0]


def none(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """``sql`` lists the rows breaking a rule: there must be none."""
    broken = con.execute(sql).fetchall()
    assert broken == [], broken[:5]


def zero(con: duckdb.DuckDBPyConnection, sql: str) -> None:
    """``sql`` counts the rows breaking a rule: there must be none."""
    assert one(con, sql) == 0, sql
