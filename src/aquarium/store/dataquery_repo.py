"""Data Query jobs in the metadata store: a run of kind ``dataquery`` with what its submit said.

Plain functions over a ``sqlalchemy.Connection``; the caller owns the transaction. A Data Query
job is a row of ``runs`` (what every kind shares, changed only through ``runs_repo``'s
compare-and-set events) and its particulars in ``dataquery_jobs``. Reads name the tenant, so
another tenant's job is simply not found.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass

import sqlalchemy as sa

from aquarium.domain import jobs, runs
from aquarium.store import runs_repo, tables

R = tables.runs
DQ = tables.dataquery_jobs
KIND = runs.Kind.DATAQUERY
QS = jobs.DataQueryStatus


@dataclass(frozen=True, kw_only=True)
class NewDataQuery:
    """What a submit says; the job is stored ``accepted``."""

    id: str
    tenant: str
    created_by: str
    created_at: dt.datetime
    query: str
    output_format: str
    compression: str
    column_separator: str | None
    encryption_key: str | None
    read_deleted: bool
    source_data: str
    use_index_join: bool
    warehouse_size: str | None


@dataclass(frozen=True, kw_only=True)
class DataQueryRecord(NewDataQuery, runs_repo.Lifecycle):
    """One stored Data Query job: its request, what happened since, its result."""

    status: jobs.DataQueryStatus
    row_count: int | None
    file_id: str | None
    processing_ms: int | None
    error_code: str | None


_FIELDS = tuple(f.name for f in dataclasses.fields(DataQueryRecord))
_PARTICULARS = tuple(
    f.name for f in dataclasses.fields(NewDataQuery) if f.name not in runs_repo.FIELDS
)
_RESULTS = ("row_count", "file_id", "processing_ms", "error_code")
#: A Data Query job as one row, its columns named as the record's fields.
JOBS = (
    sa.select(
        *(R.c[name] for name in runs_repo.FIELDS if name not in {"name", "kind", "session"}),
        *(DQ.c[name] for name in (*_PARTICULARS, *_RESULTS)),
    )
    .select_from(sa.join(R, DQ, DQ.c.run_id == R.c.id))
    .where(R.c.kind == KIND.value)
    .subquery("dataquery_job")
)
V = JOBS.c


def _record(row: sa.RowMapping) -> DataQueryRecord:
    values = {name: row[name] for name in _FIELDS}
    values["status"] = QS(values["status"])
    return DataQueryRecord(**values)


def insert(conn: sa.Connection, job: NewDataQuery) -> None:
    runs_repo.insert(conn, runs_repo.new_run(job, KIND, name=None))
    values = dataclasses.asdict(job)
    conn.execute(DQ.insert().values(run_id=job.id, **{k: values[k] for k in _PARTICULARS}))


def get(conn: sa.Connection, tenant: str, job_id: str) -> DataQueryRecord | None:
    """The job, or None when it is unknown or another tenant's."""
    row = conn.execute(sa.select(JOBS).where(V.id == job_id, V.tenant == tenant)).mappings()
    found = row.first()
    return None if found is None else _record(found)


def newest(
    conn: sa.Connection,
    tenant: str,
    *,
    status: jobs.DataQueryStatus | None = None,
    created_by: str | None = None,
    since: dt.datetime | None = None,
    limit: int = 20,
) -> list[DataQueryRecord]:
    """The tenant's jobs, newest first (ties by id); ``created_by`` None: every user's."""
    where: list[sa.ColumnElement[bool]] = [V.tenant == tenant]
    if status is not None:
        where.append(V.status == status.value)
    if created_by is not None:
        where.append(V.created_by == created_by)
    if since is not None:
        where.append(V.created_at >= since)
    rows = conn.execute(
        sa.select(JOBS).where(*where).order_by(V.created_at.desc(), V.id.desc()).limit(limit)
    ).mappings()
    return [_record(row) for row in rows]


def count_waiting(conn: sa.Connection, tenant: str) -> int:
    """How many of the tenant's jobs wait in ``accepted`` (the queued-query limit counts them)."""
    query = sa.select(sa.func.count()).where(
        R.c.tenant == tenant, R.c.kind == KIND.value, R.c.status == QS.ACCEPTED.value
    )
    return int(conn.execute(query).scalar_one())


def record_results(conn: sa.Connection, job_id: str, **results: object) -> None:
    """Set some of the job's results (``row_count``, ``file_id``, ``processing_ms``,
    ``error_code``), in the transaction of the event that makes them true."""
    unknown = set(results) - set(_RESULTS)
    if unknown:
        raise ValueError(f"not a Data Query result: {sorted(unknown)}")
    conn.execute(sa.update(DQ).where(DQ.c.run_id == job_id).values(results))
