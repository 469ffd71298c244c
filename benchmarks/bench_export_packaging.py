"""Results packaged as the engine writes (issue 15): time and peak disk of a gzip export.

``python -m benchmarks.bench_export_packaging DATA_DIR [ROWS_PER_SEGMENT]`` exports
``select * from InvoiceItem`` of the ``demo`` tenant in DATA_DIR (``datagen.generate_into``)
three ways: segmented gzip (``segments.write_segments``), the same with each segment compressed
as it is written in the reader thread (no packager thread; only when ``export.piped`` exists),
and one gzip file (``writer.write_result``). For each: wall seconds, the seconds the engine's
``copy_csv`` took (how long it held its snapshot and threads), and the peak bytes in the results
directory, sampled every 0.1 s. Run it with PYTHONPATH at an older tree's ``src`` for the
figures before.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from aquarium.catalog import model
from aquarium.engines import base, duckdb_engine, naming
from aquarium.export import segments, writer
from aquarium.zoql import check, lower, translate

QUERY = "select * from InvoiceItem"
SAMPLE_S = 0.1


def _disk(directory: Path) -> int:
    return sum(entry.stat().st_blocks * 512 for entry in os.scandir(directory) if entry.is_file())


class _PeakDisk:
    def __init__(self, directory: Path) -> None:
        self.directory, self.peak = directory, 0
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()

    def _sample(self) -> None:
        while not self._done.wait(SAMPLE_S):
            self.peak = max(self.peak, _disk(self.directory))

    def stop(self) -> int:
        self._done.set()
        self._thread.join()
        return max(self.peak, _disk(self.directory))


class _TimedSnapshot:
    """The snapshot, timing its ``copy_csv`` (the engine's part of the export)."""

    def __init__(self, snapshot: base.Snapshot) -> None:
        self.snapshot, self.engine_s = snapshot, 0.0

    def copy_csv(self, query: lower.LoweredQuery, path: Path, options: base.CsvOptions) -> int:
        began = time.perf_counter()
        try:
            return self.snapshot.copy_csv(query, path, options)
        finally:
            self.engine_s += time.perf_counter() - began


def _inline_segments(
    snapshot: base.Snapshot,
    query: lower.LoweredQuery,
    scratch: Path,
    new_file: Callable[[], tuple[str, Path]],
    rows_per_segment: int,
) -> int:
    """The alternative measured: the reader gzips each segment as it cuts it (no plain segment
    on disk, no packager thread)."""
    from aquarium.export import piped  # only in trees that write through a pipe

    def consume(stream: BinaryIO) -> int:
        rows = segments.records(stream)
        header = next(rows, b"")
        count, files = 0, 0
        with contextlib.ExitStack() as segment:
            out: BinaryIO | None = None
            for record in rows:
                if out is None or count == rows_per_segment:
                    segment.close()
                    _, path = new_file()
                    out = segment.enter_context(
                        writer.packaging(path, file_format="GZIP", query_name="q")
                    )
                    out.write(header)
                    count, files = 0, files + 1
                out.write(record)
                count += 1
        return files

    _, files = piped.run(
        scratch, lambda fifo: snapshot.copy_csv(query, fifo, base.CsvOptions()), consume
    )
    return files


def _namer(directory: Path) -> Callable[[], tuple[str, Path]]:
    made = iter(range(1_000_000))

    def new_file() -> tuple[str, Path]:
        index = next(made)
        return str(index), directory / f".run.f{index}.partial"

    return new_file


def main(data_dir: Path, rows_per_segment: int) -> None:
    engine = duckdb_engine.DuckDbEngine(data_dir / naming.DUCKDB_FILE, read_only=True)
    context = check.Context(catalog=model.default(), time_zone="UTC", now=dt.datetime.now(dt.UTC))
    options = lower.Options(dialect="duckdb", schema=naming.schema_name("demo"))
    query = translate.translate(QUERY, context=context, options=options)
    ways: dict[str, Callable[[base.Snapshot, Path, Callable[[], tuple[str, Path]]], object]] = {
        "segmented gzip": lambda snap, scratch, new_file: segments.write_segments(
            snap,
            query,
            scratch,
            new_file,
            file_format="GZIP",
            query_name="q",
            csv=base.CsvOptions(),
            rows_per_segment=rows_per_segment,
        ),
        "segmented gzip, compressed in the reader": lambda snap, scratch, new_file: (
            _inline_segments(snap, query, scratch, new_file, rows_per_segment)
        ),
        "one gzip file": lambda snap, scratch, new_file: writer.write_result(
            snap, query, new_file()[1], file_format="GZIP", query_name="q", csv=base.CsvOptions()
        ),
    }
    for name, export in ways.items():
        with tempfile.TemporaryDirectory(dir=data_dir) as results, engine.snapshot("demo") as snap:
            directory = Path(results)
            new_file = _namer(directory)
            timed = _TimedSnapshot(snap)
            disk = _PeakDisk(directory)
            began = time.perf_counter()
            try:
                export(timed, directory / ".run.scratch.partial", new_file)  # type: ignore[arg-type]
            except ImportError:
                disk.stop()
                continue
            wall = time.perf_counter() - began
            peak = disk.stop()
            final = _disk(directory)
            print(
                f"| {name} | {wall:.2f} | {timed.engine_s:.2f} | {peak / 1e6:,.0f} MB |"
                f" {final / 1e6:,.0f} MB |"
            )
    engine.close()


if __name__ == "__main__":
    main(Path(sys.argv[1]), int(sys.argv[2]) if len(sys.argv) > 2 else 100_000)
