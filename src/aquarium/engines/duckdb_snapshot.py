"""A snapshot of the embedded engine: one DuckDB cursor inside ``BEGIN TRANSACTION READ ONLY``.

``interrupt()`` on the cursor (and on its peers, the extra cursors a one-table export runs on:
``ranged_copy.py``) stops its statement. DuckDB's exceptions become the error tree's here.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import duckdb
from sqlglot import exp

from aquarium.domain import crud_errors, errors
from aquarium.engines import (
    base,
    dataquery_guard,
    memory_gate,
    ranged_copy,
    row_text,
    writes_port,
)
from aquarium.zoql import formatting, lower


def sql_literal(value: str) -> str:
    """``value`` as a DuckDB string literal, escaped by sqlglot."""
    return exp.Literal.string(value).sql(dialect=formatting.DUCKDB)


def engine_errors() -> AbstractContextManager[None]:
    """DuckDB's exceptions as the error tree's (``base.mapped_errors``)."""
    return base.mapped_errors(duckdb.InterruptException, duckdb.OutOfMemoryException, duckdb.Error)


@contextmanager
def write_errors() -> Iterator[None]:
    """DuckDB's failures inside a write transaction as the error tree's: its memory budget is a
    failure of ours (logged); anything else is a value the column cannot hold (the engine's
    words stay on ``__cause__`` for the log, never for a client)."""
    try:
        yield
    except duckdb.OutOfMemoryException as exc:
        raise errors.EngineOutOfMemory(engine_text=base.first_line(exc)) from exc
    except duckdb.Error as exc:
        raise crud_errors.InvalidValue(writes_port.VALUE_DOES_NOT_FIT) from exc


class DuckDbStatements:
    """:class:`writes_port.Statements` on a DuckDB cursor (``?`` placeholders)."""

    def __init__(self, cursor: duckdb.DuckDBPyConnection) -> None:
        self.cursor = cursor

    def rows(
        self, statement: str, parameters: writes_port.Parameters = ()
    ) -> list[tuple[Any, ...]]:
        return self.cursor.execute(statement, list(parameters)).fetchall()

    def changed(self, statement: str, parameters: writes_port.Parameters = ()) -> int:
        # DuckDB answers a change with one row: the count.
        found = self.cursor.execute(statement, list(parameters)).fetchone()
        return int(found[0]) if found else 0


UNBOUNDED = 1 << 30  # the capacity of a gate that holds nothing back


def _need(sql: str, *, paced: bool = False) -> memory_gate.Need:
    """The budget ``sql`` runs under (``memory_gate.Budget``). A plain statement (one table's
    rows, nothing built: ``ranged_copy.streams``) whose rows a slower reader paces (``paced``)
    is served by the scan size; one DuckDB paces runs faster in the working size: measured
    through the server, a plain CSV export at scale 50 ran at 0.94x DuckDB's own COPY under
    384MB, 0.80x under 200MB and 0.70x under 160MB, while a gzip export runs at a third of
    DuckDB's speed whatever the budget. Anything else builds a hash table or a sort."""
    if not ranged_copy.streams(sql):
        return memory_gate.Need.BUILDING
    return memory_gate.Need.SCAN if paced else memory_gate.Need.WORKING


def _count(rows: list[tuple[object, ...]]) -> int:
    """The row count a COPY answers."""
    return int(str(rows[0][0])) if rows else 0


#: Opens ``n`` more cursors reading the snapshot's data (:meth:`DuckDbEngine._peers`); none
#: when it cannot promise the same data.
Peers = Callable[[int], list[duckdb.DuckDBPyConnection]]


