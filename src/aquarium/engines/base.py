"""The QueryEngine port: one job's queries in one read-only snapshot, results via native COPY.

::

    with engine.snapshot(tenant) as snap:        # one read-only transaction = one snapshot
        rows = snap.copy_csv(lowered, path)       # the engine's own CSV writer, no Python row loop
        rows = snap.copy_rows(sql, path, layout)  # Data Query: JSON Lines or delimited text
    snap.interrupt()                              # from any thread: stops the running statement

Implementations: :mod:`duckdb_engine` (embedded) and :mod:`postgres_engine` (scale-out).
"""

from __future__ import annotations

import datetime as dt
import enum
import gzip
import io
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from aquarium.domain import errors
from aquarium.zoql import lower

#: What a client reads when the engine fails a statement (``errors.QueryFailed``'s reason); the
#: engine's own words go to the log, with the job's id.
ENGINE_FAILED = "The query engine could not run this query; the server's log has the reason"
OUT_OF_MEMORY = (
    "The query needs more memory than the server gives one query: select fewer columns, or "
    "split it into several queries"
)


def first_line(error: BaseException) -> str:
    """The first line of an engine's message (DuckDB adds the statement and a caret below it)."""
    text = str(error).strip()
    return text.splitlines()[0] if text else type(error).__name__


@contextmanager
def mapped_errors(
    interrupted: type[BaseException],
    out_of_memory: type[BaseException],
    failed: type[BaseException],
) -> Iterator[None]:
    """An engine's exceptions as the error tree's: an interrupt, its memory exhausted, any other
    failure. Clients read the tree's words; the engine's stay in ``engine_text`` (for the log)
    and on ``__cause__``."""
    try:
        yield
    except interrupted as exc:
        raise errors.QueryInterrupted("the statement was interrupted") from exc
    except out_of_memory as exc:
        raise errors.EngineOutOfMemory(OUT_OF_MEMORY, engine_text=first_line(exc)) from exc
    except failed as exc:
        raise errors.QueryFailed(ENGINE_FAILED, engine_text=first_line(exc)) from exc


#: What a null replacement cannot hold: both engines write it unquoted in place of a null (a
#: value equal to it is quoted instead), so these would split or join fields and records; DuckDB
#: and PostgreSQL refuse some of them outright.
NULL_FORBIDDEN = {",": "a comma", '"': "a double quote", "\n": "a line feed", "\r": "a return"}
MAX_NULL_CHARS = 100  # written for every null: a long one multiplies the file's size


def null_problem(text: str) -> str | None:
    """Why ``text`` cannot stand for null in a CSV result, or None when it can."""
    found = [word for char, word in NULL_FORBIDDEN.items() if char in text]
    if found:
        return (
            f"cannot hold {' or '.join(found)}: a null is written unquoted, so the file would not "
            "read back as written"
        )
    if len(text) > MAX_NULL_CHARS:
        return f"is limited to {MAX_NULL_CHARS} characters"
    return None


@dataclass(frozen=True)
class CsvOptions:
    """CSV details the engine's writer applies; ``null`` is Zuora's ``nullReplacement``, one
    :func:`null_problem` has no objection to."""

    null: str = ""
    #: A slower reader paces the rows (a pipe into a gzip, zip, segment or PGP packager): the
    #: engine need not run at full speed, so a plain statement keeps to its scan budget
    #: (``memory_gate.Budget``).
    paced: bool = False


class RowFormat(enum.StrEnum):
    """How :meth:`Snapshot.copy_rows` writes rows."""

    JSON_LINES = "jsonl"  #: one compact JSON object per row, keyed by the column labels
    DELIMITED = "delimited"  #: a header row of labels, then rows; quoted only when needed


@dataclass(frozen=True)
class RowLayout:
    """The file :meth:`Snapshot.copy_rows` writes (values rendered as ``engines/row_text.py``
    says, identically on every engine).

    ``delimiter`` (one character, not a quote, return or line feed) separates delimited fields;
    ``gzip`` compresses the file as it is written; timestamps are rendered in ``time_zone``.
    """

    format: RowFormat
    delimiter: str = ","
    gzip: bool = False
    time_zone: str = "UTC"


GZIP_LEVEL = 6  # the existing exports' level: most of the gain, a third of level 9's time


@contextmanager
def open_output(path: Path, *, compress: bool) -> Iterator[io.BufferedIOBase]:
    """``path`` opened for writing bytes, gzip-compressed as they are written if ``compress``."""
    if compress:
        with gzip.open(path, "wb", compresslevel=GZIP_LEVEL) as packed:
            yield packed
    else:
        with path.open("wb") as plain:
            yield plain


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

    def copy_rows(self, sql: str, path: Path, layout: RowLayout) -> int:
        """Write the rows of ``sql`` (engine SQL, one SELECT) to ``path`` as ``layout`` says, with
        the engine's own writer; return the row count. Stopped by :meth:`interrupt` like every
        statement (:class:`errors.QueryInterrupted`)."""
        ...

    def fetch(self, query: lower.LoweredQuery) -> list[tuple[object, ...]]:
        """The query's rows as Python values (formatted as text, as in the CSV)."""
        ...

    def guard_dataquery(self, sql: str) -> None:
        """Refuse (``dataquery.errors.DataQueryRefused``) a translated Data Query statement that
        could reach beyond the tenant's billing tables, by the engine's own reading of it; call
        it just before running the statement. On PostgreSQL the rest of the snapshot then runs
        as the tenant's Data Query role, which may read only the tenant's tables."""
        ...

    def interrupt(self) -> None:
        """Stop the running statement (or one waiting for room in the engine's memory), from any
        thread; a no-op when nothing runs."""
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
