"""Result files in the metadata store: which tenant owns which file, where, until when.

Plain functions over a ``sqlalchemy.Connection``; the caller owns the transaction. The bytes
live in the result store (``storage/``); a row here is what makes a file downloadable.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from aquarium.store import tables

F = tables.files


@dataclass(frozen=True)
class FileRecord:
    """One result file."""

    id: str
    tenant: str
    job_id: str
    batch_id: str | None
    path: str  #: relative to the result store's root
    size: int  #: bytes
    sha256: str
    content_type: str
    record_count: int
    created_at: dt.datetime
    expires_at: dt.datetime
    deleted_at: dt.datetime | None = None


_FIELDS = tuple(field.name for field in dataclasses.fields(FileRecord))


def _record(row: sa.RowMapping) -> FileRecord:
    return FileRecord(**{name: row[name] for name in _FIELDS})


def record_file(conn: sa.Connection, file: FileRecord) -> None:
    """Store a new file row."""
    conn.execute(F.insert().values(**dataclasses.asdict(file)))


def get_file(
    conn: sa.Connection, tenant: str, file_id: str, *, now: dt.datetime
) -> FileRecord | None:
    """The file, or None when it is unknown, another tenant's, deleted, or expired at ``now``."""
    query = sa.select(F).where(
        F.c.id == file_id,
        F.c.tenant == tenant,
        F.c.deleted_at.is_(None),
        F.c.expires_at > now,
    )
    row = conn.execute(query).mappings().first()
    return None if row is None else _record(row)


def expired_files(
    conn: sa.Connection,
    now: dt.datetime,
    *,
    tenant: str | None = None,
    except_tenants: Sequence[str] = (),
) -> list[FileRecord]:
    """Files not yet deleted whose retention ended at or before ``now``, oldest expiry first:
    of ``tenant`` (None: of every tenant not in ``except_tenants``)."""
    query = sa.select(F).where(F.c.deleted_at.is_(None), F.c.expires_at <= now)
    if tenant is not None:
        query = query.where(F.c.tenant == tenant)
    elif except_tenants:
        query = query.where(F.c.tenant.not_in(list(except_tenants)))
    rows = conn.execute(query.order_by(F.c.expires_at, F.c.id)).mappings()
    return [_record(row) for row in rows]


def mark_deleted(conn: sa.Connection, file_id: str, at: dt.datetime) -> None:
    """Record that the file's bytes are gone (idempotent: the first deletion time stays)."""
    conn.execute(
        sa.update(F).where(F.c.id == file_id, F.c.deleted_at.is_(None)).values(deleted_at=at)
    )


def files_of_job(conn: sa.Connection, job_id: str) -> list[FileRecord]:
    """The run's files whose bytes are not deleted (expired or not), in creation order."""
    query = sa.select(F).where(F.c.job_id == job_id, F.c.deleted_at.is_(None))
    rows = conn.execute(query.order_by(F.c.created_at, F.c.id)).mappings()
    return [_record(row) for row in rows]


def withdraw(conn: sa.Connection, run_id: str, *, at: dt.datetime) -> int:
    """Make the run's live files unavailable from ``at`` (they expire then; the sweeper
    deletes their bytes at its next pass); how many were withdrawn."""
    update = sa.update(F).where(F.c.job_id == run_id, F.c.deleted_at.is_(None), F.c.expires_at > at)
    return conn.execute(update.values(expires_at=at)).rowcount