class DuckDbSnapshot:
    def __init__(
        self,
        cursor: duckdb.DuckDBPyConnection,
        taken_at: dt.datetime,
        gate: memory_gate.MemoryGate | None = None,
        *,
        schema: str = "",
        export_cursors: int = 1,
        peers: Peers | None = None,
    ) -> None:
        self.cursor = cursor
        self.taken_at = taken_at
        self.schema = schema  # the tenant's: the only one a Data Query statement may read
        self._time_zone: str | None = None
        self._gate = gate or memory_gate.MemoryGate(UNBOUNDED)
        self._stop_waiting = False  # an interrupt reached a statement waiting at the gate
        self._export_cursors = export_cursors
        self._open_peers = peers
        self._peers: list[duckdb.DuckDBPyConnection] | None = None  # opened at the first use
        self._peer_zones: dict[int, str] = {}

    def _prepare(self, query: lower.LoweredQuery) -> None:
        self._set_time_zone(query.session_time_zone)

    def _set_time_zone(self, time_zone: str) -> None:
        if time_zone != self._time_zone:
            with engine_errors():
                self.cursor.execute(f"SET SESSION TimeZone = {sql_literal(time_zone)}")
            self._time_zone = time_zone

    def _run(
        self,
        statement: str,
        query: lower.LoweredQuery | int,
        *,
        need: memory_gate.Need | None,
        fresh: bool = True,
    ) -> list[tuple[object, ...]]:
        """The statement's rows, once the memory gate admits a statement as wide as ``query``
        (or that many columns). Fetched inside the error mapping: DuckDB may fail while it
        streams rows to Python (a value Python cannot hold), not only when it starts.

        ``need``: the budget's size it runs under (:func:`_need`; None for a DESCRIBE, which
        leaves it as it is). ``fresh=False`` continues a sequence of statements started with a
        fresh one: an interrupt between them stops the next one before it starts."""
        if fresh:
            self._stop_waiting = False
        columns = query if isinstance(query, int) else len(query.headers)
        admitted = self._gate.admit(columns, stopped=lambda: self._stop_waiting, need=need)
        with admitted, engine_errors():
            return self.cursor.execute(statement).fetchall()

    def copy_csv(self, query: lower.LoweredQuery, path: Path, options: base.CsvOptions) -> int:
        self._prepare(query)
        # COMMENT '': otherwise DuckDB quotes every value holding '#', unlike RFC 4180 and
        # PostgreSQL, and the two engines' files would differ.
        # USE_TMP_FILE false: write the path in place, front to back (export.TailHasher).
        copy_options = (
            f"FORMAT csv, COMMENT '', USE_TMP_FILE false, NULLSTR {sql_literal(options.null)}"
        )
        found = self._ranged(query.sql, query.session_time_zone)
        if found is None:
            statement = (
                f"COPY ({query.sql}) TO {sql_literal(str(path))} ({copy_options}, HEADER true)"
            )
            need = _need(query.sql, paced=options.paced)
            return _count(self._run(statement, query, need=need))
        ranged, cursors = found
        return self._run_ranged(ranged, cursors, path, copy_options, len(query.headers))

    def _ranged(
        self, sql: str, zone: str
    ) -> tuple[ranged_copy.RangedSelect, list[duckdb.DuckDBPyConnection]] | None:
        """``sql`` cut into rowid ranges and the cursors to run them on (this snapshot's and
        its peers, set to ``zone``), or None: one thread, a query that cannot be cut (no peer is
        opened for it), no peer that can read the same data (a write went through since)."""
        ranged = ranged_copy.cut(sql) if self._export_cursors > 1 else None
        if ranged is None or self._open_peers is None:
            return None
        with engine_errors():
            if not ranged.reads_a_table(self.cursor):
                return None
            if self._peers is None:
                self._peers = self._open_peers(self._export_cursors - 1)
            for peer in self._peers:
                if self._peer_zones.get(id(peer)) != zone:
                    peer.execute(f"SET SESSION TimeZone = {sql_literal(zone)}")
                    self._peer_zones[id(peer)] = zone
        return (ranged, [self.cursor, *self._peers]) if self._peers else None

    def _run_ranged(
        self,
        ranged: ranged_copy.RangedSelect,
        cursors: list[duckdb.DuckDBPyConnection],
        path: Path,
        options: str,
        columns: int,
        *,
        header: bool = True,
    ) -> int:
        """A ranged export (``ranged_copy.py``), admitted by the memory gate as wide as its
        statements side by side; ``header``: the COPY format takes a HEADER option."""
        self._stop_waiting = False
        export = ranged_copy.RangedExport(
            ranged,
            cursors,
            path,
            options,
            lambda: self._stop_waiting,
            sql_literal,
            header=header,
        )
        admitted = self._gate.admit(
            columns * len(cursors),
            stopped=lambda: self._stop_waiting,
            need=memory_gate.Need.WORKING,
        )
        with admitted, engine_errors():
            return export.run()

    def close_peers(self) -> None:
        """End the peers' transactions (the snapshot is over)."""
        for peer in self._peers or []:
            with contextlib.suppress(duckdb.Error):
                peer.close()
        self._peers = []

    def copy_parquet(self, query: lower.LoweredQuery, path: Path) -> int:
        self._prepare(query)
        statement = f"COPY ({query.sql}) TO {sql_literal(str(path))} (FORMAT parquet)"
        return _count(self._run(statement, query, need=_need(query.sql)))

    def copy_rows(self, sql: str, path: Path, layout: base.RowLayout) -> int:
        self._stop_waiting = False
        self._set_time_zone(layout.time_zone)
        described = self._run(f"DESCRIBE {sql}", 1, need=None, fresh=False)
        labels = row_text.unique_labels([str(row[0]) for row in described])
        columns = [
            row_text.duckdb_column(label, str(row[1]))
            for label, row in zip(labels, described, strict=True)
        ]
        compression = "gzip" if layout.gzip else "none"
        csv = layout.format is not base.RowFormat.JSON_LINES
        if csv:
            # COMMENT '': otherwise DuckDB quotes every value holding '#' (see copy_csv).
            options = (
                f"FORMAT csv, DELIMITER {sql_literal(layout.delimiter)}, "
                "QUOTE '\"', ESCAPE '\"', COMMENT '', NULLSTR ''"
            )
        else:
            options = "FORMAT json"
        # Ranged too when it reads one table plainly; gzip parts appended are one gzip file
        # of several members, which every gzip reader reads through.
        options += f", COMPRESSION {compression}, USE_TMP_FILE false"
        found = self._ranged(sql, layout.time_zone)
        if found is not None:
            ranged, cursors = found
            wrapped = dataclasses.replace(
                ranged, select=row_text.duckdb_select(ranged.select, columns, layout)
            )
            return self._run_ranged(wrapped, cursors, path, options, len(columns), header=csv)
        select = row_text.duckdb_select(sql, columns, layout)
        header = ", HEADER true" if csv else ""
        statement = f"COPY ({select}) TO {sql_literal(str(path))} ({options}{header})"
        return _count(self._run(statement, len(columns), need=_need(sql), fresh=False))

    def fetch(self, query: lower.LoweredQuery) -> list[tuple[object, ...]]:
        self._prepare(query)
        return self._run(query.sql, query, need=_need(query.sql))

    def guard_dataquery(self, sql: str) -> None:
        """Refuse a translated Data Query statement that could reach beyond the tenant's tables
        (``dataquery_guard.check_duckdb``); nothing of it runs."""
        with engine_errors():
            dataquery_guard.check_duckdb(self.cursor, sql, self.schema)

    def interrupt(self) -> None:
        self._stop_waiting = True
        self._gate.wake()
        self.cursor.interrupt()
        for peer in self._peers or []:
            peer.interrupt()
