"""Stateful AQuA sessions: which rows each query of a job exports (reference §5).

A session is (tenant, partner, project) in a job of version 1.1/1.2. Its jobs run one at a time
(the store's claim enforces that). Each job exports an ``UpdatedDate`` window that is half-open,
``[start, end)``:

- ``end`` is the snapshot's instant minus the offset (request ``offset``, else the tenant's);
- ``start`` is where the session's previous completed job ended (jobs sent with
  ``incrementalTime`` do not move the session), or ``incrementalTime`` when given;
- per query: a full load (no start, deleted rows never returned) when the session has no
  previous job, when that job was submitted more than 180 days ago, when the query is new or its
  text changed, or when its ``deleted`` section was added, dropped or changed; otherwise an
  incremental load (deleted rows returned when the query has a ``deleted`` section).

Because writes and snapshot starts are ordered (DuckDB: the engine's write gate in one process;
PostgreSQL: a per-tenant advisory lock across processes, ``engines/postgres_writes.py``), every
row stamped before ``end`` is in this job's snapshot and every row stamped after is in a later
one: consecutive windows neither lose nor repeat a change.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import sqlalchemy as sa

from aquarium.domain import tenancy
from aquarium.store import jobs_repo
from aquarium.zoql import visibility

FULL_LOAD_AFTER = dt.timedelta(days=180)  # a session idle this long starts over (reference §5.2)


@dataclass(frozen=True)
class BatchScope:
    """What one batch exports."""

    full: bool
    window: visibility.Window | None
    deleted: visibility.DeletedFlag | None


@dataclass(frozen=True)
class JobScope:
    window_start: dt.datetime | None
    window_end: dt.datetime | None
    batches: dict[str, BatchScope]


def _deleted_flag(batch: jobs_repo.BatchRecord, *, include: bool) -> visibility.DeletedFlag | None:
    if not batch.deleted_json:
        return None
    section = json.loads(batch.deleted_json)
    return visibility.DeletedFlag(
        column=section["column"], numeric=section["format"] == "Numeric", include_deleted=include
    )


def previous_job(
    conn: sa.Connection, tenant: str, partner: str | None, project: str | None
) -> jobs_repo.JobRecord | None:
    """The session's last completed job that moved it (None for a new session)."""
    if not (partner and project):
        return None
    return jobs_repo.last_completed(conn, tenant, partner, project, moving_only=True)


def continues(
    query: str,
    batch_type: str,
    deleted_json: str | None,
    name: str,
    previous: jobs_repo.JobRecord | None,
) -> bool:
    """Whether a query repeats the previous job's query of that name, unchanged (same text,
    type and deleted section): only then is it loaded incrementally (reference §5.3)."""
    if previous is None:
        return False
    before = next((b for b in previous.batches if b.name == name), None)
    return before is not None and (query, batch_type, deleted_json) == (
        before.query,
        before.batch_type,
        before.deleted_json,
    )


def window_start(
    incremental_time_ms: int | None, previous: jobs_repo.JobRecord | None, at: dt.datetime
) -> dt.datetime | None:
    """Where a session job's window starts if its snapshot is taken ``at``: ``incrementalTime``,
    else where the session's previous job ended (None: a full load from the beginning)."""
    if incremental_time_ms is not None:
        return dt.datetime.fromtimestamp(incremental_time_ms / 1000, dt.UTC)
    if previous is not None and previous.created_at >= at - FULL_LOAD_AFTER:
        return previous.window_end or previous.started_at
    return None


def scope(
    conn: sa.Connection, job: jobs_repo.JobRecord, tenant: tenancy.Tenant, taken_at: dt.datetime
) -> JobScope:
    """The window and per-batch choices of ``job``, whose snapshot was taken at ``taken_at``."""
    if not job.stateful:
        # Stateless: the queries run as written; a deleted section means forceExport.
        return JobScope(
            None,
            None,
            {b.id: BatchScope(True, None, _deleted_flag(b, include=True)) for b in job.batches},
        )
    offset = job.offset_seconds
    if offset is None:
        offset = tenant.limits.stateful_offset_s
    end = taken_at - dt.timedelta(seconds=offset)
    previous = previous_job(conn, job.tenant, job.partner, job.project)
    if previous is not None and previous.id == job.id:
        previous = None
    start = window_start(job.incremental_time_ms, previous, taken_at)
    batches: dict[str, BatchScope] = {}
    for batch in job.batches:
        incremental = start is not None and (
            job.incremental_time_ms is not None
            or continues(batch.query, batch.batch_type, batch.deleted_json, batch.name, previous)
        )
        window = visibility.Window(start if incremental else None, end)
        batches[batch.id] = BatchScope(
            full=not incremental, window=window, deleted=_deleted_flag(batch, include=incremental)
        )
    return JobScope(start, end, batches)
