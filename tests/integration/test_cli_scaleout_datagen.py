"""A scale-out deployment set up with the real CLI (``python -m aquarium`` in subprocesses) on a
fresh PostgreSQL database: ``datagen --engine postgres`` fills the tenant's schema and registers
the tenant in the metadata tables of the same database; the admin commands find that database
through ``AQUARIUM_DATABASE_URL`` alone, and the user they add can log in."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
import sqlalchemy as sa
from psycopg import sql

from aquarium.engines import naming
from aquarium.services import auth
from aquarium.store import database, tenants_repo
from tests.acceptance import support
from tests.integration import test_store_migrations as store_support

TENANT = "acme"
TIME_ZONE = "Europe/Paris"


@pytest.fixture
def dsn(pg_dsn: str) -> Iterator[str]:
    with store_support.pg_database(pg_dsn) as made:
        yield made


def _aquarium(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "aquarium", *args],
        capture_output=True,
        text=True,
        env=support.hermetic_env(**env),
        timeout=300,
        check=False,
    )


def _keywords(dsn: str) -> str:
    """``dsn`` as libpq keywords (``host=... dbname=...``), the other way to write one."""
    url = sa.make_url(dsn)
    return f"host={url.host} port={url.port or 5432} user={url.username} dbname={url.database}"


@pytest.mark.parametrize("form", ["url", "keywords", "sqlalchemy"])
def test_datagen_on_postgres_registers_the_tenant_in_the_same_database(
    dsn: str, tmp_path: Path, form: str
) -> None:
    given = {
        "url": dsn,
        "keywords": _keywords(dsn),
        "sqlalchemy": dsn.replace("postgresql://", "postgresql+psycopg://", 1),
    }[form]
    generated = _aquarium(
        "datagen", "--engine", "postgres", "--dsn", given, "--data-dir", str(tmp_path / "a"),
        "--tenant", TENANT, "--scale", "0.02", "--seed", "7", "--time-zone", TIME_ZONE,
    )  # fmt: skip
    assert generated.returncode == 0, generated.stderr
    assert not (tmp_path / "a" / database.METADATA_FILE).exists()

    with database.opened(dsn, tmp_path / "unused") as metadata, metadata.connect() as conn:
        tenant = tenants_repo.get_tenant(conn, TENANT)
    assert tenant is not None and tenant.time_zone == TIME_ZONE
    schema = naming.schema_name(TENANT)
    with psycopg.connect(dsn) as conn:
        query = sql.SQL("select count(*) from {}.{}").format(
            sql.Identifier(schema), sql.Identifier("Account")
        )
        row = conn.execute(query).fetchone()
    assert row is not None and row[0] > 0

    # Another machine of the deployment: nothing in its data dir, only the shared DSN.
    added = _aquarium(
        "user", "add", "alice", "--tenant", TENANT, "--password", "s3cret",
        "--data-dir", str(tmp_path / "b"), AQUARIUM_DATABASE_URL=dsn,
    )  # fmt: skip
    assert added.returncode == 0, added.stderr
    listed = _aquarium(
        "tenant", "list", "--data-dir", str(tmp_path / "b"), AQUARIUM_DATABASE_URL=dsn
    )
    assert listed.returncode == 0 and TENANT in listed.stdout, listed.stderr
    assert not (tmp_path / "b" / database.METADATA_FILE).exists()

    with database.opened(dsn, tmp_path / "unused") as metadata, metadata.connect() as conn:
        authenticator = auth.Authenticator(tenants_repo.all_tenants(conn), b"s" * 32)
    principal = authenticator.basic("alice", "s3cret")
    assert principal is not None and principal.tenant == TENANT
    assert authenticator.basic("alice", "wrong") is None


def test_the_metadata_url_beats_the_database_url_for_the_admin_commands(
    dsn: str, tmp_path: Path
) -> None:
    sqlite_dir = tmp_path / "embedded"
    sqlite_dir.mkdir()
    made = _aquarium(
        "tenant", "add", "beta", "--data-dir", str(sqlite_dir),
        AQUARIUM_METADATA_URL=database.sqlite_url(sqlite_dir), AQUARIUM_DATABASE_URL=dsn,
    )  # fmt: skip
    assert made.returncode == 0, made.stderr
    with database.opened(dsn, tmp_path / "unused") as metadata, metadata.connect() as conn:
        assert tenants_repo.get_tenant(conn, "beta") is None
    with database.opened(None, sqlite_dir) as metadata, metadata.connect() as conn:
        assert tenants_repo.get_tenant(conn, "beta") is not None
