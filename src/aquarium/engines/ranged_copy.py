"""A one-table export as short statements run side by side: every core, and a cancel that lands
within one statement.

DuckDB looks at an interrupt only between tasks, and a task runs up to 50 vectors (about 100,000
rows): one ``COPY`` on every core made a cancel wait for the slowest thread's task to end (p95
about 380 ms on this project's machine, outliers near 2 s); on one thread it was quick but left a
core idle. Here the scan of the query's one table is cut into ranges of ``rowid``, each exported
by a statement sized to take about :data:`TARGET_S`, one cursor per DuckDB thread, each writing
its own part file, appended to the result as each statement ends. A cancel stops the loop and
interrupts the running statements, which are each about one task long.

Every cursor reads the same snapshot: the extra ones begin their transactions while no write can
commit (the engine's write gate, :meth:`DuckDbEngine.peers`), and only when no write committed
since the snapshot began; otherwise the export stays one statement.

Only a plain projection of one table can be cut this way: a join would build its other side in
every statement, and grouping, ordering and limits need every row in one statement.
"""

from __future__ import annotations

import functools
import os
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import duckdb
from sqlglot import ParseError, exp, parse_one

from aquarium.zoql import formatting

TARGET_S = 0.12  # seconds a statement should take: a cancel waits for at most about this
VECTOR_ROWS = 2048  # DuckDB's vector: ranges start on vector boundaries
FIRST_ROWS = 8 * VECTOR_ROWS  # the first range, before any statement's speed is known
MIN_ROWS = 4 * VECTOR_ROWS
MAX_ROWS = 60 * VECTOR_ROWS  # about one row group: a statement stays about one task long
_NOT_CUTTABLE = (exp.AggFunc, exp.Window, exp.Subquery, exp.Select, exp.Union, exp.Lateral)


@dataclass(frozen=True)
class RangedSelect:
    """A query whose one table's ``rowid`` can bound it: ``select`` takes two parameters (the
    first rowid in, the first one out); ``last_rowid`` is the statement finding where to stop;
    ``is_table`` answers whether the name is a table (a view has no rowid), given
    ``schema`` and ``table``."""

    select: str
    last_rowid: str
    schema: str
    table: str
    is_table: str = (
        "SELECT count(*) FROM duckdb_tables() "
        "WHERE lower(schema_name) = lower(?) AND lower(table_name) = lower(?)"
    )

    def reads_a_table(self, cursor: duckdb.DuckDBPyConnection) -> bool:
        found = cursor.execute(self.is_table, [self.schema, self.table]).fetchall()
        return bool(found and found[0][0])


def _plain(select: exp.Expr) -> bool:
    """A SELECT that keeps its source's rows one for one: no join, grouping, ordering, limit,
    distinct, window, aggregate or subquery of its own."""
    if not isinstance(select, exp.Select) or not isinstance(select.args.get("from_"), exp.From):
        return False
    modifiers = ("with", "joins", "group", "having", "order", "limit", "offset", "qualify")
    if select.args.get("distinct") or any(select.args.get(key) for key in modifiers):
        return False
    parts = [*select.expressions, select.args.get("where")]
    return not any(part.find(*_NOT_CUTTABLE) for part in parts if part is not None)


def streams(sql: str) -> bool:
    """Whether ``sql`` is a plain projection of one table (what :func:`cut` can cut): it
    streams its rows and builds nothing (no hash table, no sort), so it runs in the engine's
    scan budget (``memory_gate.Budget``)."""
    return cut(sql) is not None


@functools.lru_cache(maxsize=256)  # a job asks twice, and jobs repeat their queries
def cut(sql: str) -> RangedSelect | None:
    """``sql`` bounded by rowid, or None when it is not a plain projection of one table, directly
    or through plain derived tables (a Data Query's columns are renamed in one)."""
    try:
        tree = parse_one(sql, read=formatting.DUCKDB)
    except ParseError:
        return None
    level: exp.Expr = tree
    while True:
        if not _plain(level):
            return None
        source = level.args["from_"].this
        if isinstance(source, exp.Table):
            break
        if not isinstance(source, exp.Subquery):
            return None
        level = source.this
    assert isinstance(level, exp.Select)
    name = source.alias_or_name
    rowid = exp.column("rowid", table=exp.to_identifier(name, quoted=True))
    level.where(
        exp.and_(
            exp.GTE(this=rowid.copy(), expression=exp.Placeholder()),
            exp.LT(this=rowid.copy(), expression=exp.Placeholder()),
        ),
        copy=False,
    )
    last = exp.select(exp.Max(this=rowid.copy())).from_(source.copy())
    return RangedSelect(
        select=tree.sql(dialect=formatting.DUCKDB),
        last_rowid=last.sql(dialect=formatting.DUCKDB),
        schema=source.db,
        table=source.name,
    )


