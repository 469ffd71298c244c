"""AQuA jobs in the metadata store: a run of kind ``aqua`` with its settings and batches.

Plain functions over a ``sqlalchemy.Connection``; the caller owns the transaction
(``with engine.begin() as conn``). A job is a row of ``runs`` (what every kind shares, changed
only through ``runs_repo``'s compare-and-set events), its settings in ``aqua_jobs`` and its
queries in ``batches`` (``batches_repo``). Reads name the tenant, so another tenant's job is
simply not found.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from aquarium.domain import jobs, runs
from aquarium.store import batches_repo, runs_repo, tables

R = tables.runs
AQ = tables.aqua_jobs
K = tables.idempotency_keys
KIND = runs.Kind.AQUA
NewBatch = batches_repo.NewBatch
BatchRecord = batches_repo.BatchRecord


@dataclass(frozen=True, kw_only=True)
class NewJob:
    """What the submit path knows about a job; it is stored as ``submitted``."""

    id: str
    tenant: str
    name: str | None  #: optional in the request
    version: str  #: "1.0", "1.1" or "1.2"
    format: str  #: "CSV", "GZIP" or "ZIP"
    created_at: dt.datetime
    stateful: bool = False
    partner: str | None = None
    project: str | None = None
    encrypted: str | None = None
    notify_url: str | None = None
    incremental_time_ms: int | None = None
    offset_seconds: int | None = None
    null_replacement: str | None = None
    use_query_labels: bool = False
    date_time_utc: bool = False
    source_data: str | None = None
    use_last_completed_job_queries: bool = False
    created_by: str | None = None
    idempotency_key: str | None = None
    request_sha256: str | None = None
    #: stateful: first UpdatedDate exported (provisional at submit, settled when it starts)
    window_start: dt.datetime | None = None


@dataclass(frozen=True, kw_only=True)
class JobRecord(NewJob, runs_repo.Lifecycle):
    """One stored job: what was submitted, what happened since, its batches by position."""

    status: jobs.JobStatus
    window_end: dt.datetime | None = None  #: stateful: UpdatedDates before it were exported
    batches: tuple[BatchRecord, ...] = ()


_RUN_FIELDS = ("id", "tenant", "name", "created_by", "created_at")
#: What a submit sets in ``aqua_jobs``; the job's window is recorded when it starts.
_SUBMITTED = tuple(f.name for f in dataclasses.fields(NewJob) if f.name not in _RUN_FIELDS)
_SETTINGS = (*_SUBMITTED, "window_end")
_FIELDS = tuple(f.name for f in dataclasses.fields(JobRecord) if f.name != "batches")
#: A job as one row: the run's shared columns and the job's settings.
JOBS = sa.join(R, AQ, AQ.c.run_id == R.c.id)
_COLUMNS = [*(R.c[name] for name in runs_repo.FIELDS), *(AQ.c[name] for name in _SETTINGS)]


def session_of(job: NewJob) -> str | None:
    """A stateful job's session, ``<len(partner)>:<partner>/<project>`` (unambiguous whatever
    the names hold; migration 0008 writes the same in SQL): its jobs run one at a time."""
    if not job.stateful:
        return None
    partner, project = job.partner or "", job.project or ""
    return f"{len(partner)}:{partner}/{project}"


def _select() -> sa.Select[Any]:
    return sa.select(*_COLUMNS).select_from(JOBS).where(R.c.kind == KIND.value)


def _load(conn: sa.Connection, query: sa.Select[Any]) -> list[JobRecord]:
    """The jobs ``query`` (from :func:`_select`) finds, in its order, with their batches."""
    rows = conn.execute(query).mappings().all()
    batches = batches_repo.of_jobs(conn, [row["id"] for row in rows])
    records = []
    for row in rows:
        values = {name: row[name] for name in _FIELDS}
        values["status"] = jobs.JobStatus(values["status"])
        records.append(JobRecord(**values, batches=tuple(batches[row["id"]])))
    return records


def _first(conn: sa.Connection, query: sa.Select[Any]) -> JobRecord | None:
    found = _load(conn, query.limit(1))
    return found[0] if found else None


def insert_job(conn: sa.Connection, job: NewJob, batches: Sequence[NewBatch]) -> None:
    """Store a new ``submitted`` job and its batches."""
    runs_repo.insert(conn, runs_repo.new_run(job, KIND, name=job.name, session=session_of(job)))
    settings = dataclasses.asdict(job)
    conn.execute(AQ.insert().values(run_id=job.id, **{k: settings[k] for k in _SUBMITTED}))
    batches_repo.insert(conn, job.id, batches)


def get_job(conn: sa.Connection, tenant: str, job_id: str) -> JobRecord | None:
    """The job, or None when it is unknown or belongs to another tenant."""
    return _first(conn, _select().where(R.c.id == job_id, R.c.tenant == tenant))


def list_jobs(conn: sa.Connection, tenant: str, *, limit: int = 100) -> list[JobRecord]:
    """The tenant's newest ``limit`` jobs, newest first."""
    query = _select().where(R.c.tenant == tenant)
    return _load(conn, query.order_by(R.c.created_at.desc(), R.c.id.desc()).limit(limit))


