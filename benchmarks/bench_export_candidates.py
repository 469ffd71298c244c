"""How to export at full speed and still cancel quickly (issue 15): the candidates side by side.

In process, on the AQuA benchmark's data (scale 50 InvoiceItem, ``select * from InvoiceItem``
with label headers), through :class:`DuckDbEngine` itself:

1. one ``COPY`` statement on one DuckDB thread (the previous default);
2. one ``COPY`` statement on every core (DuckDB's default);
3. the ranged export on every core (``engines/ranged_copy.py``: rowid ranges of about 0.12 s on
   one cursor per thread, appended as each ends; ``duckdb_export_ranges``).

Candidate 2 is the default: see docs/benchmarks.md for why.

For each: the export's rows/s (median of 2), and a cancel's latency: the export is started, the
snapshot interrupted at a random moment 0.3-3 s in (and again every 50 ms, as the runner's
watchdog does), and the time from the first interrupt to the export raising is taken (30 trials).
DuckDB's own ``COPY`` of the raw table and of the same formatted SQL, every core, are the
references, in the same run.
"""

from __future__ import annotations

import contextlib
import random
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path

import duckdb

from aquarium.catalog import model
from aquarium.domain import errors
from aquarium.engines import base, duckdb_engine, naming
from aquarium.zoql import check, lower, translate
from benchmarks import bench_aqua

TRIALS = 30
ROUNDS = 2
CSV = base.CsvOptions()
WATCHDOG_S = 0.05


def _lowered() -> lower.LoweredQuery:
    context = check.Context(catalog=model.default(), time_zone="America/Los_Angeles")
    options = lower.Options(dialect="duckdb", schema=naming.schema_name("demo"), use_labels=True)
    return translate.translate(bench_aqua.EXPORT_QUERY, context=context, options=options)


def _export_s(engine: duckdb_engine.DuckDbEngine, path: Path) -> tuple[float, int]:
    with engine.snapshot("demo") as snapshot:
        began = time.perf_counter()
        rows = snapshot.copy_csv(_lowered(), path, CSV)
        return time.perf_counter() - began, rows


def _cancel_ms(engine: duckdb_engine.DuckDbEngine, path: Path, rng: random.Random) -> float:
    with engine.snapshot("demo") as snapshot:
        ended: list[float] = []

        def export() -> None:
            with contextlib.suppress(errors.QueryInterrupted):  # expected
                snapshot.copy_csv(_lowered(), path, CSV)
            ended.append(time.perf_counter())

        worker = threading.Thread(target=export)
        worker.start()
        time.sleep(rng.uniform(0.3, 3.0))
        asked = time.perf_counter()
        snapshot.interrupt()
        while worker.is_alive():
            worker.join(WATCHDOG_S)
            snapshot.interrupt()
        return (ended[0] - asked) * 1000


def _candidate(
    data: Path, scratch: Path, threads: int, ranges: bool
) -> tuple[float, int, list[float]]:
    engine = duckdb_engine.DuckDbEngine(
        data / naming.DUCKDB_FILE,
        read_only=True,
        memory_limit="160MB",
        threads=threads or None,
        export_ranges=ranges,
    )
    try:
        exports = [_export_s(engine, scratch / "out.csv") for _ in range(ROUNDS)]
        rng = random.Random(7)
        cancels = [_cancel_ms(engine, scratch / "out.csv", rng) for _ in range(TRIALS)]
    finally:
        engine.close()
    return statistics.median(s for s, _ in exports), exports[0][1], cancels


def _reference_s(data: Path, scratch: Path, sql: str) -> float:
    con = duckdb.connect(str(data / naming.DUCKDB_FILE), read_only=True)
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute("SET TimeZone = 'America/Los_Angeles'")
        began = time.perf_counter()
        con.execute(f"COPY ({sql}) TO '{scratch}/ref.csv' (FORMAT csv, HEADER, COMMENT '')")
        return time.perf_counter() - began
    finally:
        con.close()


def _pct(samples: list[float], fraction: float) -> float:
    return bench_aqua._percentile(samples, fraction)


def run() -> str:
    data = bench_aqua._data_dir()
    with tempfile.TemporaryDirectory(dir=data) as name:
        scratch = Path(name)
        table = f'SELECT * FROM "{naming.schema_name("demo")}"."InvoiceItem"'
        references: dict[str, Callable[[], float]] = {
            "raw table": lambda: _reference_s(data, scratch, table),
            "same formatted SQL": lambda: _reference_s(data, scratch, _lowered().sql),
        }
        ref = {
            label: statistics.median(f() for _ in range(ROUNDS)) for label, f in references.items()
        }
        candidates = {
            "one statement, 1 thread": _candidate(data, scratch, 1, False),
            "one statement, every core (default)": _candidate(data, scratch, 0, False),
            "ranged, every core": _candidate(data, scratch, 0, True),
        }
    rows = next(iter(candidates.values()))[1]
    lines = [
        f"### Export candidates, scale 50 ({rows:,} InvoiceItem rows), in process",
        "",
        f"DuckDB COPY, every core: raw table {ref['raw table']:.2f} s "
        f"({rows / ref['raw table']:,.0f} rows/s); the same formatted SQL "
        f"{ref['same formatted SQL']:.2f} s ({rows / ref['same formatted SQL']:,.0f} rows/s).",
        "",
        "| candidate | export | vs raw-table COPY | vs same-SQL COPY | cancel p50 / p95 / max |",
        "|---|---|---|---|---|",
    ]
    for label, (seconds, _, cancels) in candidates.items():
        lines.append(
            f"| {label} | {seconds:.2f} s, {rows / seconds:,.0f} rows/s | "
            f"{ref['raw table'] / seconds:.2f}x | {ref['same formatted SQL'] / seconds:.2f}x | "
            f"{_pct(cancels, 0.5):.0f} / {_pct(cancels, 0.95):.0f} / {max(cancels):.0f} ms |"
        )
    return "\n".join(lines)
