"""Synthetic data generation at scale 50 into DuckDB, beside DuckDB copying the same rows.

The reference is DuckDB itself re-writing every generated table (``CREATE TABLE ... AS SELECT``
from the tables just loaded): the floor for moving that many rows through the engine. The
generation runs in a child process so its peak memory (max RSS) is its own.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import shutil
import tempfile
import time
from pathlib import Path

import duckdb

from aquarium import datagen
from aquarium.datagen import generate
from aquarium.engines import naming

SCALE = float(os.environ.get("AQUARIUM_BENCH_SCALE", "50"))


def _generate(work: Path, out: multiprocessing.SimpleQueue[datagen.GenerationReport]) -> None:
    out.put(datagen.generate_into(work, "bench", scale=SCALE, seed=7))


def _generate_in_child(work: Path) -> tuple[datagen.GenerationReport, float]:
    """The generation report and the child's peak RSS in GiB."""
    context = multiprocessing.get_context("spawn")
    out: multiprocessing.SimpleQueue[datagen.GenerationReport] = context.SimpleQueue()
    child = context.Process(target=_generate, args=(work, out))
    child.start()
    child.join()
    if child.exitcode != 0:  # e.g. killed for memory: say so rather than wait forever
        raise RuntimeError(f"the generating process ended with exit code {child.exitcode}")
    report = out.get()
    peak_kib = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return report, peak_kib / 1024 / 1024


def run() -> str:
    work = Path(tempfile.mkdtemp(prefix="aquarium-bench-datagen-"))
    try:
        report, peak_gib = _generate_in_child(work)
        schema = naming.schema_name("bench")
        con = duckdb.connect(str(work / naming.DUCKDB_FILE))
        con.execute("CREATE SCHEMA copy_ref")
        start = time.perf_counter()
        for name in report.rows:
            con.execute(f'CREATE TABLE copy_ref."{name}" AS SELECT * FROM {schema}."{name}"')
        reference = time.perf_counter() - start
        con.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    ref_rate = report.total_rows / reference
    return "\n".join(
        [
            f"### Generator, scale {SCALE:g} into DuckDB",
            "",
            "| measure | Aquarium datagen | DuckDB table copy (reference) | ratio |",
            "|---|---|---|---|",
            f"| seconds | {report.seconds:.1f} | {reference:.1f} | "
            f"{report.seconds / reference:.1f}x |",
            f"| rows/s | {report.rows_per_second:,.0f} | {ref_rate:,.0f} | |",
            f"| rows | {report.total_rows:,} | | |",
            f"| objects | {len(report.rows)} | | |",
            f"| InvoiceItem rows | {report.rows.get('InvoiceItem', 0):,} | | |",
            f"| shards | {generate.shard_count(SCALE)} | | |",
            f"| peak memory (max RSS of the generating process) | {peak_gib:.1f} GiB | | |",
        ]
    )