def jobs_by_ids(conn: sa.Connection, tenant: str, job_ids: Sequence[str]) -> list[JobRecord]:
    """The tenant's jobs among ``job_ids`` with their batches (unknown ids are skipped)."""
    if not job_ids:
        return []
    return _load(conn, _select().where(R.c.tenant == tenant, R.c.id.in_(list(job_ids))))


def count_active(conn: sa.Connection, tenant: str, *, stateful: bool) -> int:
    """How many of the tenant's stateful (or stateless) jobs are submitted or executing."""
    query = (
        sa.select(sa.func.count())
        .select_from(JOBS)
        .where(R.c.tenant == tenant, AQ.c.stateful.is_(stateful), runs_repo.active({KIND}))
    )
    return int(conn.execute(query).scalar_one())


def last_completed(
    conn: sa.Connection, tenant: str, partner: str, project: str, *, moving_only: bool = False
) -> JobRecord | None:
    """The session's most recently finished completed stateful job, or None.

    With ``moving_only``, jobs sent with an explicit ``incrementalTime`` are skipped:
    they do not move the session (CONTRACT.md, stateful sessions).
    """
    query = _select().where(
        R.c.tenant == tenant,
        AQ.c.partner == partner,
        AQ.c.project == project,
        AQ.c.stateful.is_(True),
        R.c.status == jobs.JobStatus.COMPLETED.value,
    )
    if moving_only:
        query = query.where(AQ.c.incremental_time_ms.is_(None))
    return _first(conn, query.order_by(R.c.finished_at.desc(), R.c.id.desc()))


def record_windows(
    conn: sa.Connection,
    job_id: str,
    *,
    window_start: dt.datetime | None,
    window_end: dt.datetime,
    full: Mapping[str, bool],
) -> bool:
    """Record an executing job's window and each batch's full/incremental choice.

    False (and nothing written) when the job is no longer executing.
    """
    still = sa.exists().where(R.c.id == AQ.c.run_id, runs_repo.executing({KIND}))
    moved = conn.execute(
        sa.update(AQ)
        .where(AQ.c.run_id == job_id, still)
        .values(window_start=window_start, window_end=window_end)
    ).rowcount
    if not moved:
        return False
    batches = tables.batches
    for batch_id, is_full in full.items():
        conn.execute(sa.update(batches).where(batches.c.id == batch_id).values(full=is_full))
    return True


# -- Idempotency-Key -------------------------------------------------------------------------


def find_idempotency(
    conn: sa.Connection, tenant: str, key: str, *, since: dt.datetime
) -> tuple[str, str] | None:
    """``(request_sha256, job_id)`` recorded for the key at or after ``since``, or None."""
    query = sa.select(K.c.request_sha256, K.c.job_id).where(
        K.c.tenant == tenant, K.c.key == key, K.c.created_at >= since
    )
    row = conn.execute(query).first()
    return None if row is None else (row.request_sha256, row.job_id)


def record_idempotency(
    conn: sa.Connection, tenant: str, key: str, request_sha256: str, job_id: str, at: dt.datetime
) -> None:
    """Remember that ``key`` made ``job_id``, replacing an older (expired) use of the key.

    Two submissions racing with a new key both insert: the loser gets ``IntegrityError`` and
    should roll back and look the key up again. The key goes when its job is purged.
    """
    values = {"request_sha256": request_sha256, "job_id": job_id, "created_at": at}
    update = sa.update(K).where(K.c.tenant == tenant, K.c.key == key).values(values)
    if conn.execute(update).rowcount == 0:
        conn.execute(K.insert().values(tenant=tenant, key=key, **values))
