"""Writes to PostgreSQL billing data, and how they are ordered with snapshot starts.

The hole this closes: a stateful AQuA session exports, from each job's snapshot, the rows whose
``UpdatedDate`` lies in ``[previous snapshot's taken_at, this snapshot's taken_at)``. A writer
stamps ``UpdatedDate`` before it commits. Without care, a row stamped just before a snapshot's
``taken_at`` but committed just after the snapshot began is in neither window: this snapshot
cannot see it, the next one's window starts after its stamp. DuckDB closes the hole with a lock
inside its one process (``DuckDbEngine._begin``); here API nodes and workers on several machines
write and read, so the lock is PostgreSQL's, one advisory lock per tenant:

- a **writer** takes the lock *shared* (``pg_advisory_xact_lock_shared``) as the first thing its
  transaction does, stamps its rows after that, and holds the lock until it commits (a
  transaction-level lock is released at commit, after the commit is visible to new snapshots);
- a **snapshot** takes the lock *exclusive* on another connection (:func:`snapshot_gate`),
  stamps ``taken_at``, begins its ``REPEATABLE READ READ ONLY`` transaction and runs the first
  statement (which is when PostgreSQL takes the snapshot), then releases the lock.

While the snapshot holds the lock no writer holds it, so no writer stamps. A writer that stamped
before ``taken_at`` held the lock before the snapshot got it, hence committed before, and its rows
are visible; a writer that takes the lock after the release stamps at or after ``taken_at``, and
the snapshot cannot see its rows (it commits later than the snapshot was taken). So every row
stamped before ``taken_at`` is visible and none stamped at or after it is: consecutive windows
neither lose nor repeat a change.

Why another connection: in ``REPEATABLE READ`` the snapshot is taken at the transaction's
first statement, so a lock taken inside the snapshot's own transaction would take the snapshot
*before* waiting for the writers, and miss the ones it waited for. A waiting exclusive request
also holds back later shared ones (PostgreSQL queues lock requests in order), so a stream of
writers cannot starve a snapshot.

Stamps come from the application's clock (``now``), not PostgreSQL's: the argument above holds
only while the clocks of the machines that write and snapshot agree (NTP), since it compares a
stamp taken on one machine with ``taken_at`` taken on another.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import errors as pg_errors
from psycopg import pq

from aquarium.domain import crud_errors, errors
from aquarium.engines import base, naming, writes_port

#: The first key of the per-tenant advisory lock (the second: ``hashtext`` of the schema name;
#: two tenants whose hashes collide share a lock, which only makes one wait for the other);
#: two-key locks never collide with the one-key locks of the metadata store.
WINDOW_LOCK_CLASS = 0x41515754  # "AQWT"

Connection = psycopg.Connection[tuple[Any, ...]]
#: Idle connections an engine keeps for its short transactions and snapshot gates: opening one
#: took 6-14 ms here, a third of a simulated write's time when each write opened its own.
MAX_IDLE_CONNECTIONS = 2


class IdleConnections:
    """Autocommit connections to ``dsn``, reused from one short transaction to the next.

    A connection goes back only when its session is idle (no transaction open or failed); one
    that died while idle (a restarted server) is noticed by a ``SELECT 1`` when taken, and
    replaced. Thread-safe; each connection serves one caller at a time.
    """

    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self._idle: list[Connection] = []
        self._lock = threading.Lock()

    @contextmanager
    def connection(self) -> Iterator[Connection]:
        """A connection for the block; kept for the next one when the block leaves it idle."""
        conn = self._take()
        try:
            yield conn
        finally:
            self._give_back(conn)

    def _take(self) -> Connection:
        while True:
            with self._lock:
                conn = self._idle.pop() if self._idle else None
            if conn is None:
                return psycopg.connect(self.dsn, autocommit=True)
            try:
                conn.execute("SELECT 1")
            except psycopg.Error:
                conn.close()
            else:
                return conn

    def _give_back(self, conn: Connection) -> None:
        if not conn.closed and conn.info.transaction_status is pq.TransactionStatus.IDLE:
            with self._lock:
                if len(self._idle) < MAX_IDLE_CONNECTIONS:
                    self._idle.append(conn)
                    return
        conn.close()

    def close(self) -> None:
        """Close the idle connections (ones in use are closed when given back)."""
        with self._lock:
            idle, self._idle = self._idle, []
        for conn in idle:
            conn.close()


def hold_shared(conn: Connection, tenant: str) -> None:
    """Take the tenant's window lock shared until ``conn``'s transaction ends (a writer's
    first statement, before it stamps anything)."""
    conn.execute(
        "SELECT pg_advisory_xact_lock_shared(%s, hashtext(%s))",
        [WINDOW_LOCK_CLASS, naming.schema_name(tenant)],
    )


@contextmanager
def snapshot_gate(gate: Connection, tenant: str) -> Iterator[None]:
    """The tenant's window lock held exclusive for the block (stamping ``taken_at`` and the
    snapshot transaction's first statement) on ``gate``, an autocommit connection that is not
    the snapshot's; waits until the writers holding it shared have committed."""
    key = [WINDOW_LOCK_CLASS, naming.schema_name(tenant)]
    try:
        gate.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", key)
    except BaseException:
        gate.close()  # a request cut short may be granted yet: ending the session drops it
        raise
    try:
        yield
    finally:
        gate.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", key)


@contextmanager
def write_errors() -> Iterator[None]:
    """PostgreSQL's failures inside a write transaction as the error tree's.

    A value its column cannot hold (a data exception, or a constraint) is the caller's input,
    :class:`crud_errors.InvalidValue` with no engine words; a deadlock is a
    :class:`errors.WriteConflict` (run it again); anything else, the connection included, is
    a failure of ours (:class:`errors.QueryFailed`, the engine's words for the log only).
    """
    try:
        yield
    except (pg_errors.DeadlockDetected, pg_errors.SerializationFailure) as exc:
        raise errors.WriteConflict(base.ENGINE_FAILED, engine_text=base.first_line(exc)) from exc
    except pg_errors.OutOfMemory as exc:
        raise errors.EngineOutOfMemory(engine_text=base.first_line(exc)) from exc
    except (psycopg.DataError, psycopg.IntegrityError) as exc:
        raise crud_errors.InvalidValue(writes_port.VALUE_DOES_NOT_FIT) from exc
    except psycopg.Error as exc:
        raise errors.QueryFailed(base.ENGINE_FAILED, engine_text=base.first_line(exc)) from exc


class PostgresStatements:
    """:class:`writes_port.Statements` on a psycopg connection (``%s`` placeholders)."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def rows(
        self, statement: str, parameters: writes_port.Parameters = ()
    ) -> list[tuple[Any, ...]]:
        # Text sqlglot generated from the catalogue (never from user input), as bytes: psycopg
        # types a str query as a literal string only.
        return self.conn.execute(statement.encode("utf-8"), list(parameters)).fetchall()

    def changed(self, statement: str, parameters: writes_port.Parameters = ()) -> int:
        cursor = self.conn.execute(statement.encode("utf-8"), list(parameters))
        return max(cursor.rowcount, 0)