class Ranges:
    """Hands out the next range to export, sized by how fast the asking cursor went last."""

    def __init__(self, start: int, stop: int) -> None:
        self._next = start
        self._stop = stop
        self._lock = threading.Lock()

    def take(self, rows_per_s: float | None) -> tuple[int, int] | None:
        wanted = FIRST_ROWS if rows_per_s is None else int(rows_per_s * TARGET_S)
        size = max(MIN_ROWS, min(MAX_ROWS, wanted // VECTOR_ROWS * VECTOR_ROWS))
        with self._lock:
            if self._next >= self._stop:
                return None
            start = self._next
            self._next = min(self._stop, start + size)
            return start, self._next


def _count(rows: list[tuple[object, ...]]) -> int:
    return int(str(rows[0][0])) if rows else 0


def _append(part: Path, output: BinaryIO, lock: threading.Lock) -> None:
    """Append ``part`` to ``output`` in the kernel (no copy through Python's buffers); the
    output may be a regular file or a pipe (a reader cutting segments as rows arrive)."""
    with part.open("rb") as source, lock:
        size = os.fstat(source.fileno()).st_size
        sent = 0
        while sent < size:
            moved = os.sendfile(output.fileno(), source.fileno(), sent, size - sent)
            if moved == 0:
                raise OSError(f"could not append {part.name}: nothing was written")
            sent += moved


class _Worker(threading.Thread):
    def __init__(self, export: RangedExport, cursor: duckdb.DuckDBPyConnection, part: Path) -> None:
        super().__init__(name=f"ranged-copy-{part.suffix}", daemon=True)
        self.export, self.cursor, self.part = export, cursor, part
        self.rows = 0
        self.failure: BaseException | None = None

    def run(self) -> None:
        export = self.export
        statement = export.copy_statement(self.part, header=False)
        speed: float | None = export.first_speed
        try:
            while not export.stopped():
                taken = export.ranges.take(speed)
                if taken is None:
                    return
                rows, speed = export.copy_range(self.cursor, statement, taken, self.part)
                self.rows += rows
        except BaseException as exc:  # handed to the calling thread, which raises it
            self.failure = exc
            export.fail()


class RangedExport:
    """One ranged export into ``output`` on ``cursors`` (the snapshot's first); ``options`` are
    the COPY options but HEADER (``header``: the format has one); ``stopped`` says the export
    was interrupted."""

    def __init__(
        self,
        ranged: RangedSelect,
        cursors: Sequence[duckdb.DuckDBPyConnection],
        output: Path,
        options: str,
        stopped: Callable[[], bool],
        literal: Callable[[str], str],
        *,
        header: bool = True,
    ) -> None:
        self.ranged, self.cursors, self.output, self.options = ranged, cursors, output, options
        self._stopped, self._literal, self._header = stopped, literal, header
        self._failed = threading.Event()
        self.output_lock = threading.Lock()
        self.ranges = Ranges(0, 0)
        self.first_speed: float | None = None
        self._stream: BinaryIO | None = None

    def stopped(self) -> bool:
        return self._failed.is_set() or self._stopped()

    def fail(self) -> None:
        """A worker failed: the others stop at their next range, their statements interrupted."""
        self._failed.set()
        for cursor in self.cursors:
            cursor.interrupt()

    def copy_statement(self, path: Path, *, header: bool) -> str:
        """The COPY of one range into ``path``; with the header row if ``header`` and the
        format has one."""
        option = f", HEADER {'true' if header else 'false'}" if self._header else ""
        return f"COPY ({self.ranged.select}) TO {self._literal(str(path))} ({self.options}{option})"

    def stream(self) -> BinaryIO:
        assert self._stream is not None, "run() opens the output"
        return self._stream

    def run(self) -> int:
        """Export every range; the rows written. Every statement writes its cursor's part file,
        appended to ``output`` as it ends: the first range, with the header, before the others
        start (it also measures the speed the next ranges are sized by). Raises what a
        statement raised (the first), or DuckDB's InterruptException when stopped."""
        first = self.cursors[0]
        found = first.execute(self.ranged.last_rowid).fetchall()
        stop = int(str(found[0][0])) + 1 if found and found[0][0] is not None else 0
        self.ranges = Ranges(0, stop)
        parts = [
            self.output.with_name(f"{self.output.name}.w{i}") for i in range(len(self.cursors))
        ]
        try:
            with self.output.open("wb") as self._stream:
                rows = self._first_range(first, parts[0])
                workers = [
                    _Worker(self, cursor, part)
                    for cursor, part in zip(self.cursors, parts, strict=True)
                ]
                for worker in workers:
                    worker.start()
                for worker in workers:
                    worker.join()
        finally:
            self._stream = None
            for part in parts:
                part.unlink(missing_ok=True)
        failures = [worker.failure for worker in workers if worker.failure is not None]
        for failure in failures:
            if not isinstance(failure, duckdb.InterruptException):
                raise failure
        if failures or self._stopped():
            raise duckdb.InterruptException("the export was interrupted")
        return rows + sum(worker.rows for worker in workers)

    def copy_range(
        self,
        cursor: duckdb.DuckDBPyConnection,
        statement: str,
        span: tuple[int, int],
        part: Path,
    ) -> tuple[int, float]:
        """Run the COPY ``statement`` of the rowids ``span`` into ``part`` on ``cursor`` and
        append the part to the output: (rows written, rowids per second)."""
        began = time.perf_counter()
        rows = _count(cursor.execute(statement, list(span)).fetchall())
        speed = (span[1] - span[0]) / max(time.perf_counter() - began, 1e-6)
        _append(part, self.stream(), self.output_lock)
        return rows, speed

    def _first_range(self, cursor: duckdb.DuckDBPyConnection, part: Path) -> int:
        span = self.ranges.take(None) or (0, 0)
        statement = self.copy_statement(part, header=True)
        rows, self.first_speed = self.copy_range(cursor, statement, span, part)
        return rows
