"""Reset (issue 16): save a tenant's billing data as a named copy and restore it, at scale 1
and scale 10 (``AQUARIUM_RESET_BENCH_SCALES``, default ``1,10``).

Through :class:`DuckDbEngine` itself (``save_copy`` / ``restore_copy``, what
``POST /aquarium/api/v1/control/snapshots`` and ``.../restore`` run for the billing data; the
metadata rows and hard-linked files of a test tenant's runs add milliseconds). The reference,
in the same run on the same tables: DuckDB's own ``CREATE TABLE AS`` of every table into a
fresh schema, in one transaction, with nothing around it. Each figure is the median of 3.
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from pathlib import Path

from aquarium import datagen
from aquarium.engines import duckdb_engine, naming, tenant_copies

TENANT = "demo"
SCALES = tuple(float(s) for s in os.environ.get("AQUARIUM_RESET_BENCH_SCALES", "1,10").split(","))
ROUNDS = 3


def _median_s(action: object) -> float:
    assert callable(action)
    times = []
    for _ in range(ROUNDS):
        began = time.perf_counter()
        action()
        times.append(time.perf_counter() - began)
    return statistics.median(times)


def _reference(engine: duckdb_engine.DuckDbEngine) -> None:
    with engine.bulk_transaction() as cursor:
        tenant_copies.copy_tables(cursor, naming.schema_name(TENANT), "reference")


def _one(scale: float) -> str:
    work = Path(tempfile.mkdtemp(prefix="aquarium-bench-reset-"))
    try:
        report = datagen.generate_into(work, TENANT, scale=scale, seed=7)
        engine = duckdb_engine.DuckDbEngine(work / naming.DUCKDB_FILE)
        try:
            cursor = engine._db.cursor()  # a benchmark may look inside
            tables = len(tenant_copies.tables_of(cursor, naming.schema_name(TENANT)))
            cursor.close()
            rows = engine.save_copy(TENANT, "clean")
            save = _median_s(lambda: engine.save_copy(TENANT, "clean"))
            restore = _median_s(lambda: engine.restore_copy(TENANT, "clean"))
            reference = _median_s(lambda: _reference(engine))
        finally:
            engine.close()
        del report
        return f"| {scale:g} | {tables} | {rows:,} | {save:.3f} | {restore:.3f} | {reference:.3f} |"
    finally:
        shutil.rmtree(work, ignore_errors=True)


def run() -> str:
    lines = [
        "### reset: save and restore a tenant's billing data (DuckDB, seconds, median of 3)",
        "",
        "| scale | tables | rows | save | restore | reference: CREATE TABLE AS, one transaction |",
        "|---|---|---|---|---|---|",
    ]
    lines += [_one(scale) for scale in SCALES]
    return "\n".join(lines)
