"""The QueryEngine port: one job's queries in one read-only snapshot, results via native COPY.

::

    with engine.snapshot(tenant) as snap:        # one read-only transaction = one snapshot
        rows = snap.copy_csv(lowered, path)       # the engine's own CSV writer, no Python row loop
    snap.interrupt()                              # from any thread: stops the running statement

Implementations: :mod:`duckdb_engine` (embedded) and :mod:`postgres_engine` (scale-out).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from aquarium.zoql import lower


@dataclass(frozen=True)
class CsvOptions:
    """CSV details the engine's writer applies; ``null`` is Zuora's ``nullReplacement``."""

    null: str = ""


class Snapshot(Protocol):
    """One read-only transaction over a tenant's billing data."""

    #: when the snapshot was taken (by the clock the caller passed): rows stamped before it
    #: are visible, rows stamped at or after it are not
    taken_at: dt.datetime

    def copy_csv(self, query: lower.LoweredQuery, path: Path, options: CsvOptions) -> int:
        """Write the query's result as CSV (header first) to ``path``; return the row count."""
        ...

    def copy_parquet(self, query: lower.LoweredQuery, path: Path) -> int:
        """Write the query's typed result (a ``raw`` lowering) as Parquet; the row count."""
        ...

    def fetch(self, query: lower.LoweredQuery) -> list[tuple[object, ...]]:
        """The query's rows as Python values (formatted as text, as in the CSV)."""
        ...

    def interrupt(self) -> None:
        """Stop the running statement, from any thread; a no-op when nothing runs."""
        ...


class QueryEngine(Protocol):
    """Where a tenant's billing data lives."""

    #: the sqlglot dialect the ZOQL lowering targets
    dialect: str

    def snapshot(
        self, tenant: str, now: Callable[[], dt.datetime] = ...
    ) -> AbstractContextManager[Snapshot]:
        """A read-only snapshot of ``tenant``'s data; raises :class:`errors.TenantDataMissing`.

        ``now`` (default: the wall clock) gives :attr:`Snapshot.taken_at`.
        """
        ...

    def close(self) -> None:
        """Release connections."""
        ...
