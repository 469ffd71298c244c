"""Small generated datasets shared by the integration tests (one per test session and worker)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path

import pytest

from aquarium import datagen
from aquarium.catalog import model
from aquarium.engines import duckdb_engine, naming, postgres_dataquery, postgres_engine

SCALE = 0.05  # about 50 accounts and 5,000 invoice items: every object has rows
SEED = 11
TIME_ZONE = "America/Los_Angeles"
NOW = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(scope="session")
def catalog() -> model.Catalog:
    return model.default()


@pytest.fixture(scope="session")
def duck_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("duck")
    datagen.generate_into(data_dir, "acme", scale=SCALE, seed=SEED, time_zone=TIME_ZONE)
    return data_dir


@pytest.fixture(scope="session")
def duck(duck_dir: Path) -> Iterator[duckdb_engine.DuckDbEngine]:
    engine = duckdb_engine.DuckDbEngine(duck_dir / naming.DUCKDB_FILE, read_only=True)
    yield engine
    engine.close()


@pytest.fixture(scope="session")
def pg_tenant(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A tenant loaded into PostgreSQL with the same seed as ``duck``; dropped at the end."""
    import uuid

    import psycopg
    from psycopg import sql

    tenant = f"it{uuid.uuid4().hex[:10]}"
    datagen.generate_into(
        tmp_path_factory.mktemp("pg"),
        tenant,
        scale=SCALE,
        seed=SEED,
        engine="postgres",
        dsn=pg_dsn,
        time_zone=TIME_ZONE,
    )
    yield tenant
    with psycopg.connect(pg_dsn, autocommit=True) as conn:
        conn.execute(
            sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(
                sql.Identifier(naming.schema_name(tenant))
            )
        )
        postgres_dataquery.drop_role(conn, tenant)  # made by the first snapshot


@pytest.fixture(scope="session")
def pg(pg_dsn: str) -> postgres_engine.PostgresEngine:
    return postgres_engine.PostgresEngine(pg_dsn)
