"""A report run's PROCESSINGDATA phase: the raw query result becomes Zuora's display strings.

QUERYDATA leaves the query's typed result in a Parquet file (columns ``c1``, ``c2``, ...).
:meth:`ReportProcessor.process` reads it on a private DuckDB connection and writes

- the **data** file: Parquet, one VARCHAR column per report column, named by its field id (the
  keys of report-data JSON rows), rows in the raw order; :func:`read_page` serves pages of it;
- the **export** (reference reporting.md §4.5): a BOM ``FF FE``, then UTF-16LE text, fields
  separated by tabs, lines ending in ``\\n``, the headers first. A field holding a tab, a line
  break or a double quote is quoted RFC-4180 style; every other field is written bare. A detail
  report exports its FIELD columns; a summary its ROW, then COLUMN, then VALUE columns (unpivoted);
- the **pivoted** export of a summary (the UI's crosstab, :func:`_crosstab`), in the same encoding.

How each value is shown is :mod:`report_display`.

Every row-sized step runs inside DuckDB: formatting is the projection of a ``COPY``, which writes
the data Parquet and a UTF-8 TSV body; Python only transcodes that body in chunks and lays out
the crosstab, whose input (a summary) is small. Files are written under a ``.part`` name and
renamed when all are complete; a failed or interrupted run removes what it wrote.
"""

from __future__ import annotations

import codecs
import contextlib
import dataclasses
import functools
import hashlib
import shutil
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import BinaryIO

import duckdb
from sqlglot import exp

from aquarium.domain import errors
from aquarium.engines import duckdb_engine
from aquarium.export import writer
from aquarium.export.report_display import (
    SUMMARY_ROLES,
    ColumnRole,
    ReportColumn,
    call,
    datetime,
    display,
    text,
)
from aquarium.zoql import formatting

EXPORT_CONTENT_TYPE = "text/csv;charset=utf-16"
DATA_CONTENT_TYPE = "application/vnd.apache.parquet"
DEFAULT_THREADS = 1
DEFAULT_MEMORY_LIMIT = "160MB"
TRANSCODE_CHUNK_BYTES = writer.CHUNK_BYTES  # bytes of UTF-8 read per transcoding step
PART_SUFFIX = ".part"  # an output being written; renamed to its own name when complete
BODY_SUFFIX = ".utf8"  # DuckDB's UTF-8 export body, transcoded then removed

TSV_NEEDS_QUOTES = frozenset('\t\n\r"')
ROW_NUMBER = "file_row_number"  # the virtual column read_parquet adds on request


@dataclass(frozen=True)
class ReportFiles:
    """The written files of one run; ``pivoted`` is None unless a crosstab was asked for."""

    data: writer.WrittenFile
    export: writer.WrittenFile
    pivoted: writer.WrittenFile | None


# -- statements ---------------------------------------------------------------------------------


def _sql(node: exp.Expr) -> str:
    return node.sql(dialect=formatting.DUCKDB)


@functools.lru_cache(maxsize=1024)
def _shown(column: ReportColumn, time_zone: str) -> str:
    """The SQL of ``column``'s display string (:func:`display`). Built once per column and zone:
    building and writing it with sqlglot took about 7 of a small summary's 31 ms of processing."""
    return _sql(display(column, time_zone))


def _name(name: str) -> str:
    return _sql(exp.to_identifier(name, quoted=True))


def _parquet(path: Path, *, row_numbers: bool = False) -> str:
    numbered = f", {ROW_NUMBER} = true" if row_numbers else ""
    return f"read_parquet({_sql(text(str(path)))}{numbered})"


def _copy(select: str, target: Path, options: str) -> str:
    return f"COPY ({select}) TO {_sql(text(str(target)))} ({options})"


PARQUET = "FORMAT parquet"
# HEADER false: the header line is written by Python (DuckDB renames duplicate column names).
# NULLSTR '': the body selects NULL for an empty string, because DuckDB quotes a value equal to
# the null string and an empty field must stay bare. COMMENT '': otherwise '#' gets quoted.
TSV = (
    f"FORMAT csv, DELIMITER {_sql(text(chr(9)))}, HEADER false, QUOTE '\"', ESCAPE '\"', "
    "NULLSTR '', COMMENT ''"
)


def _data_select(columns: Sequence[ReportColumn], raw: Path, time_zone: str) -> str:
    shown = ", ".join(f"{_shown(c, time_zone)} AS {_name(c.field_id)}" for c in columns)
    return f"SELECT {shown} FROM {_parquet(raw)}"


def _body_select(layout: Sequence[ReportColumn], data: Path) -> str:
    cells = ", ".join(f"NULLIF({_name(c.field_id)}, '')" for c in layout)
    return f"SELECT {cells} FROM {_parquet(data)}"


