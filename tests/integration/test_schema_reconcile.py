"""A data dir written by an earlier release gets every table and column of this release's
catalogue at start, and keeps every row (``engines/reconcile.py``, ``server._reconcile``).

The upgrade fixture's data dir (``tests/fixtures/upgrade/previous-sqlite``) is copied and aged
further: a table and a standard column are dropped, as a release before them would have left
it, and a custom field is declared in its metadata store with no column yet (added while no
engine was open). Opening it with the current server must add them back empty, leave every
existing row alone, and make every catalogue object queryable for each old tenant.
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path

import duckdb
import psycopg
import pytest
from psycopg import sql

from aquarium import datagen, server
from aquarium.catalog import model, views
from aquarium.domain import clock, tenancy
from aquarium.engines import ddl, naming, postgres_engine
from aquarium.services import adhoc_query
from aquarium.settings import Settings
from aquarium.store import custom_fields_repo, database

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "upgrade" / "previous-sqlite" / "data"
DROPPED_TABLE = ("demo", "Usage")
DROPPED_COLUMN = ("demo", "Account", "Mrr")
FIELD = tenancy.CustomField("Account", "Tier__c", tenancy.CustomFieldType.TEXT, "Tier")
#: the server over the aged copy, and the rows of every table before it opened it
Aged = tuple[server.Server, dict[tuple[str, str], int]]


def _counts(path: Path) -> dict[tuple[str, str], int]:
    with duckdb.connect(str(path), read_only=True) as con:
        tables = con.execute(
            "SELECT table_schema, table_name FROM information_schema.tables "
            "WHERE table_schema LIKE 'tenant_%'"
        ).fetchall()
        counts = {}
        for schema, table in tables:
            found = con.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()
            assert found is not None
            counts[(schema, table)] = int(found[0])
        return counts


@pytest.fixture(scope="module")
def aged(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Aged]:
    data_dir = tmp_path_factory.mktemp("reconcile") / "data"
    shutil.copytree(FIXTURE, data_dir)
    billing = data_dir / naming.DUCKDB_FILE
    with duckdb.connect(str(billing)) as con:
        con.execute(f'DROP TABLE "{naming.schema_name(DROPPED_TABLE[0])}"."{DROPPED_TABLE[1]}"')
        tenant, table, column = DROPPED_COLUMN
        con.execute(ddl.drop_column(tenant, table, column, "duckdb"))
    before = _counts(billing)
    with database.opened(None, data_dir) as metadata, metadata.begin() as conn:  # migrates
        at = custom_fields_repo.lock(conn, "demo")
        custom_fields_repo.insert(conn, "demo", FIELD, at)
    built = server.build(Settings(data_dir=data_dir, no_workers=True))
    try:
        yield built, before
    finally:
        built.stop()


def _columns(built: server.Server, tenant: str, table: str) -> list[str]:
    rows = built.engine._db.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = ? "
        "AND table_name = ? ORDER BY ordinal_position",
        [naming.schema_name(tenant), table],
    ).fetchall()
    return [row[0] for row in rows]


def test_every_old_row_is_kept(aged: Aged) -> None:
    built, before = aged
    for (schema, table), rows in before.items():
        found = built.engine._db.execute(f'SELECT count(*) FROM "{schema}"."{table}"').fetchone()
        assert found is not None and found[0] == rows, (schema, table)


def test_missing_tables_and_columns_come_back_empty(aged: Aged) -> None:
    built, _ = aged
    tenant, table = DROPPED_TABLE
    usage = built.engine._db.execute(
        f'SELECT count(*) FROM "{naming.schema_name(tenant)}"."{table}"'
    ).fetchone()
    assert usage == (0,)
    account = _columns(built, "demo", "Account")
    assert "Mrr" in account and account[-1] == "Tier__c"
    nulls = built.engine._db.execute(
        'SELECT count(*) FROM "tenant_demo"."Account" WHERE "Mrr" IS NOT NULL '
        'OR "Tier__c" IS NOT NULL'
    ).fetchone()
    assert nulls == (0,)
    # Another tenant of the fixture gets the standard columns only, never the demo's field.
    assert "Tier__c" not in _columns(built, "acme", "Account")


@pytest.mark.parametrize("tenant", ["demo", "acme"])
def test_every_catalogue_object_is_queryable(
    aged: Aged,
    tenant: str,
    tmp_path: Path,
) -> None:
    built, _ = aged
    found = built.tenants.tenant(tenant) or tenancy.Tenant(tenant, "UTC")
    catalog = built.services.aqua.catalogs.of(found)
    for obj in model.default():
        query = adhoc_query.AdhocQuery(f"select * from {obj.name} limit 1", tenant, "UTC")
        target = tmp_path / f"{obj.name}.csv"
        adhoc_query.run_to_file(query, built.engine, catalog, clock.SystemClock(), target)
        header = target.read_text("utf-8").splitlines()[0]
        assert header.count(",") + 1 == len(catalog.require(obj.name).export_fields), obj.name


def test_a_second_start_changes_nothing(aged: Aged) -> None:
    built, _ = aged
    for tenant in built.engine.tenants():
        found = built.tenants.tenant(tenant)
        fields = found.custom_fields if found else ()
        assert built.engine.reconcile(tenant, views.storage_view(model.default(), fields)) == []


@pytest.mark.postgres
def test_postgres_adds_and_drops_columns_and_missing_tables(pg_dsn: str, tmp_path: Path) -> None:
    """The same on PostgreSQL: a missing table and custom-field column are added (rows kept),
    a second pass changes nothing, and dropping the column takes it away."""
    tenant = f"rc{uuid.uuid4().hex[:10]}"
    schema = naming.schema_name(tenant)
    datagen.generate_into(tmp_path, tenant, scale=0.02, seed=5, engine="postgres", dsn=pg_dsn)
    engine = postgres_engine.PostgresEngine(pg_dsn)
    try:
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute(
                sql.SQL("DROP TABLE {}.{}").format(sql.Identifier(schema), sql.Identifier("Usage"))
            )
            accounts = conn.execute(
                sql.SQL("SELECT count(*) FROM {}.{}").format(
                    sql.Identifier(schema), sql.Identifier("Account")
                )
            ).fetchone()
        storage = views.storage_view(model.default(), (FIELD,))
        ran = engine.reconcile(tenant, storage)
        assert sorted(statement.split(" (")[0].split(" ADD")[0] for statement in ran) == [
            f'ALTER TABLE "{schema}"."Account"',
            f'CREATE TABLE IF NOT EXISTS "{schema}"."Usage"',
        ], ran
        assert engine.reconcile(tenant, storage) == []
        with psycopg.connect(pg_dsn) as conn:
            found = conn.execute(
                sql.SQL("SELECT count(*), count({}) FROM {}.{}").format(
                    sql.Identifier("Tier__c"), sql.Identifier(schema), sql.Identifier("Account")
                )
            ).fetchone()
        assert accounts is not None and found == (accounts[0], 0)
        engine.drop_column(tenant, "Account", "Tier__c")
        with psycopg.connect(pg_dsn) as conn:
            left = conn.execute(
                "SELECT count(*) FROM information_schema.columns WHERE table_schema = %s "
                "AND table_name = 'Account' AND column_name = 'Tier__c'",
                [schema],
            ).fetchone()
        assert left == (0,)
    finally:
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(schema)))
