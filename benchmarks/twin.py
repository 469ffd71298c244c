"""DuckDB's own time for a statement, taken right beside the server's job that runs it.

A reference measured minutes before or after the server is mostly noise on this machine: DuckDB's
own COPY of the monthly Data Query group-by took 1.30 s in one run and 1.86 s in the next. The
server's DuckDB file is locked while it runs, so the reference reads a copy of it (the twin),
on one connection with DuckDB's defaults (every core) kept open across the rounds, as the
server's own is: each reference runs right after one of the server's jobs, on a machine in the
same state.
"""

from __future__ import annotations

import os
import shutil
import time
from pathlib import Path
from types import TracebackType

import duckdb

from aquarium.engines import naming


class Twin:
    """A copy of ``data_dir``'s DuckDB file in ``into`` (a folder it creates), opened read-only
    with DuckDB's defaults and the session time zone ``zone``."""

    def __init__(self, data_dir: Path, into: Path, zone: str) -> None:
        into.mkdir()
        self.folder = into
        for name in (naming.DUCKDB_FILE, naming.DUCKDB_FILE + ".wal"):
            if (data_dir / name).exists():
                shutil.copyfile(data_dir / name, into / name)
        # The copy's gigabytes on disk before anything is timed: their writeback put iowait
        # at 12% during the runs that followed the copy.
        os.sync()
        self.con = duckdb.connect(str(into / naming.DUCKDB_FILE), read_only=True)
        self.con.execute("SET enable_progress_bar = false")
        self.con.execute("SET preserve_insertion_order = false")
        self.con.execute(f"SET TimeZone = '{zone}'")

    def copy(self, statement: str) -> tuple[float, int]:
        """DuckDB's ``COPY (statement) TO csv`` (the file deleted after): (seconds, rows)."""
        target = self.folder / "reference.csv"
        start = time.perf_counter()
        found = self.con.execute(f"COPY ({statement}) TO '{target}' (FORMAT csv, HEADER)")
        seconds = time.perf_counter() - start
        rows = found.fetchone()
        target.unlink()
        return seconds, int(rows[0]) if rows else 0

    def fetch(self, statement: str) -> tuple[float, int]:
        """DuckDB running ``statement`` to Python rows: (seconds, rows)."""
        start = time.perf_counter()
        rows = self.con.execute(statement).fetchall()
        return time.perf_counter() - start, len(rows)

    def __enter__(self) -> Twin:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.con.close()
        shutil.rmtree(self.folder, ignore_errors=True)