def _crosstab_select(
    raw: Path,
    rows: Sequence[ReportColumn],
    cols: Sequence[ReportColumn],
    values: Sequence[ReportColumn],
    time_zone: str,
) -> str:
    """Per raw row, in order: the first row number of its row-group combination, the rank of its
    column-group combination, then the display strings of the row groups, column groups, values.

    The combinations are told apart by the raw values (NULL equal to NULL), not by their labels.
    """
    partition = ", ".join(_name(c.key) for c in rows)
    first_seen = f"MIN({ROW_NUMBER}) OVER ({'PARTITION BY ' + partition if rows else ''})"
    # Column blocks go in ascending order of their raw values (months in calendar order), not
    # in order of first appearance, which follows the row groups.
    order = ", ".join(f"{_name(c.key)} NULLS LAST" for c in cols)
    block_rank = f"dense_rank() OVER (ORDER BY {order})"
    shown = ", ".join(_shown(c, time_zone) for c in (*rows, *cols, *values))
    source = _parquet(raw, row_numbers=True)
    return f"SELECT {first_seen}, {block_rank}, {shown} FROM {source} ORDER BY {ROW_NUMBER}"


def _export_layout(columns: Sequence[ReportColumn], *, summary: bool) -> list[ReportColumn]:
    """The exported columns in export order; ValueError for a layout that cannot be written."""
    if len({c.field_id for c in columns}) != len(columns):
        raise ValueError("report columns must have distinct field ids")
    roles = SUMMARY_ROLES if summary else (ColumnRole.FIELD,)
    layout = [c for role in roles for c in columns if c.role is role]
    if not layout:
        raise ValueError("the report has no column to export")
    return layout


# -- the exported text ---------------------------------------------------------------------------


def _tsv_field(text: str) -> str:
    if TSV_NEEDS_QUOTES.isdisjoint(text):
        return text
    return '"' + text.replace('"', '""') + '"'


def _tsv_lines(lines: Sequence[Sequence[str]]) -> str:
    return "".join("\t".join(_tsv_field(cell) for cell in line) + "\n" for line in lines)


class _Utf16Sink:
    """Writes a BOM, then text as UTF-16LE, to ``handle``, counting and hashing the bytes."""

    def __init__(self, handle: BinaryIO) -> None:
        self._handle = handle
        self._digest = hashlib.sha256()
        self.size = 0
        self._put(codecs.BOM_UTF16_LE)

    def _put(self, data: bytes) -> None:
        self._handle.write(data)
        self._digest.update(data)
        self.size += len(data)

    def write(self, text: str) -> None:
        self._put(text.encode("utf-16-le"))

    def sha256(self) -> str:
        return self._digest.hexdigest()


def _crosstab(
    records: Sequence[tuple[object, ...]],
    rows: Sequence[ReportColumn],
    cols: Sequence[ReportColumn],
    values: Sequence[ReportColumn],
) -> tuple[list[list[str]], int]:
    """The crosstab's lines (header lines first) and its number of data lines.

    ``records`` are rows of :func:`_crosstab_select`. Each column-group combination, in order of
    its raw values, is a block of one column per value; one header line per column group
    shows the combinations (its header sits above the last row-group column), a last header line
    names the row groups and values. Each row-group combination, in order of first appearance, is
    a data line; a block without a raw row for it is empty. The first cell column always exists,
    so a report without row groups starts every line with one empty cell.
    """
    n_rows, n_cols = len(rows), len(cols)
    blocks: dict[object, Sequence[str]] = {}
    lines: dict[object, tuple[Sequence[str], dict[object, Sequence[str]]]] = {}
    for row_key, col_key, *cells in records:
        labels = [str(cell) for cell in cells]
        blocks.setdefault(col_key, labels[n_rows : n_rows + n_cols])
        _, line = lines.setdefault(row_key, (labels[:n_rows] or [""], {}))
        line.setdefault(col_key, labels[n_rows + n_cols :])
    blocks = dict(sorted(blocks.items(), key=lambda item: int(str(item[0]))))
    lead = [""] * (max(n_rows, 1) - 1)
    out = [
        [*lead, col.header, *(combo[i] for combo in blocks.values() for _ in values)]
        for i, col in enumerate(cols)
    ]
    out.append([*([r.header for r in rows] or [""]), *(v.header for _ in blocks for v in values)])
    empty = [""] * len(values)
    for heads, line in lines.values():
        out.append([*heads, *(cell for key in blocks for cell in line.get(key, empty))])
    return out, len(lines)


# -- the processor -------------------------------------------------------------------------------


