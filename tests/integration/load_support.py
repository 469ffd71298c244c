"""Exports and loads for the ``aquarium load`` tests: a tenant's objects written as AQuA writes
them (``select *``, either header style), and a directory loaded into a tenant."""

from __future__ import annotations

import gzip
from collections.abc import Iterable
from pathlib import Path

import psycopg

from aquarium.catalog import model, views
from aquarium.domain import clock, tenancy
from aquarium.engines import base, duckdb_engine, loading, naming, postgres_engine
from aquarium.services import adhoc_query, bulk_load
from aquarium.store import database, tenants_repo
from aquarium.zoql import ast


def tenant_catalog(data_dir: Path, tenant: str) -> tuple[tenancy.Tenant, model.Catalog]:
    with database.opened(None, data_dir) as metadata, metadata.connect() as conn:
        found = tenants_repo.get_tenant(conn, tenant)
    assert found is not None, tenant
    return found, views.for_tenant(model.default(), found)


def add_tenant(data_dir: Path, tenant: str, time_zone: str) -> None:
    """Record ``tenant`` (no billing data yet) in ``time_zone``."""
    with database.opened(None, data_dir) as metadata, metadata.begin() as conn:
        tenants_repo.record_tenant(conn, tenant, time_zone=time_zone)


def export(
    data_dir: Path,
    tenant: str,
    names: Iterable[str],
    into: Path,
    *,
    labels: bool = False,
    gz: bool = False,
    dsn: str | None = None,
    zoql: str = "select * from {}",
) -> dict[str, bytes]:
    """Each object's CSV as ``aquarium query`` prints it, also written to ``into/<Object>.csv``
    (``.csv.gz`` with ``gz``); ``dsn``: the tenant's data is in PostgreSQL."""
    found, catalog = tenant_catalog(data_dir, tenant)
    engine: base.QueryEngine = (
        postgres_engine.PostgresEngine(dsn)
        if dsn
        else duckdb_engine.DuckDbEngine(data_dir / naming.DUCKDB_FILE, read_only=True)
    )
    into.mkdir(parents=True, exist_ok=True)
    written: dict[str, bytes] = {}
    try:
        for name in names:
            request = adhoc_query.AdhocQuery(
                text=zoql.format(name),
                tenant=tenant,
                time_zone=found.time_zone,
                use_labels=labels,
                utc=False,
                dialect=ast.Dialect.EXPORT,
                csv=base.CsvOptions(),
            )
            path = into / f"{name}.csv"
            adhoc_query.run_to_file(request, engine, catalog, clock.SystemClock(), path)
            written[name] = path.read_bytes()
            if gz:
                path.with_suffix(".csv.gz").write_bytes(gzip.compress(written[name]))
                path.unlink()
    finally:
        engine.close()
    return written


def load(
    data_dir: Path,
    tenant: str,
    directory: Path,
    *,
    add_fields: bool = False,
    dsn: str | None = None,
) -> bulk_load.LoadReport:
    """``aquarium load --tenant TENANT DIRECTORY`` without the process around it."""
    with database.opened(None, data_dir) as metadata:
        if dsn:
            with psycopg.connect(dsn) as conn:
                return bulk_load.load_directory(
                    directory,
                    tenant,
                    metadata=metadata,
                    replace=lambda *args: loading.replace_postgres(conn, *args),
                    add_fields=add_fields,
                )
        with loading.connect_duckdb(data_dir / naming.DUCKDB_FILE) as con:
            return bulk_load.load_directory(
                directory,
                tenant,
                metadata=metadata,
                replace=lambda *args: loading.replace_duckdb(con, *args),
                add_fields=add_fields,
            )
