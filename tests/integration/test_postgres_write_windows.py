"""PostgreSQL: writers on their own connections while snapshots are taken one after another.

Stateful sessions export the rows whose ``UpdatedDate`` lies in ``[previous taken_at,
taken_at)`` from each snapshot. Writers stamp before they commit, and here they dawdle between
stamp and commit, so without the window lock (``engines/postgres_writes.py``) a change stamped
just before a snapshot's ``taken_at`` commits after its snapshot and falls into no window. Judged
by outcome: the windows together hold every committed change exactly once.
"""

from __future__ import annotations

import datetime as dt
import random
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from psycopg import sql

from aquarium import datagen
from aquarium.catalog import model
from aquarium.engines import billing_sql, naming, postgres_engine, postgres_writes
from aquarium.zoql import check, lower, translate, visibility

pytestmark = pytest.mark.postgres

WRITERS = 4
SNAPSHOTS = 60
DAWDLE_S = 0.003  # at most, between a writer's stamp and its statements, and before its commit


class MonotonicClock:
    """Instants that never go back, shared by writers and snapshots (one machine's clock), all
    after the generated data's stamps."""

    def __init__(self) -> None:
        self._start = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
        self._origin = time.monotonic()

    def now(self) -> dt.datetime:
        return self._start + dt.timedelta(seconds=time.monotonic() - self._origin)


@pytest.fixture
def engine(pg_dsn: str) -> Iterator[postgres_engine.PostgresEngine]:
    opened = postgres_engine.PostgresEngine(pg_dsn)
    yield opened
    opened.close()


@pytest.fixture
def tenant(tmp_path: Path, pg_dsn: str, pg_schema: str) -> str:
    datagen.generate_into(tmp_path, pg_schema, scale=0.05, seed=2, engine="postgres", dsn=pg_dsn)
    return pg_schema


def _account_ids(engine: postgres_engine.PostgresEngine, tenant: str) -> list[str]:
    with engine.read_transaction(tenant) as statements:
        schema = naming.schema_name(tenant)
        return sorted(str(r[0]) for r in statements.rows(f'SELECT "Id" FROM "{schema}"."Account"'))


class Writer:
    """Creates accounts, and renames each of ``to_rename`` once, until stopped; remembers every
    committed change as (id, name), each name unique."""

    def __init__(
        self,
        number: int,
        engine: postgres_engine.PostgresEngine,
        tenant: str,
        clock: MonotonicClock,
        to_rename: list[str],
    ) -> None:
        self.number, self.engine, self.tenant, self.clock = number, engine, tenant, clock
        self.to_rename = to_rename
        self.committed: list[tuple[str, str]] = []
        self.rng = random.Random(number)
        self.stop = threading.Event()
        self.failure: BaseException | None = None

    def run(self) -> None:
        try:
            for n in range(100_000):
                if self.stop.is_set():
                    return
                self.committed.append(self._write(n))
        except BaseException as exc:  # reported by the test
            self.failure = exc

    def _write(self, n: int) -> tuple[str, str]:
        obj = model.default().require("Account")
        name = f"w{self.number}-{n}"
        renaming = n % 3 == 0 and self.to_rename
        with self.engine.write_transaction(self.tenant, self.clock.now) as (statements, now):
            time.sleep(self.rng.uniform(0, DAWDLE_S))
            if renaming:
                row_id = self.to_rename.pop()
                names = ("Name", "UpdatedDate")
                statement = billing_sql.update(self.tenant, obj, names, "postgres")
                assert statements.changed(statement, [name, now, row_id]) == 1
            else:
                row_id = f"{self.number:02x}{n:030x}"
                values = {"Id": row_id, "Name": name, "CreatedDate": now, "UpdatedDate": now}
                statement = billing_sql.insert(self.tenant, obj, tuple(values), "postgres")
                statements.changed(statement, list(values.values()))
            time.sleep(self.rng.uniform(0, DAWDLE_S))
        return row_id, name


