"""The embedded engine: one DuckDB file, one schema per tenant.

Each snapshot is a cursor (DuckDB's own connection to the shared database) inside
``BEGIN TRANSACTION READ ONLY`` (``duckdb_snapshot.py``); ``interrupt()`` on that cursor stops
its statement.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable, Iterable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
from sqlglot import exp

from aquarium import observability
from aquarium.catalog import model
from aquarium.domain import errors
from aquarium.engines import (
    base,
    ddl,
    memory_gate,
    naming,
    reconcile,
    tenant_copies,
    write_gate,
)
from aquarium.engines.duckdb_snapshot import (
    DuckDbSnapshot,
    DuckDbStatements,
    engine_errors,
    sql_literal,
    write_errors,
)
from aquarium.zoql import formatting

if TYPE_CHECKING:  # pyarrow (about 80 MiB of a server's RSS) loads only to load data
    import pyarrow as pa

#: The scan budget (memory_gate.Budget) when none is given, per DuckDB thread: a paced export
#: (gzip, segments) at 100 million rows then keeps the server under 500 MB (docs/benchmarks.md).
SCAN_BYTES_PER_THREAD = 80 * 10**6

__all__ = ["DuckDbEngine", "DuckDbSnapshot", "DuckDbStatements", "engine_errors", "write_errors"]
log = observability.logger(__name__)


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
        export_ranges: bool = False,
        scan_memory_limit: str | None = None,
        build_memory_limit: str | None = None,
    ) -> None:
        self.path = path
        self._db = duckdb.connect(str(path), read_only=read_only)
        self._write_gate = write_gate.WriteGate()
        # Exports stream: without an ORDER BY, rows need not keep insertion order, and keeping
        # it made DuckDB buffer whole results (756 MB instead of 135 MB for 0.5M rows).
        self._db.execute("SET GLOBAL preserve_insertion_order = false")
        if memory_limit:
            self._db.execute(f"SET GLOBAL memory_limit = {sql_literal(memory_limit)}")
        if threads:
            self._db.execute(f"SET GLOBAL threads = {int(threads)}")
        # With export_ranges, one cursor per thread runs a one-table export (ranged_copy.py).
        found = self._db.execute("SELECT current_setting('threads')").fetchone()
        threads_set = int(str(found[0])) if found else 1
        self.export_cursors = threads_set if export_ranges else 1
        # The statements of every snapshot share the budget (memory_gate.py).
        found = self._db.execute("SELECT current_setting('memory_limit')").fetchone()
        working = memory_limit or (str(found[0]) if found else "")
        scan = scan_memory_limit or f"{SCAN_BYTES_PER_THREAD // 10**6 * threads_set}MB"
        scan = min(scan, working, key=memory_gate.bytes_of)
        building = max(build_memory_limit or working, working, key=memory_gate.bytes_of)
        budget = None
        if memory_gate.bytes_of(scan) < memory_gate.bytes_of(building):
            # The working size, in force now, stays in force while nothing runs.
            budget = memory_gate.Budget(
                self._set_memory_limit,
                scan=scan,
                working=working,
                building=building,
                lower_later=True,  # a job goes on while DuckDB evicts down to the lower limit
            )
        # Statements are admitted against the smaller budget: the one in force for the
        # plain ones, which are admitted without raising it.
        self._gate = memory_gate.MemoryGate(
            memory_gate.capacity_of(budget.scan if budget else working), budget
        )

    def _set_memory_limit(self, limit: str) -> bool:
        """DuckDB's memory limit set to ``limit``; False when it could not be (a lower limit
        than the memory its running statements hold), and the limit stays as it was."""
        try:
            cursor = self._db.cursor()
            try:
                cursor.execute(f"SET GLOBAL memory_limit = {sql_literal(limit)}")
            finally:
                cursor.close()
        except duckdb.Error as exc:
            log.info("memory limit not changed", limit=limit, error=str(exc).splitlines()[0])
            return False
        return True

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
        with self._small(), self._write_gate.writing(), engine_errors():
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
        with self._small(), self._write_gate.writing(), engine_errors():
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
        statement that needs the whole budget runs (memory_gate.py); they leave the budget's
        size alone."""
        return self._gate.admit(1, stopped=lambda: False, need=None)

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
        snapshot: DuckDbSnapshot | None = None
        try:
            with self._small(), engine_errors():
                taken_at, writes = self._begin(cursor, tenant, now)
            snapshot = DuckDbSnapshot(
                cursor,
                taken_at,
                self._gate,
                schema=naming.schema_name(tenant),
                export_cursors=self.export_cursors,
                peers=lambda n: self._peers(tenant, writes, n),
            )
            yield snapshot
        finally:
            if snapshot is not None:
                snapshot.close_peers()
            cursor.close()

    def _begin(
        self, cursor: duckdb.DuckDBPyConnection, tenant: str, now: Now
    ) -> tuple[dt.datetime, int]:
        """Start the read-only transaction of a snapshot: the instant it was taken and the
        write gate's count then."""
        if not _has_schema(cursor, naming.schema_name(tenant)):
            raise errors.TenantDataMissing(
                f"tenant {tenant!r} has none here; create it with "
                f"'aquarium datagen --tenant {tenant}'"
            )
        cursor.execute("SET enable_progress_bar = false")  # no terminal art in server logs
        # Inside the write gate, so every row stamped before taken_at is committed and
        # visible, and none stamped after it is (stateful windows rely on this).
        with self._write_gate.reading() as writes:
            self._start_reading(cursor, tenant)
            return now(), writes

    def _start_reading(self, cursor: duckdb.DuckDBPyConnection, tenant: str) -> None:
        cursor.execute("BEGIN TRANSACTION READ ONLY")
        # DuckDB starts a database's transaction at its first access, not at BEGIN.
        cursor.execute(f"SELECT 1 FROM {_any_table(tenant)} LIMIT 0").fetchall()

    def _peers(self, tenant: str, writes: int, count: int) -> list[duckdb.DuckDBPyConnection]:
        """``count`` cursors reading what a snapshot begun at the gate's count ``writes``
        reads, or none when a write went through since (ranged_copy.py)."""
        peers: list[duckdb.DuckDBPyConnection] = []
        with self._write_gate.reading() as now_writes:
            if now_writes != writes:
                return []
            try:
                for _ in range(count):
                    peers.append(self._db.cursor())
                    peers[-1].execute("SET enable_progress_bar = false")
                    self._start_reading(peers[-1], tenant)
            except BaseException:
                for peer in peers:
                    peer.close()
                raise
        return peers

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
        with self._small(), self._write_gate.writing(), write_errors():
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
        from aquarium.engines import loading

        with self.bulk_transaction() as cursor:
            return loading.fill_duckdb(cursor, tenant, catalog, tables)

    def replace_objects(
        self, tenant: str, catalog: model.Catalog, tables: Iterable[tuple[str, pa.Table]]
    ) -> dict[str, int]:
        """Replace the rows of the objects in ``tables`` (``loading.refill_duckdb``) in one
        :meth:`bulk_transaction`; rows per object."""
        from aquarium.engines import loading

        with self.bulk_transaction() as cursor:
            return loading.refill_duckdb(cursor, tenant, catalog, tables)

    def save_copy(self, tenant: str, name: str) -> int:
        """Save every table of the tenant's schema as its snapshot ``name`` (replacing one of
        that name), in one transaction (``engines/tenant_copies.py``); the rows saved."""
        if not self.has_tenant(tenant):
            raise errors.TenantDataMissing(f"tenant {tenant!r} has no billing data")
        with self.bulk_transaction() as cursor, write_errors():
            return tenant_copies.save(cursor, tenant, name)

    def restore_copy(self, tenant: str, name: str) -> bool:
        """Put the tenant's tables back as its snapshot ``name`` holds them, in one
        transaction: readers see the data before or after, never half. ``True`` when the
        spare was swapped in (then :meth:`make_spare` is wanted before the next restore is
        instant again); :class:`errors.NotFound` when there is no such snapshot."""
        template = tenant_copies.template_schema(tenant, name)
        # Writes wait for the whole of it (a swap is instant), so none is lost to a conflict.
        gate = self._write_gate.writing()
        with gate, self.bulk_transaction(gated=False) as cursor, write_errors():
            if not tenant_copies.has_schema(cursor, template):
                raise errors.NotFound(f"no billing data saved as {name!r}")
            return tenant_copies.restore(cursor, tenant, name)

    def make_spare(self, tenant: str, name: str) -> None:
        """Copy snapshot ``name``'s template into a fresh spare (the next restore swaps it)."""
        with self.bulk_transaction() as cursor, write_errors():
            if tenant_copies.has_schema(cursor, tenant_copies.template_schema(tenant, name)):
                tenant_copies.make_spare(cursor, tenant, name)

    def drop_copy(self, tenant: str, name: str) -> None:
        """Drop the tenant's snapshot ``name``; nothing happens when there is none."""
        with self.bulk_transaction() as cursor, write_errors():
            tenant_copies.drop(cursor, tenant, name)

    @contextmanager
    def bulk_transaction(self, *, gated: bool = True) -> Iterator[duckdb.DuckDBPyConnection]:
        """A long write transaction (a tenant's data replaced while the server runs).

        It runs beside snapshots and other writes, which DuckDB keeps apart (MVCC); only its
        commit takes the write gate, so it is ordered with snapshot starts like any write
        without holding them up while it loads. A write of the same rows that commits first
        makes this commit fail (DuckDB's conflict error); then nothing of it remains.
        ``gated=False``: the caller holds the write gate already (a snapshot restore holds it
        throughout). It runs in the budget's working size (memory_gate.Budget).
        """
        cursor = self._db.cursor()
        try:
            with self._gate.holding():
                cursor.execute("BEGIN TRANSACTION")
                yield cursor
                with self._write_gate.writing() if gated else contextlib.nullcontext():
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
        self._gate.close()
        try:
            self._db.close()
        except duckdb.Error as exc:
            log.warning("billing database still busy at close", error=str(exc).splitlines()[0])
