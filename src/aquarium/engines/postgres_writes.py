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
- a **snapshot** takes the lock *exclusive* on a separate connection (:func:`snapshot_gate`),
  stamps ``taken_at``, begins its ``REPEATABLE READ READ ONLY`` transaction and runs the first
  statement (which is when PostgreSQL takes the snapshot), then releases the lock.

While the snapshot holds the lock no writer holds it, so no writer stamps. A writer that stamped
before ``taken_at`` held the lock before the snapshot got it, hence committed before, and its rows
are visible; a writer that takes the lock after the release stamps after ``taken_at``, and the
snapshot cannot see its rows. So every row stamped before ``taken_at`` is visible and none stamped
at or after it is: consecutive windows neither lose nor repeat a change.

Why a separate connection: in ``REPEATABLE READ`` the snapshot is taken at the transaction's
first statement, so a lock taken inside the snapshot's own transaction would take the snapshot
*before* waiting for the writers, and miss the ones it waited for. A waiting exclusive request
also holds back later shared ones (PostgreSQL queues lock requests in order), so a stream of
writers cannot starve a snapshot.

Stamps come from the application's clock (``now``), not PostgreSQL's: the argument above holds
only while the clocks of the machines that write and snapshot agree (NTP), since it compares a
stamp taken on one machine with ``taken_at`` taken on another.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import psycopg
from psycopg import errors as pg_errors

from aquarium.domain import errors
from aquarium.engines import base, naming, writes_port

#: The first key of the per-tenant advisory lock (the second: ``hashtext`` of the schema name);
#: two-key locks never collide with the one-key locks of the metadata store.
WINDOW_LOCK_CLASS = 0x41515754  # "AQWT"

Connection = psycopg.Connection[tuple[Any, ...]]


def hold_shared(conn: Connection, tenant: str) -> None:
    """Take the tenant's window lock shared until ``conn``'s transaction ends (a writer's
    first statement, before it stamps anything)."""
    conn.execute(
        "SELECT pg_advisory_xact_lock_shared(%s, hashtext(%s))",
        [WINDOW_LOCK_CLASS, naming.schema_name(tenant)],
    )


@contextmanager
def snapshot_gate(dsn: str, tenant: str) -> Iterator[None]:
    """The tenant's window lock held exclusive, on a connection of its own, for the block
    (stamping ``taken_at`` and the snapshot transaction's first statement); waits until the
    writers holding it shared have committed. Closing the connection releases it whatever
    happens in the block."""
    with psycopg.connect(dsn, autocommit=True) as gate:
        key = [WINDOW_LOCK_CLASS, naming.schema_name(tenant)]
        gate.execute("SELECT pg_advisory_lock(%s, hashtext(%s))", key)
        try:
            yield
        finally:
            gate.execute("SELECT pg_advisory_unlock(%s, hashtext(%s))", key)


@contextmanager
def write_errors() -> Iterator[None]:
    """PostgreSQL's failures inside a write transaction as the error tree's.

    A value its column cannot hold (a data exception, or a constraint) is the caller's input,
    :class:`errors.InvalidValue` with no engine words; a deadlock is a
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
        raise errors.InvalidValue(writes_port.VALUE_DOES_NOT_FIT) from exc
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
