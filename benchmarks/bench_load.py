"""``aquarium load`` of a scale-1 tenant's exported files, beside DuckDB reading the same files.

A generated tenant (scale ``AQUARIUM_LOAD_BENCH_SCALE``, default 1) is exported object by
object as AQuA writes it (``select *``, API-name headers) and as typed Parquet of the same live
rows. Each directory is loaded into a fresh tenant with :func:`bulk_load.load_directory` (the
checks, staging, typing and the one transaction, all timed). The reference is DuckDB's own
``CREATE TABLE ... AS SELECT * FROM read_csv(...)`` (``read_parquet``) of the same files into a
fresh database, types sniffed, nothing checked: the floor for reading those bytes into tables.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from aquarium import datagen
from aquarium.catalog import model, views
from aquarium.domain import clock, tenancy
from aquarium.engines import base, duckdb_engine, duckdb_snapshot, loading, naming
from aquarium.services import adhoc_query, bulk_load
from aquarium.store import database, tenants_repo
from aquarium.zoql import ast

_literal = duckdb_snapshot.sql_literal  # a string as a DuckDB literal (sqlglot escapes it)

SCALE = float(os.environ.get("AQUARIUM_LOAD_BENCH_SCALE", "1"))
TENANT = "bench"


def _export_csv(data_dir: Path, into: Path) -> list[str]:
    """Every object of the tenant as AQuA's CSV in ``into``; the object names."""
    tenant = tenancy.Tenant(TENANT, tenancy.DEFAULT_TIME_ZONE)
    catalog = views.for_tenant(model.default(), tenant)
    engine = duckdb_engine.DuckDbEngine(data_dir / naming.DUCKDB_FILE, read_only=True)
    names = [obj.name for obj in catalog]
    try:
        for name in names:
            request = adhoc_query.AdhocQuery(
                text=f"select * from {name}",
                tenant=TENANT,
                time_zone=tenant.time_zone,
                use_labels=False,
                utc=False,
                dialect=ast.Dialect.EXPORT,
                csv=base.CsvOptions(),
            )
            path = into / f"{name}.csv"
            adhoc_query.run_to_file(request, engine, catalog, clock.SystemClock(), path)
    finally:
        engine.close()
    return names


def _export_parquet(data_dir: Path, names: list[str], into: Path) -> None:
    """The same objects' live rows as typed Parquet files in ``into``."""
    schema = naming.schema_name(TENANT)
    deleted = naming.DELETED_COLUMN
    with duckdb.connect(str(data_dir / naming.DUCKDB_FILE), read_only=True) as con:
        for name in names:
            live = (
                f'SELECT * EXCLUDE ("{deleted}") FROM "{schema}"."{name}" WHERE "{deleted}" IS NULL'
            )
            target = _literal(str(into / f"{name}.parquet"))
            con.execute(f"COPY ({live}) TO {target} (FORMAT parquet)")


def _ours(data_dir: Path, tenant: str, files: Path) -> bulk_load.LoadReport:
    with (
        database.opened(None, data_dir) as metadata,
        loading.connect_duckdb(data_dir / naming.DUCKDB_FILE) as con,
    ):
        return bulk_load.load_directory(
            files,
            tenant,
            metadata=metadata,
            replace=lambda *args: loading.replace_duckdb(con, *args),
        )


def _reference(work: Path, files: Path, reader: str) -> float:
    """Seconds for DuckDB to read every file of ``files`` into a table of a fresh database."""
    path = work / f"reference-{reader}.duckdb"
    with duckdb.connect(str(path), config={"memory_limit": loading.LOAD_MEMORY_LIMIT}) as con:
        start = time.perf_counter()
        for file in sorted(files.iterdir()):
            table = file.name.split(".")[0]
            con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM {reader}({_literal(str(file))})')
        seconds = time.perf_counter() - start
    path.unlink()
    return seconds


def _size_mb(files: Path) -> float:
    return sum(f.stat().st_size for f in files.iterdir()) / 1e6


def run() -> str:
    work = Path(tempfile.mkdtemp(prefix="aquarium-bench-load-"))
    try:
        data_dir = work / "data"
        datagen.generate_into(data_dir, TENANT, scale=SCALE, seed=7)
        with database.opened(None, data_dir) as metadata, metadata.begin() as conn:
            for name in ("fromcsv", "fromparquet"):
                tenants_repo.record_tenant(conn, name)
        csv_dir, parquet_dir = work / "csv", work / "parquet"
        csv_dir.mkdir()
        parquet_dir.mkdir()
        names = _export_csv(data_dir, csv_dir)
        _export_parquet(data_dir, names, parquet_dir)
        csv = _ours(data_dir, "fromcsv", csv_dir)
        parquet = _ours(data_dir, "fromparquet", parquet_dir)
        csv_ref = _reference(work, csv_dir, "read_csv")
        parquet_ref = _reference(work, parquet_dir, "read_parquet")
        sizes = (_size_mb(csv_dir), _size_mb(parquet_dir))
    finally:
        shutil.rmtree(work, ignore_errors=True)
    lines = [
        f"### aquarium load, scale {SCALE:g} exported ({len(names)} objects), into DuckDB",
        "",
        "| files | rows | MB | aquarium load s | rows/s | DuckDB read s | rows/s | ratio |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for kind, report, reference, size in (
        ("CSV", csv, csv_ref, sizes[0]),
        ("Parquet", parquet, parquet_ref, sizes[1]),
    ):
        lines.append(
            f"| {kind} | {report.total_rows:,} | {size:.1f} | {report.seconds:.2f} | "
            f"{report.rows_per_second:,.0f} | {reference:.2f} | "
            f"{report.total_rows / reference:,.0f} | {report.seconds / reference:.1f}x |"
        )
    return "\n".join(lines)
