"""Data Query result files on DuckDB: ``output.write_query`` beside DuckDB's own ``COPY`` of the
same SQL, as JSON Lines and as CSV, over a few million invoice items.

The data is the generator's InvoiceItem at scale 1 (100,000 rows) repeated ``REPEAT`` times in
one table (same columns, types and values, so the same rendering work per row); the SQL is the
Data Query translation of ``select * from invoiceitem``. ``copy_rows`` is the engine's part
alone (rendering and writing); ``write_query`` adds the file's SHA-256 and the rename. Each
variant runs ``ROUNDS`` times, interleaved; the table reports the fastest run's wall time and the
process CPU time (DuckDB's threads included), which a shared machine disturbs less.
Ratio = DuckDB's COPY time / ours (1.0: as fast as the bare COPY; the target is at least 0.8).
"""

from __future__ import annotations

import datetime as dt
import os
import resource
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from aquarium import datagen
from aquarium.catalog import model
from aquarium.dataquery import output, sql
from aquarium.engines import duckdb_engine

REPEAT = int(os.environ.get("AQUARIUM_BENCH_DQ_REPEAT", "30"))
ROUNDS = int(os.environ.get("AQUARIUM_BENCH_DQ_ROUNDS", "3"))
THREADS = 1
TIME_ZONE = "America/Los_Angeles"


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _build(folder: Path) -> Path:
    """A DuckDB file whose tenant ``bench`` has ``REPEAT`` x 100,000 invoice items."""
    datagen.generate_into(folder / "gen", "bench", scale=1, seed=1, time_zone=TIME_ZONE)
    target = folder / "big.duckdb"
    connection = duckdb.connect(str(target))
    source = folder / "gen" / "billing.duckdb"
    # Benchmark-only SQL: copy the generated tenant, then grow its InvoiceItem table.
    connection.execute(f"ATTACH '{source}' AS gen (READ_ONLY)")
    connection.execute("CREATE SCHEMA tenant_bench")
    for (table,) in connection.execute(
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_catalog = 'gen' AND table_schema = 'tenant_bench'"
    ).fetchall():
        if table == "InvoiceItem":
            connection.execute(
                f'CREATE TABLE tenant_bench."{table}" AS SELECT t.* FROM '
                f'gen.tenant_bench."{table}" t, range({REPEAT})'
            )
        else:
            connection.execute(
                f'CREATE TABLE tenant_bench."{table}" AS SELECT * FROM gen.tenant_bench."{table}"'
            )
    connection.close()
    return target


def run() -> str:
    with tempfile.TemporaryDirectory(prefix="aquarium-bench-dq-") as work:
        folder = Path(work)
        engine = duckdb_engine.DuckDbEngine(_build(folder), threads=THREADS)
        query = sql.translate(
            "select * from invoiceitem", model.default(), schema="tenant_bench", dialect="duckdb"
        ).sql
        assert query is not None
        with engine.snapshot("bench") as snapshot:
            assert isinstance(snapshot, duckdb_engine.DuckDbSnapshot)
            cursor = snapshot.cursor
            cursor.execute(f"SET SESSION TimeZone = '{TIME_ZONE}'")
            rows = cursor.execute(f"SELECT count(*) FROM ({query})").fetchall()[0][0]

            def bare(options: str) -> Callable[[Path], None]:
                def write(path: Path) -> None:
                    cursor.execute(f"COPY ({query}) TO '{path}' ({options})")

                return write

            def ours(file_format: output.OutputFormat) -> Callable[[Path], None]:
                spec = output.OutputSpec(file_format, time_zone=TIME_ZONE)

                def write(path: Path) -> None:
                    output.write_query(snapshot, query, spec, path, entry_name="b")

                return write

            def engine_only(file_format: output.OutputFormat) -> Callable[[Path], None]:
                layout = output.OutputSpec(file_format, time_zone=TIME_ZONE).layout(gzip=False)

                def write(path: Path) -> None:
                    snapshot.copy_rows(query, path, layout)

                return write

            variants = {
                "DuckDB COPY, JSON": bare("FORMAT json"),
                "copy_rows, JSON Lines": engine_only(output.OutputFormat.JSON),
                "write_query, JSON Lines": ours(output.OutputFormat.JSON),
                "DuckDB COPY, CSV": bare("FORMAT csv, HEADER true"),
                "copy_rows, CSV": engine_only(output.OutputFormat.CSV),
                "write_query, CSV": ours(output.OutputFormat.CSV),
            }
            wall: dict[str, list[float]] = {name: [] for name in variants}
            cpu: dict[str, list[float]] = {name: [] for name in variants}
            for _ in range(ROUNDS):
                for name, write in variants.items():
                    path = folder / "out"
                    started, started_cpu = time.perf_counter(), _cpu()
                    write(path)
                    wall[name].append(time.perf_counter() - started)
                    cpu[name].append(_cpu() - started_cpu)
                    path.unlink()
        engine.close()
    lines = [
        f"## Data Query result files ({rows:,} invoice items, DuckDB, {THREADS} thread)",
        "",
        "| variant | wall s | CPU s | ratio (wall) | ratio (CPU) |",
        "|---|---|---|---|---|",
    ]
    for name in variants:
        reference = "DuckDB COPY, JSON" if "JSON" in name else "DuckDB COPY, CSV"
        lines.append(
            f"| {name} | {min(wall[name]):.2f} | {min(cpu[name]):.2f} | "
            f"{min(wall[reference]) / min(wall[name]):.2f} | "
            f"{min(cpu[reference]) / min(cpu[name]):.2f} |"
        )
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    return "\n".join([*lines, "", f"Measured {stamp}, {ROUNDS} interleaved rounds, fastest run."])