def _part(target: Path) -> Path:
    return target.with_name(target.name + PART_SUFFIX)


class _Outputs:
    """The files of one run: each written under its ``.part`` name until :meth:`publish`."""

    def __init__(self) -> None:
        self._created: list[Path] = []
        self._pending: list[Path] = []

    def temporary(self, path: Path) -> Path:
        """``path``, to be removed by :meth:`discard`."""
        self._created.append(path)
        return path

    def part(self, target: Path) -> Path:
        """Where ``target`` is written until :meth:`publish`."""
        self._pending.append(target)
        return self.temporary(_part(target))

    def publish(self) -> None:
        """Rename every part to its target."""
        for target in self._pending:
            self._created.append(target)
            _part(target).replace(target)

    def discard(self) -> None:
        """Remove every file created so far (parts, temporaries and published targets)."""
        for path in self._created:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()


_DATABASES: dict[tuple[int, str], duckdb.DuckDBPyConnection] = {}
_KNOWN_ZONES: set[str] = set()  # time zones DuckDB has shown a datetime in
_DATABASES_LOCK = threading.Lock()


def _database(threads: int, memory_limit: str) -> duckdb.DuckDBPyConnection:
    """The process's in-memory processing database for these bounds, opened on first use.

    Opening a DuckDB database costs ~50 ms, a cursor on an open one ~0.1 ms (a run's whole
    PROCESSINGDATA for a small summary is ~120 ms). Session settings (the time zone) belong to
    each cursor; nothing else is kept between runs: processing reads and writes files only.
    """
    key = (threads, memory_limit)
    with _DATABASES_LOCK:
        found = _DATABASES.get(key)
        if found is None:
            # preserve_insertion_order: the outputs keep the raw order without an ORDER BY.
            config: dict[str, str | bool | int | float | list[str]] = {
                "threads": threads,
                "memory_limit": memory_limit,
                "preserve_insertion_order": True,
            }
            found = _DATABASES[key] = duckdb.connect(config=config)
        return found


