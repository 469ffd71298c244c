"""The batches (queries) of AQuA jobs in the metadata store, moved by ``domain.jobs.AQUA_BATCH``.

Plain functions over a ``sqlalchemy.Connection``; the caller owns the transaction. A batch's
own events (start, complete, fail) apply only while its job executes; the job's events reach
its batches through :func:`follow` and :func:`renew`, which ``runs_repo.apply_event`` calls in
the job's transaction as the job's machine says (``AQUA_JOB.children``).

Lock order, on PostgreSQL: a job's run row before its batch rows. The job's events update the
run first; a batch's own events first lock their job's run row (``SELECT ... FOR UPDATE``, a
no-op on SQLite where every write transaction holds the lock), so a batch finishing while its
job is being cancelled waits instead of deadlocking.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from aquarium.domain import ids, jobs
from aquarium.store import tables

B = tables.batches
R = tables.runs
BS = jobs.BatchStatus
MACHINE = jobs.AQUA_BATCH


@dataclass(frozen=True, kw_only=True)
class NewBatch:
    """One query of a submitted job."""

    id: str
    position: int
    name: str
    query: str
    batch_type: str = "zoqlexport"
    api_version: str | None = None
    full: bool = True
    deleted_json: str | None = None  #: the query's ``deleted`` section as JSON, or None
    status: jobs.BatchStatus = BS.PENDING
    message: str = ""


@dataclass(frozen=True, kw_only=True)
class BatchRecord(NewBatch):
    """One stored batch: what was submitted, and how far it got."""

    job_id: str
    record_count: int
    rows_written: int  #: progress while executing
    bytes_written: int
    file_id: str | None  #: the result file; None for a segmented batch (see ``segments``)
    sha256: str | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    segments: tuple[str, ...] = ()  #: a segmented batch's file ids, in order


_FIELDS = tuple(f.name for f in dataclasses.fields(BatchRecord) if f.name != "segments")
_NEW_FIELDS = tuple(f.name for f in dataclasses.fields(NewBatch))


def _record(row: sa.RowMapping) -> BatchRecord:
    values = {name: row[name] for name in _FIELDS}
    values["status"] = BS(values["status"])
    segments = json.loads(row["segments_json"]) if row["segments_json"] else []
    return BatchRecord(**values, segments=tuple(segments))


def insert(conn: sa.Connection, job_id: str, batches: Sequence[NewBatch]) -> None:
    """Store the batches of a new job."""
    if batches:
        rows = [
            dataclasses.asdict(batch) | {"job_id": job_id, "status": BS(batch.status).value}
            for batch in batches
        ]
        conn.execute(B.insert(), rows)


def of_jobs(conn: sa.Connection, job_ids: Collection[str]) -> dict[str, list[BatchRecord]]:
    """The batches of each of ``job_ids`` by position (a job without batches maps to [])."""
    found: dict[str, list[BatchRecord]] = {job_id: [] for job_id in job_ids}
    if not found:
        return found
    rows = conn.execute(
        sa.select(B).where(B.c.job_id.in_(list(found))).order_by(B.c.job_id, B.c.position)
    ).mappings()
    for row in rows:
        found[row["job_id"]].append(_record(row))
    return found


# -- what the job's events do to its batches -------------------------------------------------


def follow(conn: sa.Connection, job_id: str, event: jobs.BatchEvent, *, at: dt.datetime) -> None:
    """Apply ``event`` to every batch of the job it applies to (the job has just ended)."""
    transition = MACHINE.transition(event)
    changes: dict[str, Any] = {"status": transition.to.value}
    if transition.to in MACHINE.terminal:
        changes["finished_at"] = at
    where = sa.and_(B.c.job_id == job_id, B.c.status.in_(_values(transition.allowed_from)))
    conn.execute(sa.update(B).where(where).values(changes))


def renew(conn: sa.Connection, job_id: str) -> None:
    """Replace the job's batches by fresh pending copies (new ids) of the same queries.

    A requeued job runs every query again in one new snapshot, so nothing of the earlier
    attempt (statuses, counts, file ids) may remain; its files are withdrawn by the caller.
    """
    rows = conn.execute(sa.select(B).where(B.c.job_id == job_id)).mappings().all()
    conn.execute(sa.delete(B).where(B.c.job_id == job_id))
    fresh = [
        NewBatch(**{name: row[name] for name in _NEW_FIELDS if name not in {"id", "status"}},
                 id=ids.new_id(), status=_renewed(BS(row["status"])))
        for row in rows
    ]  # fmt: skip
    fresh = [dataclasses.replace(batch, message="") for batch in fresh]
    insert(conn, job_id, fresh)


def _renewed(status: jobs.BatchStatus) -> jobs.BatchStatus:
    # A batch refused at validation stays refused; every other one runs again.
    return status if status is BS.DELETED_NOT_ALLOWED else BS.PENDING


# -- a batch's own events ----------------------------------------------------------------------


def _values(statuses: Collection[jobs.BatchStatus]) -> list[str]:
    return sorted(status.value for status in statuses)


def _lock_job_of(conn: sa.Connection, batch_id: str) -> None:
    job_id = sa.select(B.c.job_id).where(B.c.id == batch_id).scalar_subquery()
    conn.execute(sa.select(R.c.id).where(R.c.id == job_id).with_for_update())


def _job_executing() -> sa.ColumnElement[bool]:
    held = jobs.AQUA_JOB.executing
    return sa.exists().where(R.c.id == B.c.job_id, R.c.status.in_(_values(held)))  # type: ignore[arg-type]


def _apply(
    conn: sa.Connection,
    batch_id: str,
    event: jobs.BatchEvent,
    changes: dict[str, Any],
    *,
    while_job_executes: bool,
) -> bool:
    """Compare-and-set ``event`` on the batch (with further ``changes``); False when it lost."""
    _lock_job_of(conn, batch_id)
    transition = MACHINE.transition(event)
    update = sa.update(B).where(
        B.c.id == batch_id, B.c.status.in_(_values(transition.allowed_from))
    )
    if while_job_executes:
        update = update.where(_job_executing())
    values = {"status": transition.to.value, **changes}
    return conn.execute(update.values(values)).rowcount == 1


def start(conn: sa.Connection, batch_id: str, *, at: dt.datetime) -> bool:
    """pending -> executing, only while its job executes; False otherwise."""
    return _apply(
        conn, batch_id, jobs.BatchEvent.START, {"started_at": at}, while_job_executes=True
    )


def progress(conn: sa.Connection, batch_id: str, rows: int, bytes_: int) -> None:
    """Record how far an executing batch has got (ignored once it has finished)."""
    _lock_job_of(conn, batch_id)
    update = sa.update(B).where(B.c.id == batch_id, B.c.status == BS.EXECUTING.value)
    conn.execute(update.values(rows_written=rows, bytes_written=bytes_))


def complete(
    conn: sa.Connection,
    batch_id: str,
    *,
    file_id: str | None,
    record_count: int,
    sha256: str | None,
    size: int,
    at: dt.datetime,
    segments: Sequence[str] = (),
) -> bool:
    """executing -> completed, only while the batch and its job both still execute.

    A segmented batch passes its files' ids in ``segments`` (in order) and ``file_id=None``,
    ``sha256=None`` (each segment's checksum is on its file row); ``size`` is then the total.
    False means the job was cancelled (or aborted) meanwhile: the batch stays as that made it,
    and the caller must delete the files it wrote.
    """
    changes: dict[str, Any] = {"finished_at": at, "file_id": file_id, "sha256": sha256}
    changes["bytes_written"] = size
    changes["segments_json"] = json.dumps(list(segments)) if segments else None
    changes |= {"record_count": record_count, "rows_written": record_count}
    return _apply(conn, batch_id, jobs.BatchEvent.COMPLETE, changes, while_job_executes=True)


def fail(conn: sa.Connection, batch_id: str, *, message: str, at: dt.datetime) -> bool:
    """executing -> aborted with ``message``; False when the batch no longer executes."""
    changes = {"message": message, "finished_at": at}
    return _apply(conn, batch_id, jobs.BatchEvent.FAIL, changes, while_job_executes=False)
