"""The embedded engine: one DuckDB file, one schema per tenant.

Each snapshot is a cursor (DuckDB's own connection to the shared database) inside
``BEGIN TRANSACTION READ ONLY``; ``interrupt()`` on that cursor stops its statement.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import duckdb
import pyarrow as pa
from sqlglot import exp

from aquarium import observability
from aquarium.catalog import model
from aquarium.domain import crud_errors, errors
from aquarium.engines import (
    base,
    dataquery_guard,
    ddl,
    loading,
    memory_gate,
    naming,
    reconcile,
    row_text,
    writes_port,
)
from aquarium.zoql import formatting, lower

log = observability.logger(__name__)


def _literal(value: str) -> str:
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


def _count(rows: list[tuple[object, ...]]) -> int:
    """The row count a COPY answers."""
    return int(str(rows[0][0])) if rows else 0


class DuckDbSnapshot:
    def __init__(
        self,
        cursor: duckdb.DuckDBPyConnection,
        taken_at: dt.datetime,
        gate: memory_gate.MemoryGate | None = None,
        *,
        schema: str = "",
    ) -> None:
        self.cursor = cursor
        self.taken_at = taken_at
        self.schema = schema  # the tenant's: the only one a Data Query statement may read
        self._time_zone: str | None = None
        self._gate = gate or memory_gate.MemoryGate(UNBOUNDED)
        self._stop_waiting = False  # an interrupt reached a statement waiting at the gate

    def _prepare(self, query: lower.LoweredQuery) -> None:
        self._set_time_zone(query.session_time_zone)

    def _set_time_zone(self, time_zone: str) -> None:
        if time_zone != self._time_zone:
            with engine_errors():
                self.cursor.execute(f"SET SESSION TimeZone = {_literal(time_zone)}")
            self._time_zone = time_zone

    def _run(
        self, statement: str, query: lower.LoweredQuery | int, *, fresh: bool = True
    ) -> list[tuple[object, ...]]:
        """The statement's rows, once the memory gate admits a statement as wide as ``query``
        (or that many columns). Fetched inside the error mapping: DuckDB may fail while it
        streams rows to Python (a value Python cannot hold), not only when it starts.

        ``fresh=False`` continues a sequence of statements started with a fresh one: an
        interrupt between them stops the next one before it starts."""
        if fresh:
            self._stop_waiting = False
        columns = query if isinstance(query, int) else len(query.headers)
        admitted = self._gate.admit(columns, stopped=lambda: self._stop_waiting)
        with admitted, engine_errors():
            return self.cursor.execute(statement).fetchall()

    def copy_csv(self, query: lower.LoweredQuery, path: Path, options: base.CsvOptions) -> int:
        self._prepare(query)
        statement = (
            f"COPY ({query.sql}) TO {_literal(str(path))} "
            # COMMENT '': otherwise DuckDB quotes every value holding '#', unlike RFC 4180 and
            # PostgreSQL, and the two engines' files would differ.
            # USE_TMP_FILE false: write the path in place, front to back (export.TailHasher).
            f"(FORMAT csv, HEADER true, COMMENT '', USE_TMP_FILE false, "
            f"NULLSTR {_literal(options.null)})"
        )
        return _count(self._run(statement, query))

    def copy_parquet(self, query: lower.LoweredQuery, path: Path) -> int:
        self._prepare(query)
        statement = f"COPY ({query.sql}) TO {_literal(str(path))} (FORMAT parquet)"
        return _count(self._run(statement, query))

    def copy_rows(self, sql: str, path: Path, layout: base.RowLayout) -> int:
        self._stop_waiting = False
        self._set_time_zone(layout.time_zone)
        described = self._run(f"DESCRIBE {sql}", 1, fresh=False)
        labels = row_text.unique_labels([str(row[0]) for row in described])
        columns = [
            row_text.duckdb_column(label, str(row[1]))
            for label, row in zip(labels, described, strict=True)
        ]
        select = row_text.duckdb_select(sql, columns, layout)
        compression = "gzip" if layout.gzip else "none"
        if layout.format is base.RowFormat.JSON_LINES:
            options = "FORMAT json"
        else:
            # COMMENT '': otherwise DuckDB quotes every value holding '#' (see copy_csv).
            options = (
                f"FORMAT csv, HEADER true, DELIMITER {_literal(layout.delimiter)}, "
                "QUOTE '\"', ESCAPE '\"', COMMENT '', NULLSTR ''"
            )
        statement = (
            f"COPY ({select}) TO {_literal(str(path))} "
            f"({options}, COMPRESSION {compression}, USE_TMP_FILE false)"
        )
        return _count(self._run(statement, len(columns), fresh=False))

    def fetch(self, query: lower.LoweredQuery) -> list[tuple[object, ...]]:
        self._prepare(query)
        return self._run(query.sql, query)

    def guard_dataquery(self, sql: str) -> None:
        """Refuse a translated Data Query statement that could reach beyond the tenant's tables
        (``dataquery_guard.check_duckdb``); nothing of it runs."""
        with engine_errors():
            dataquery_guard.check_duckdb(self.cursor, sql, self.schema)

    def interrupt(self) -> None:
        self._stop_waiting = True
        self._gate.wake()
        self.cursor.interrupt()


Now = Callable[[], dt.datetime]


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _any_table(tenant: str) -> str:
    return exp.Table(
        this=exp.to_identifier("Account", quoted=True),
        db=exp.to_identifier(naming.schema_name(tenant), quoted=True),
    ).sql(dialect=formatting.DUCKDB)


def _has_schema(cursor: duckdb.DuckDBPyConnection, schema: str) -> bool:
    found = cursor.execute(
        "SELECT count(*) FROM information_schema.schemata WHERE schema_name = ?", [schema]
    ).fetchone()
    return bool(found and found[0])


class DuckDbEngine:
    """Billing data in ``DATA_DIR/billing.duckdb``."""

    dialect = formatting.DUCKDB

    def __init__(
        self,
        path: Path,
        *,
        read_only: bool = False,
        memory_limit: str | None = None,
        threads: int | None = None,
    ) -> None:
        self.path = path
        self._db = duckdb.connect(str(path), read_only=read_only)
        self._write_gate = threading.Lock()
        # Exports stream: without an ORDER BY, rows need not keep insertion order, and keeping
        # it made DuckDB buffer whole results (756 MB instead of 135 MB for 0.5M rows).
        self._db.execute("SET GLOBAL preserve_insertion_order = false")
        if memory_limit:
            self._db.execute(f"SET GLOBAL memory_limit = {_literal(memory_limit)}")
        if threads:
            # Fewer threads: a cancel stops the statement sooner (DuckDB finishes the running
            # tasks of every thread first) and a core stays free for the API.
            self._db.execute(f"SET GLOBAL threads = {int(threads)}")
        # The statements of every snapshot share the budget (memory_gate.py).
        found = self._db.execute("SELECT current_setting('memory_limit')").fetchone()
        self._gate = memory_gate.MemoryGate(memory_gate.capacity_of(str(found[0]) if found else ""))

    def upgrade(self) -> list[str]:
        """Bring billing tables made by older versions up to date; returns what it changed.

        Today: add the soft-delete column (``naming.DELETED_COLUMN``) where it is missing.
        """
        cursor = self._db.cursor()
        try:
            missing = cursor.execute(
                "SELECT t.table_schema, t.table_name FROM information_schema.tables t "
                "WHERE t.table_schema LIKE ? AND NOT EXISTS (SELECT 1 FROM "
                "information_schema.columns c WHERE c.table_schema = t.table_schema "
                "AND c.table_name = t.table_name AND c.column_name = ?)",
                [naming.SCHEMA_PREFIX + "%", naming.DELETED_COLUMN],
            ).fetchall()
            changed = []
            for schema, table in missing:
                target = exp.Table(
                    this=exp.to_identifier(table, quoted=True),
                    db=exp.to_identifier(schema, quoted=True),
                ).sql(dialect=formatting.DUCKDB)
                column = exp.to_identifier(naming.DELETED_COLUMN, quoted=True).sql()
                cursor.execute(f"ALTER TABLE {target} ADD COLUMN {column} TIMESTAMPTZ")
                changed.append(f"{schema}.{table}")
            return changed
        finally:
            cursor.close()

    def tenants(self) -> list[str]:
        """The tenants with billing data here (their schemas), sorted."""
        cursor = self._db.cursor()
        try:
            with self._small():
                rows = cursor.execute(
                    "SELECT schema_name FROM information_schema.schemata WHERE schema_name LIKE ?",
                    [naming.SCHEMA_PREFIX + "%"],
                ).fetchall()
        finally:
            cursor.close()
        names = {str(row[0]).removeprefix(naming.SCHEMA_PREFIX) for row in rows}
        # A schema someone else made under the prefix is no tenant of ours.
        return sorted(name for name in names if naming.TENANT_NAME.fullmatch(name))

    def reconcile(self, tenant: str, catalog: model.Catalog) -> list[str]:
        """Give the tenant's schema every table and column of ``catalog`` (its storage view),
        never dropping or rewriting data (``engines/reconcile.py``); the statements it ran.

        One transaction through the write gate; a tenant without a schema here is left alone.
        """
        schema = naming.schema_name(tenant)
        with self._small(), self._write_gate, engine_errors():
            cursor = self._db.cursor()
            try:
                if not _has_schema(cursor, schema):
                    return []
                rows = cursor.execute(reconcile.COLUMNS_SQL.format("?"), [schema]).fetchall()
                todo = reconcile.statements(tenant, catalog, reconcile.existing(rows), "duckdb")
                if todo:
                    cursor.execute("BEGIN TRANSACTION")
                    try:
                        for statement in todo:
                            cursor.execute(statement)
                        cursor.execute("COMMIT")
                    except BaseException:
                        cursor.execute("ROLLBACK")
                        raise
                return todo
            finally:
                cursor.close()

    def drop_column(self, tenant: str, object_name: str, name: str) -> None:
        """Drop one column of the tenant's table (a removed custom field); its data is gone.
        Nothing happens when the tenant, the table or the column is not there."""
        schema = naming.schema_name(tenant)
        with self._small(), self._write_gate, engine_errors():
            cursor = self._db.cursor()
            try:
                if _has_schema(cursor, schema):
                    rows = cursor.execute(reconcile.COLUMNS_SQL.format("?"), [schema]).fetchall()
                    if name in reconcile.existing(rows).get(object_name, set()):
                        cursor.execute(ddl.drop_column(tenant, object_name, name, "duckdb"))
            finally:
                cursor.close()

    def _small(self) -> AbstractContextManager[None]:
        """Room for a small statement (a lookup, a row written): even these wait while a
        statement that needs the whole budget runs (memory_gate.py)."""
        return self._gate.admit(1, stopped=lambda: False)

    def has_tenant(self, tenant: str) -> bool:
        """Whether the tenant's schema exists."""
        cursor = self._db.cursor()
        try:
            with self._small():
                return _has_schema(cursor, naming.schema_name(tenant))
        finally:
            cursor.close()

    @contextmanager
    def snapshot(self, tenant: str, now: Now = _utc_now) -> Iterator[base.Snapshot]:
        cursor = self._db.cursor()
        try:
            with self._small(), engine_errors():
                taken_at = self._begin(cursor, tenant, now)
            yield DuckDbSnapshot(cursor, taken_at, self._gate, schema=naming.schema_name(tenant))
        finally:
            cursor.close()

    def _begin(self, cursor: duckdb.DuckDBPyConnection, tenant: str, now: Now) -> dt.datetime:
        """Start the read-only transaction of a snapshot; the instant it was taken."""
        if not _has_schema(cursor, naming.schema_name(tenant)):
            raise errors.TenantDataMissing(
                f"tenant {tenant!r} has none here; create it with "
                f"'aquarium datagen --tenant {tenant}'"
            )
        cursor.execute("SET enable_progress_bar = false")  # no terminal art in server logs
        # Inside the write gate, so every row stamped before taken_at is committed and
        # visible, and none stamped after it is (stateful windows rely on this).
        with self._write_gate:
            cursor.execute("BEGIN TRANSACTION READ ONLY")
            # DuckDB starts a database's transaction at its first access, not at BEGIN.
            cursor.execute(f"SELECT 1 FROM {_any_table(tenant)} LIMIT 0").fetchall()
            return now()

    @contextmanager
    def write_transaction(
        self, tenant: str, now: Now = _utc_now
    ) -> Iterator[tuple[DuckDbStatements, dt.datetime]]:
        """A write transaction on the tenant's billing data and the instant to stamp it with
        (:class:`writes_port.BillingEngine`).

        Writes are serialised with snapshot starts (the write gate): a row's UpdatedDate is
        taken here, and the transaction commits before any snapshot can start after it.
        """
        if not self.has_tenant(tenant):
            raise errors.TenantDataMissing(f"tenant {tenant!r} has no billing data")
        with self._small(), self._write_gate, write_errors():
            cursor = self._db.cursor()
            try:
                cursor.execute("BEGIN TRANSACTION")
                yield DuckDbStatements(cursor), now()
                cursor.execute("COMMIT")
            except BaseException:
                cursor.execute("ROLLBACK")
                raise
            finally:
                cursor.close()

    @contextmanager
    def read_transaction(self, tenant: str) -> Iterator[DuckDbStatements]:
        """A read-only transaction for lookups (:class:`writes_port.BillingEngine`)."""
        with self.snapshot(tenant) as snapshot:
            assert isinstance(snapshot, DuckDbSnapshot)
            with write_errors():
                yield DuckDbStatements(snapshot.cursor)

    def load_tenant(
        self, tenant: str, catalog: model.Catalog, tables: Iterable[tuple[str, pa.Table]]
    ) -> dict[str, int]:
        """Replace the tenant's data in one :meth:`bulk_transaction`; rows per object."""
        with self.bulk_transaction() as cursor:
            return loading.fill_duckdb(cursor, tenant, catalog, tables)

    @contextmanager
    def bulk_transaction(self) -> Iterator[duckdb.DuckDBPyConnection]:
        """A long write transaction (a tenant's data replaced while the server runs).

        It runs beside snapshots and other writes, which DuckDB keeps apart (MVCC); only its
        commit takes the write gate, so it is ordered with snapshot starts like any write
        without holding them up while it loads. A write of the same rows that commits first
        makes this commit fail (DuckDB's conflict error); then nothing of it remains.
        """
        cursor = self._db.cursor()
        try:
            cursor.execute("BEGIN TRANSACTION")
            yield cursor
            with self._write_gate:
                cursor.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(duckdb.Error):  # a failed COMMIT has rolled back already
                cursor.execute("ROLLBACK")
            raise
        finally:
            cursor.close()

    def close(self) -> None:
        """Close the database; a statement still finishing elsewhere is left to process exit.

        Shutdown interrupts running jobs first, but DuckDB can take a moment to let go, and
        ``close()`` then refuses ("connection is busy"): losing that race must not turn a clean
        stop into an error.
        """
        try:
            self._db.close()
        except duckdb.Error as exc:
            log.warning("billing database still busy at close", error=str(exc).splitlines()[0])
