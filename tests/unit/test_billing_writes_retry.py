"""The write path runs a write again when the engine gave it up for a concurrent one (a
PostgreSQL deadlock), with a new stamp, and gives up after WRITE_ATTEMPTS tries."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from aquarium.catalog import model
from aquarium.domain import errors
from aquarium.engines import billing_writes
from aquarium.testing import FakeClock


class RecordingStatements:
    def __init__(self) -> None:
        self.changes: list[tuple[str, list[object]]] = []

    def rows(self, statement: str, parameters: Any = ()) -> list[tuple[Any, ...]]:
        return [(1,)]

    def changed(self, statement: str, parameters: Any = ()) -> int:
        self.changes.append((statement, list(parameters)))
        return 1


class ConflictingEngine:
    """Gives up the first ``conflicts`` write transactions at commit; keeps the last one's."""

    dialect = "postgres"

    def __init__(self, conflicts: int) -> None:
        self.conflicts = conflicts
        self.committed: list[tuple[str, list[object]]] = []
        self.attempts = 0

    @contextmanager
    def write_transaction(
        self, tenant: str, now: Callable[[], dt.datetime]
    ) -> Iterator[tuple[RecordingStatements, dt.datetime]]:
        self.attempts += 1
        statements = RecordingStatements()
        yield statements, now()
        if self.conflicts:
            self.conflicts -= 1
            raise errors.WriteConflict("deadlock detected")
        self.committed += statements.changes


START = dt.datetime(2027, 1, 1, tzinfo=dt.UTC)


class TickingClock(FakeClock):
    """A second later at every reading."""

    def now(self) -> dt.datetime:
        return self.advance(seconds=1)


def _writes(engine: ConflictingEngine) -> billing_writes.BillingWrites:
    return billing_writes.BillingWrites(engine, model.default(), TickingClock(START))  # type: ignore[arg-type]


def test_a_write_given_up_for_a_concurrent_one_runs_again_with_a_new_stamp() -> None:
    engine = ConflictingEngine(conflicts=billing_writes.WRITE_ATTEMPTS - 1)
    writes = _writes(engine)
    writes.update("t", "Account", "a" * 32, {"Name": "x"}, actor="bob")
    assert engine.attempts == billing_writes.WRITE_ATTEMPTS
    ((statement, parameters),) = engine.committed
    assert '"UpdatedDate" = %s' in statement
    assert START + dt.timedelta(seconds=billing_writes.WRITE_ATTEMPTS) in parameters  # the last


def test_a_write_that_keeps_conflicting_is_given_up() -> None:
    engine = ConflictingEngine(conflicts=billing_writes.WRITE_ATTEMPTS)
    writes = _writes(engine)
    with pytest.raises(errors.WriteConflict):
        writes.create("t", "Account", {"Name": "x"}, actor="bob")
    assert engine.attempts == billing_writes.WRITE_ATTEMPTS
    assert engine.committed == []