def _window(
    engine: postgres_engine.PostgresEngine,
    tenant: str,
    clock: MonotonicClock,
    start: dt.datetime,
) -> tuple[dt.datetime, list[tuple[str, str]]]:
    """A snapshot's ``taken_at`` and the (id, name) of the accounts in ``[start, taken_at)``,
    read through the ZOQL lowering as a stateful job reads them."""
    context = check.Context(catalog=model.default(), time_zone="UTC")
    with engine.snapshot(tenant, clock.now) as snapshot:
        options = lower.Options(
            dialect=engine.dialect,
            schema=naming.schema_name(tenant),
            window=visibility.Window(start=start, end=snapshot.taken_at),
        )
        query = translate.translate(
            "select Id, Name from Account", context=context, options=options
        )
        return snapshot.taken_at, [(str(i), str(n)) for i, n in snapshot.fetch(query)]


def test_successive_windows_hold_every_committed_change_exactly_once(
    engine: postgres_engine.PostgresEngine, tenant: str
) -> None:
    clock = MonotonicClock()
    existing = _account_ids(engine, tenant)
    start, before = _window(engine, tenant, clock, clock.now())
    assert before == []
    writers = [Writer(n, engine, tenant, clock, existing[n::WRITERS]) for n in range(WRITERS)]
    threads = [threading.Thread(target=w.run) for w in writers]
    for thread in threads:
        thread.start()
    seen: list[tuple[str, str]] = []
    busy_windows = 0
    try:
        for _ in range(SNAPSHOTS):
            start, rows = _window(engine, tenant, clock, start)
            seen += rows
            busy_windows += bool(rows)
    finally:
        for writer in writers:
            writer.stop.set()
        for thread in threads:
            thread.join()
    _, rows = _window(engine, tenant, clock, start)
    seen += rows
    for writer in writers:
        assert writer.failure is None, writer.failure
    committed = [change for writer in writers for change in writer.committed]
    assert busy_windows >= 3, "the writers ran while the snapshots were taken"
    assert len(seen) == len(set(seen)), "no change in two windows"
    assert sorted(seen) == sorted(committed), "every change in a window"


def test_a_snapshot_start_waits_for_an_open_write(
    engine: postgres_engine.PostgresEngine, pg_dsn: str, tenant: str
) -> None:
    """The lock itself: a snapshot cannot start while a write transaction is open."""
    clock = MonotonicClock()
    started = threading.Event()
    with engine.write_transaction(tenant, clock.now):

        def snapshot() -> None:
            with engine.snapshot(tenant, clock.now):
                started.set()

        thread = threading.Thread(target=snapshot)
        thread.start()
        with psycopg.connect(pg_dsn, autocommit=True) as conn:
            waiting = _wait_for_lock_waiter(conn)
        assert waiting and not started.is_set()
    thread.join()
    assert started.is_set()


def _wait_for_lock_waiter(conn: psycopg.Connection[tuple[object, ...]]) -> bool:
    """Whether a session comes to wait for an advisory lock (polls up to 10 s)."""
    query = sql.SQL(
        "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND classid = {}"
    ).format(sql.Literal(postgres_writes.WINDOW_LOCK_CLASS))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        found = conn.execute(query).fetchone()
        if found and found[0]:
            return True
        time.sleep(0.01)
    return False


def test_connections_that_died_idle_are_replaced(pg_dsn: str, tenant: str) -> None:
    """The engine keeps connections between transactions; a server that ended them meanwhile
    (a restart, an idle timeout) costs no write."""
    name = f"aq_idle_{tenant}"
    engine = postgres_engine.PostgresEngine(f"{pg_dsn}?application_name={name}")
    clock = MonotonicClock()
    try:
        assert _account_ids(engine, tenant)
        with engine.snapshot(tenant, clock.now):
            pass
        with psycopg.connect(pg_dsn, autocommit=True) as admin:
            ended = admin.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = %s",
                [name],
            ).fetchone()
        assert ended is not None and ended[0] >= 1
        obj = model.default().require("Account")
        with engine.write_transaction(tenant, clock.now) as (statements, now):
            values = {"Id": "f" * 32, "Name": "after", "UpdatedDate": now}
            statement = billing_sql.insert(tenant, obj, tuple(values), "postgres")
            assert statements.changed(statement, list(values.values())) == 1
        assert "f" * 32 in _account_ids(engine, tenant)
    finally:
        engine.close()
