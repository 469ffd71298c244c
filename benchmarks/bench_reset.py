"""Reset (issue 16): save a tenant's billing data as a named copy and restore it, at scale 1
and scale 10 (``AQUARIUM_RESET_BENCH_SCALES``, default ``1,10``).

Through :class:`DuckDbEngine` itself (``save_copy`` / ``restore_copy`` / ``make_spare``,
what ``POST /aquarium/api/v1/control/snapshots`` and ``.../restore`` run for the billing data;
the metadata rows and hard-linked files of a test tenant's runs add milliseconds):

- save: the template and the spare (two copies of every table);
- restore: the spare renamed into place (what a restore does when the spare is ready);
- spare: the new spare copied from the template after a restore (in the background);
- restore without a spare: the template copied into place (a restore right after another one).

The reference, in the same run on the same tables: DuckDB's own ``CREATE TABLE AS`` of every
table into a fresh schema, in one transaction, with nothing around it. Each figure is the
median of 3.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from aquarium import datagen
from aquarium.engines import duckdb_engine, naming, tenant_copies

TENANT = "demo"
SCALES = tuple(float(s) for s in os.environ.get("AQUARIUM_RESET_BENCH_SCALES", "1,10").split(","))
ROUNDS = 3


def _timed(action: Callable[[], object]) -> float:
    began = time.perf_counter()
    action()
    return time.perf_counter() - began


def _median_s(action: Callable[[], object]) -> float:
    return statistics.median(_timed(action) for _ in range(ROUNDS))


def _reference(engine: duckdb_engine.DuckDbEngine) -> None:
    """DuckDB's own copy of every billing table into a fresh schema, one transaction."""
    with engine.bulk_transaction() as cursor:
        cursor.execute("DROP SCHEMA IF EXISTS reference CASCADE")
        cursor.execute("CREATE SCHEMA reference")
        for table in tenant_copies.live_tables(cursor, TENANT):
            cursor.execute(
                f'CREATE TABLE reference."{table}" AS SELECT * FROM tenant_demo."{table}"'
            )


def _one(scale: float) -> str:
    work = Path(tempfile.mkdtemp(prefix="aquarium-bench-reset-"))
    try:
        datagen.generate_into(work, TENANT, scale=scale, seed=7)
        engine = duckdb_engine.DuckDbEngine(work / naming.DUCKDB_FILE)
        try:
            cursor = engine._db.cursor()  # a benchmark may look inside
            tables = len(tenant_copies.tables_of(cursor, naming.schema_name(TENANT)))
            cursor.close()
            rows = engine.save_copy(TENANT, "clean")
            save = _median_s(lambda: engine.save_copy(TENANT, "clean"))
            swaps, spares, copies = [], [], []
            for _ in range(ROUNDS):
                swaps.append(_timed(lambda: engine.restore_copy(TENANT, "clean")))
                copies.append(_timed(lambda: engine.restore_copy(TENANT, "clean")))
                spares.append(_timed(lambda: engine.make_spare(TENANT, "clean")))
            reference = _median_s(lambda: _reference(engine))
        finally:
            engine.close()
        median = statistics.median
        return (
            f"| {scale:g} | {tables} | {rows:,} | {save:.3f} | {median(swaps):.3f} | "
            f"{median(spares):.3f} | {median(copies):.3f} | {reference:.3f} |"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run() -> str:
    lines = [
        "### reset: save and restore a tenant's billing data (DuckDB, seconds, median of 3)",
        "",
        "| scale | tables | rows | save | restore | spare (background) | restore without a spare "
        "| reference: CREATE TABLE AS, one transaction |",
        "|---|---|---|---|---|---|---|---|",
    ]
    lines += [_one(scale) for scale in SCALES]
    return "\n".join(lines)
