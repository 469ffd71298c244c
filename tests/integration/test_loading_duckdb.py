"""generate_into with DuckDB: one file, one schema per tenant, reproducible contents."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from aquarium import datagen
from aquarium.catalog import model
from aquarium.datagen import generate
from aquarium.domain import errors
from aquarium.engines import loading, naming
from aquarium.store import database, tenants_repo
from tests import tenants_setup
from tests.integration import test_store_migrations as support

SCALE = 0.02


def _fingerprint(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> tuple[object, ...]:
    row = con.execute(
        f'SELECT count(*), sum(hash(t)) FROM "{schema}"."{name}" AS t'  # test-only SQL
    ).fetchone()
    assert row is not None
    return tuple(row)


@pytest.mark.postgres
def test_the_tenant_is_recorded_in_the_metadata_store_given(tmp_path: Path, pg_dsn: str) -> None:
    with support.pg_database(pg_dsn) as url:
        datagen.generate_into(tmp_path, "acme", scale=SCALE, seed=3, metadata_url=url)
        with database.opened(url, tmp_path) as engine, engine.connect() as conn:
            assert tenants_repo.time_zone(conn, "acme") == "America/Los_Angeles"
    assert not (tmp_path / database.METADATA_FILE).exists()


def test_generate_into_duckdb(tmp_path: Path) -> None:
    report = datagen.generate_into(tmp_path, "acme", scale=SCALE, seed=3, time_zone="Europe/Paris")
    assert report.rows["Account"] == 20
    assert report.total_rows > 1000 and report.rows_per_second > 0
    assert tenants_setup.load(tmp_path)["acme"].time_zone == "Europe/Paris"
    catalog = model.default()
    with duckdb.connect(str(tmp_path / naming.DUCKDB_FILE), read_only=True) as con:
        schema = naming.schema_name("acme")
        for obj in catalog:
            count = con.execute(f'SELECT count(*) FROM "{schema}"."{obj.name}"').fetchone()
            assert count == (report.rows[obj.name],), obj.name
            columns = con.execute(
                "SELECT column_name FROM information_schema.columns "
                "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                [schema, obj.name],
            ).fetchall()
            assert [c[0] for c in columns] == [f.name for f in obj.fields] + [naming.DELETED_COLUMN]
        first = {obj.name: _fingerprint(con, schema, obj.name) for obj in catalog}
        keys = con.execute(
            "SELECT count(*) FROM duckdb_constraints() "
            "WHERE schema_name = ? AND constraint_type = 'PRIMARY KEY'",
            [schema],
        ).fetchone()
        # No primary-key indexes in DuckDB (loading.py): ids are unique by construction.
        assert keys == (0,)
        for obj in catalog:
            distinct = con.execute(
                f'SELECT count(*) = count(DISTINCT "Id") FROM "{schema}"."{obj.name}"'
            ).fetchone()
            assert distinct == (True,), obj.name
        deleted = con.execute(
            f'SELECT count(*) FROM "{schema}"."Account" WHERE "{naming.DELETED_COLUMN}" IS NOT NULL'
        ).fetchone()
        assert deleted == (0,), "generated rows are all live"
        types = dict(
            con.execute(
                "SELECT column_name, data_type FROM information_schema.columns "
                "WHERE table_schema = ? AND table_name = 'Invoice'",
                [schema],
            ).fetchall()
        )
        assert types["Amount"] == "DECIMAL(18,4)"
        assert types["PostedDate"] == "TIMESTAMP WITH TIME ZONE"
        assert types["InvoiceDate"] == "DATE"
    # The same seed again (a second tenant in the same file, then a reload) gives the same data.
    datagen.generate_into(tmp_path, "other", scale=SCALE, seed=3)
    datagen.generate_into(tmp_path, "acme", scale=SCALE, seed=3)
    with duckdb.connect(str(tmp_path / naming.DUCKDB_FILE), read_only=True) as con:
        for obj in catalog:
            assert _fingerprint(con, naming.schema_name("acme"), obj.name) == first[obj.name]
            assert _fingerprint(con, naming.schema_name("other"), obj.name) == first[obj.name]


def test_values_round_trip(tmp_path: Path) -> None:
    from aquarium.datagen import generate

    datagen.generate_into(tmp_path, "rt", scale=SCALE, seed=5)
    tables = dict(generate.generate(model.default(), scale=SCALE, seed=5))
    with duckdb.connect(str(tmp_path / naming.DUCKDB_FILE), read_only=True) as con:
        for name in ("Invoice", "Contact", "Payment", "Subscription"):
            loaded = con.sql(
                f'SELECT * EXCLUDE ("{naming.DELETED_COLUMN}") FROM "tenant_rt"."{name}" '
                'ORDER BY "Id"'
            ).to_arrow_table()
            expected = tables[name].sort_by("Id")
            assert loaded.cast(expected.schema).equals(expected), name


@pytest.mark.parametrize(
    ("kwargs", "reason"),
    [
        ({"tenant": "acme", "scale": 0}, "scale"),
        ({"tenant": "acme", "scale": 1001}, "scale"),
        ({"tenant": "Bad-Name", "scale": 0.01}, "tenant name"),
        ({"tenant": "acme", "scale": 0.01, "engine": "oracle"}, "engine"),
        ({"tenant": "acme", "scale": 0.01, "engine": "postgres"}, "DSN"),
    ],
)
def test_bad_arguments(tmp_path: Path, kwargs: dict[str, object], reason: str) -> None:
    with pytest.raises(errors.DataGenerationError, match=f"(?i){reason}"):
        datagen.generate_into(tmp_path, seed=1, **kwargs)  # type: ignore[arg-type]
    assert not (tmp_path / naming.DUCKDB_FILE).exists()


def test_a_load_that_fails_leaves_no_half_tenant(tmp_path: Path) -> None:
    """Each table commits on its own (bounded memory); a failure drops the tenant's schema."""
    catalog = model.default()
    tables = list(generate.generate(catalog, scale=0.02, seed=1))
    account = next(table for name, table in tables if name == "Account")
    broken = [*tables[:3], ("Account", account.drop_columns(["Name"]))]
    with duckdb.connect(str(tmp_path / naming.DUCKDB_FILE)) as con:
        with pytest.raises(ValueError, match="not the catalogue's"):
            loading.load_duckdb(con, "acme", catalog, broken)
        schemas = {
            row[0] for row in con.execute("SELECT schema_name FROM duckdb_schemas()").fetchall()
        }
        assert naming.schema_name("acme") not in schemas
        counts = loading.load_duckdb(con, "acme", catalog, tables)
        assert counts["Account"] == account.num_rows
        (loaded,) = con.execute(
            f'SELECT count(*) FROM {naming.schema_name("acme")}."Account"'
        ).fetchone() or (0,)
        assert loaded == account.num_rows


def test_a_sharded_generation_loads_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Shards yield each object again after the others: every slice is appended, none lost."""
    monkeypatch.setattr(generate, "SHARD_SCALE", 0.01)
    catalog = model.default()
    expected: dict[str, int] = {}
    for name, table in generate.generate(catalog, scale=0.03, seed=3):
        expected[name] = expected.get(name, 0) + table.num_rows
    report = datagen.generate_into(tmp_path, "acme", scale=0.03, seed=3)
    assert report.rows == expected
    assert report.rows["Account"] == 30
    with duckdb.connect(str(tmp_path / naming.DUCKDB_FILE), read_only=True) as con:
        schema = naming.schema_name("acme")
        for obj in catalog:
            row = con.execute(  # test-only SQL
                f'SELECT count(*), count(DISTINCT "Id") FROM "{schema}"."{obj.name}"'
            ).fetchone()
            assert row == (expected[obj.name], expected[obj.name]), obj.name