class ReportProcessor:
    """Turns raw report results into their files, one run at a time, on its own connection
    (a cursor) to an in-memory DuckDB database the process shares.

    ``time_zone`` (an IANA name) is where datetimes are shown; ValueError when DuckDB does not
    know it. ``threads`` and ``memory_limit`` bound the shared database (one per pair of
    values). Usable as a context manager, which closes the connection.
    """

    def __init__(
        self,
        time_zone: str,
        *,
        threads: int = DEFAULT_THREADS,
        memory_limit: str = DEFAULT_MEMORY_LIMIT,
    ) -> None:
        self.time_zone = time_zone
        self._connection = _database(threads, memory_limit).cursor()
        self._lock = threading.Lock()
        self._running = False
        self._stop = threading.Event()
        try:
            # A TIMESTAMP without zone (never expected) is then read as UTC, not as host time.
            self._connection.execute("SET TimeZone = 'UTC'")
            if time_zone not in _KNOWN_ZONES:
                self._connection.execute(_sql(exp.select(datetime(call("now"), time_zone))))
                _KNOWN_ZONES.add(time_zone)
        except duckdb.Error as exc:
            self._connection.close()
            raise ValueError(f"unknown time zone {time_zone!r}") from exc

    def __enter__(self) -> ReportProcessor:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Release the DuckDB connection; call it when no :meth:`process` runs."""
        with self._lock:
            self._connection.close()

    def interrupt(self) -> None:
        """Stop the running :meth:`process`, which then raises ``errors.ProcessingInterrupted``.

        Safe from any thread; does nothing when no :meth:`process` runs. It holds for the rest
        of the run it reaches: one landing between two statements stops the next.
        """
        with self._lock:
            if not self._running:
                return
            self._stop.set()
            self._connection.interrupt()

    def process(
        self,
        raw: Path,
        columns: Sequence[ReportColumn],
        *,
        summary: bool,
        data_path: Path,
        export_path: Path,
        pivoted_path: Path | None,
    ) -> ReportFiles:
        """Write the data Parquet, the export and, for a summary given ``pivoted_path``, the
        crosstab export, from the raw Parquet ``raw`` whose columns ``columns`` describe.

        Record counts are data rows (crosstab data lines for the pivoted file); sizes and
        checksums are of the bytes on disk. A summary without column groups gets a pivoted file
        identical to its export. ValueError for repeated field ids or nothing to export;
        :class:`errors.ProcessingInterrupted` when :meth:`interrupt` stopped it. On any failure the
        files it wrote are removed before it raises.
        """
        layout = _export_layout(columns, summary=summary)
        with self._lock:
            self._running = True
            self._stop.clear()
        outputs = _Outputs()
        try:
            data = self._write_data(raw, columns, data_path, outputs)
            export = self._write_export(layout, data, export_path, outputs)
            pivoted = None
            if summary and pivoted_path is not None:
                pivoted = self._write_pivoted(raw, layout, export, pivoted_path, outputs)
            self._check()
            outputs.publish()
        except BaseException as exc:
            outputs.discard()
            if self._stop.is_set() and not isinstance(exc, errors.ProcessingInterrupted):
                # Whatever a stopped statement raised, the reason is the interrupt.
                raise errors.ProcessingInterrupted() from exc
            raise
        finally:
            with self._lock:
                self._running = False
        return ReportFiles(data=data, export=export, pivoted=pivoted)

    def _check(self) -> None:
        if self._stop.is_set():
            raise errors.ProcessingInterrupted()

    def _run(self, statement: str) -> duckdb.DuckDBPyConnection:
        self._check()
        with duckdb_engine.engine_errors():  # DuckDB's words stay out of the run's message
            return self._connection.execute(statement)

    def _write_data(
        self, raw: Path, columns: Sequence[ReportColumn], target: Path, outputs: _Outputs
    ) -> writer.WrittenFile:
        part = outputs.part(target)
        copied = self._run(_copy(_data_select(columns, raw, self.time_zone), part, PARQUET))
        result = copied.fetchone()
        rows = int(result[0]) if result else 0
        size, sha256 = part.stat().st_size, writer.sha256_of(part)
        return writer.WrittenFile(target, rows, size, sha256, DATA_CONTENT_TYPE)

    def _write_export(
        self,
        layout: Sequence[ReportColumn],
        data: writer.WrittenFile,
        target: Path,
        outputs: _Outputs,
    ) -> writer.WrittenFile:
        body = outputs.temporary(target.with_name(target.name + BODY_SUFFIX))
        self._run(_copy(_body_select(layout, _part(data.path)), body, TSV))
        decoder = codecs.getincrementaldecoder("utf-8")()
        with outputs.part(target).open("wb") as handle, body.open("rb") as source:
            sink = _Utf16Sink(handle)
            sink.write(_tsv_lines([[column.header for column in layout]]))
            # The incremental decoder keeps a UTF-8 sequence cut by a chunk boundary for the
            # next chunk.
            while chunk := source.read(TRANSCODE_CHUNK_BYTES):
                self._check()
                sink.write(decoder.decode(chunk))
            sink.write(decoder.decode(b"", final=True))
        body.unlink()
        return writer.WrittenFile(
            target, data.record_count, sink.size, sink.sha256(), EXPORT_CONTENT_TYPE
        )

    def _write_pivoted(
        self,
        raw: Path,
        layout: Sequence[ReportColumn],
        export: writer.WrittenFile,
        target: Path,
        outputs: _Outputs,
    ) -> writer.WrittenFile:
        part = outputs.part(target)
        rows, cols, values = ([c for c in layout if c.role is role] for role in SUMMARY_ROLES)
        if not cols:
            shutil.copyfile(_part(export.path), part)
            return dataclasses.replace(export, path=target)
        records = self._run(_crosstab_select(raw, rows, cols, values, self.time_zone))
        lines, count = _crosstab(records.fetchall(), rows, cols, values)
        self._check()
        with part.open("wb") as handle:
            sink = _Utf16Sink(handle)
            sink.write(_tsv_lines(lines))
        return writer.WrittenFile(target, count, sink.size, sink.sha256(), EXPORT_CONTENT_TYPE)


def read_page(data: Path, offset: int, limit: int) -> list[dict[str, str]]:
    """Rows ``[offset, offset + limit)`` (0-based, file order) of the data Parquet ``data``, each
    a dict of field id to display string, keys in column order.

    An empty list when ``offset`` is past the end or ``limit`` is 0; ValueError when either is
    negative.
    """
    if offset < 0 or limit < 0:
        raise ValueError("offset and limit must not be negative")
    position = exp.column(ROW_NUMBER)
    window = exp.And(
        this=exp.GTE(this=position, expression=exp.Literal.number(offset)),
        expression=exp.LT(this=position, expression=exp.Literal.number(offset + limit)),
    )
    everything = exp.Star(except_=[exp.column(ROW_NUMBER)])
    select = exp.select(everything).from_(_parquet(data, row_numbers=True)).where(window)
    with duckdb.connect(config={"threads": DEFAULT_THREADS}) as connection:
        result = connection.execute(_sql(select.order_by(position)))
        names = [description[0] for description in result.description or ()]
        return [dict(zip(names, row, strict=True)) for row in result.fetchall()]
