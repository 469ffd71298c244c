"""AQuA jobs and their batches in the metadata store.

Plain functions over a ``sqlalchemy.Connection``; the caller owns the transaction
(``with engine.begin() as conn``). Every status change is one compare-and-set ``UPDATE``
whose ``WHERE`` names the statuses ``domain.jobs.TRANSITIONS`` allows; zero rows updated means
the event lost a race (or met a terminal state) and nothing changes.

Lock order, on PostgreSQL: a job row before its batch rows. ``apply_event`` updates the job and
then its batches; the batch functions first lock their job's row (``SELECT ... FOR UPDATE``,
a no-op on SQLite where every transaction holds the write lock), so a batch finishing while
its job is being cancelled waits instead of deadlocking.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from aquarium.domain import jobs
from aquarium.store import notifications_repo, tables

J = tables.jobs
B = tables.batches
K = tables.idempotency_keys


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
    status: jobs.BatchStatus = jobs.BatchStatus.PENDING
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


@dataclass(frozen=True, kw_only=True)
class JobRecord(NewJob):
    """One stored job: what was submitted, what happened since, its batches by position."""

    status: jobs.JobStatus
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    attempt: int
    worker: str | None
    heartbeat_at: dt.datetime | None
    error_code: str | None
    message: str | None
    window_start: dt.datetime | None = None  #: stateful: first UpdatedDate exported
    window_end: dt.datetime | None = None  #: stateful: UpdatedDates before it were exported
    batches: tuple[BatchRecord, ...] = ()


_JOB_FIELDS = tuple(f.name for f in dataclasses.fields(JobRecord) if f.name != "batches")
_BATCH_FIELDS = tuple(f.name for f in dataclasses.fields(BatchRecord) if f.name != "segments")
_EXECUTING_BATCH = frozenset({jobs.BatchStatus.EXECUTING})
_PENDING_BATCH = jobs.BatchStatus.PENDING.value


def _statuses(statuses: frozenset[jobs.JobStatus] | frozenset[jobs.BatchStatus]) -> list[str]:
    return sorted(status.value for status in statuses)


def _batch(row: sa.RowMapping) -> BatchRecord:
    values = {name: row[name] for name in _BATCH_FIELDS}
    values["status"] = jobs.BatchStatus(values["status"])
    segments = json.loads(row["segments_json"]) if row["segments_json"] else []
    return BatchRecord(**values, segments=tuple(segments))


def _load(conn: sa.Connection, query: sa.Select[Any]) -> list[JobRecord]:
    """The jobs ``query`` (a select of ``jobs``) finds, in its order, with their batches."""
    rows = conn.execute(query).mappings().all()
    if not rows:
        return []
    batches: dict[str, list[BatchRecord]] = {row["id"]: [] for row in rows}
    batch_rows = conn.execute(
        sa.select(B).where(B.c.job_id.in_(list(batches))).order_by(B.c.job_id, B.c.position)
    ).mappings()
    for batch_row in batch_rows:
        batches[batch_row["job_id"]].append(_batch(batch_row))
    records = []
    for row in rows:
        values = {name: row[name] for name in _JOB_FIELDS}
        values["status"] = jobs.JobStatus(values["status"])
        records.append(JobRecord(**values, batches=tuple(batches[row["id"]])))
    return records


def _first(conn: sa.Connection, query: sa.Select[Any]) -> JobRecord | None:
    found = _load(conn, query.limit(1))
    return found[0] if found else None


def get_job(conn: sa.Connection, tenant: str, job_id: str) -> JobRecord | None:
    """The job, or None when it is unknown or belongs to another tenant."""
    return _first(conn, sa.select(J).where(J.c.id == job_id, J.c.tenant == tenant))


def list_jobs(conn: sa.Connection, tenant: str, *, limit: int = 100) -> list[JobRecord]:
    """The tenant's newest ``limit`` jobs, newest first."""
    query = sa.select(J).where(J.c.tenant == tenant)
    return _load(conn, query.order_by(J.c.created_at.desc(), J.c.id.desc()).limit(limit))


def active_job_ids(conn: sa.Connection) -> list[str]:
    """Ids of every submitted or executing job, oldest first."""
    query = sa.select(J.c.id).where(J.c.status.in_(_statuses(jobs.ACTIVE)))
    return list(conn.execute(query.order_by(J.c.created_at, J.c.id)).scalars())


def count_active(conn: sa.Connection, tenant: str, *, stateful: bool) -> int:
    """How many of the tenant's stateful (or stateless) jobs are submitted or executing."""
    active = J.c.status.in_(_statuses(jobs.ACTIVE))
    query = sa.select(sa.func.count()).where(
        J.c.tenant == tenant, J.c.stateful.is_(stateful), active
    )
    return int(conn.execute(query).scalar_one())


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
    moved = conn.execute(
        sa.update(J)
        .where(J.c.id == job_id, J.c.status == jobs.JobStatus.EXECUTING.value)
        .values(window_start=window_start, window_end=window_end)
    ).rowcount
    if not moved:
        return False
    for batch_id, is_full in full.items():
        conn.execute(sa.update(B).where(B.c.id == batch_id).values(full=is_full))
    return True


def count_by_status(conn: sa.Connection) -> dict[jobs.JobStatus, int]:
    """Jobs of every tenant per status (statuses with no job are absent)."""
    query = sa.select(J.c.status, sa.func.count()).group_by(J.c.status)
    return {jobs.JobStatus(status): int(n) for status, n in conn.execute(query)}


def last_completed(
    conn: sa.Connection, tenant: str, partner: str, project: str, *, moving_only: bool = False
) -> JobRecord | None:
    """The session's most recently finished completed stateful job, or None.

    With ``moving_only``, jobs sent with an explicit ``incrementalTime`` are skipped:
    they do not move the session (CONTRACT.md, stateful sessions).
    """
    query = sa.select(J).where(
        J.c.tenant == tenant,
        J.c.partner == partner,
        J.c.project == project,
        J.c.stateful.is_(True),
        J.c.status == jobs.JobStatus.COMPLETED.value,
    )
    if moving_only:
        query = query.where(J.c.incremental_time_ms.is_(None))
    return _first(conn, query.order_by(J.c.finished_at.desc(), J.c.id.desc()))


def stale_jobs(conn: sa.Connection, *, older_than: dt.datetime) -> list[JobRecord]:
    """Executing jobs whose worker has not sent a heartbeat since ``older_than``."""
    query = sa.select(J).where(
        J.c.status == jobs.JobStatus.EXECUTING.value,
        sa.or_(J.c.heartbeat_at.is_(None), J.c.heartbeat_at < older_than),
    )
    return _load(conn, query.order_by(J.c.created_at, J.c.id))


def insert_job(conn: sa.Connection, job: NewJob, batches: Sequence[NewBatch]) -> None:
    """Store a new ``submitted`` job and its batches."""
    conn.execute(
        J.insert().values(**dataclasses.asdict(job), status=jobs.JobStatus.SUBMITTED.value)
    )
    if batches:
        rows = [
            dataclasses.asdict(batch)
            | {"job_id": job.id, "status": jobs.BatchStatus(batch.status).value}
            for batch in batches
        ]
        conn.execute(B.insert(), rows)


def apply_event(
    conn: sa.Connection,
    job_id: str,
    event: jobs.JobEvent,
    *,
    at: dt.datetime,
    message: str | None = None,
) -> jobs.JobStatus | None:
    """Apply ``event`` to the job if its current status allows it (compare-and-set).

    Returns the new status, or None when the job is unknown or in a status the event does not
    apply to (a lost race, or a terminal state: those are sticky). In the same transaction:
    START stamps ``started_at``, the heartbeat and ``attempt + 1``; a terminal status stamps
    ``finished_at`` and turns unfinished batches into ``UNFINISHED_BATCHES_BECOME`` (finished
    batches keep their files); REQUEUE puts executing batches back to pending.
    """
    return _compare_and_set(conn, job_id, event, at=at, message=message)


def _compare_and_set(
    conn: sa.Connection,
    job_id: str,
    event: jobs.JobEvent,
    *,
    at: dt.datetime,
    message: str | None = None,
    values: dict[str, Any] | None = None,
    guard: sa.ColumnElement[bool] | None = None,
) -> jobs.JobStatus | None:
    transition = jobs.transition(event)
    changes: dict[str, Any] = {"status": transition.to.value, **(values or {})}
    if event is jobs.JobEvent.START:
        changes |= {"started_at": at, "heartbeat_at": at, "attempt": J.c.attempt + 1}
    elif event is jobs.JobEvent.REQUEUE:
        changes |= {"worker": None, "heartbeat_at": None}
    if transition.to.terminal:
        changes["finished_at"] = at
    if message is not None:
        changes["message"] = message
    update = sa.update(J).where(
        J.c.id == job_id, J.c.status.in_(_statuses(transition.allowed_from))
    )
    if guard is not None:
        update = update.where(guard)
    if conn.execute(update.values(changes)).rowcount != 1:
        return None
    if transition.to.terminal:
        # In the same transaction as the status: a job with a notifyUrl is never left
        # unannounced, whichever process ended it (runner/notify.py sends it).
        notifications_repo.enqueue(conn, job_id, transition.to, at=at)
    becomes = jobs.UNFINISHED_BATCHES_BECOME.get(transition.to)
    if becomes is not None:
        _update_batches(conn, job_id, jobs.UNFINISHED_BATCH, status=becomes.value, finished_at=at)
    if event is jobs.JobEvent.REQUEUE:
        reset = {"started_at": None, "rows_written": 0, "bytes_written": 0}
        _update_batches(conn, job_id, _EXECUTING_BATCH, status=_PENDING_BATCH, **reset)
    return transition.to


def _update_batches(
    conn: sa.Connection, job_id: str, statuses: frozenset[jobs.BatchStatus], **changes: Any
) -> None:
    where = sa.and_(B.c.job_id == job_id, B.c.status.in_(_statuses(statuses)))
    conn.execute(sa.update(B).where(where).values(changes))


def _session_free() -> sa.ColumnElement[bool]:
    """True for a job that may start now as far as its stateful session is concerned.

    A stateful job waits while a job of its session executes or an older one is still
    submitted. The second half matters on PostgreSQL: two workers claiming two jobs of one
    session at once would each miss the other's uncommitted claim, but the younger job's claim
    sees the older job still submitted and fails.
    """
    other = J.alias("other")
    older = sa.or_(
        other.c.created_at < J.c.created_at,
        sa.and_(other.c.created_at == J.c.created_at, other.c.id < J.c.id),
    )
    blocking = sa.exists().where(
        other.c.tenant == J.c.tenant,
        other.c.stateful.is_(True),
        other.c.partner.is_not_distinct_from(J.c.partner),
        other.c.project.is_not_distinct_from(J.c.project),
        sa.or_(
            other.c.status == jobs.JobStatus.EXECUTING.value,
            sa.and_(other.c.status == jobs.JobStatus.SUBMITTED.value, older),
        ),
    )
    return sa.or_(J.c.stateful.is_(False), ~blocking)


def claim_next(
    conn: sa.Connection,
    *,
    worker: str,
    at: dt.datetime,
    tenant_limits: Callable[[str], int] | None = None,
) -> JobRecord | None:
    """Move the oldest claimable submitted job to executing for ``worker`` and return it.

    Oldest means by ``created_at``, then id. A stateful job is claimable when no job of its
    session executes and no older one waits; with ``tenant_limits``, a job is skipped while its
    tenant already has that many jobs executing (a soft limit across concurrent claimers).
    When another claimer wins a job first, the next candidate is tried. None when nothing is
    claimable.
    """
    candidates = conn.execute(
        sa.select(J.c.id, J.c.tenant)
        .where(J.c.status == jobs.JobStatus.SUBMITTED.value, _session_free())
        .order_by(J.c.created_at, J.c.id)
    ).all()
    executing: dict[str, int] | None = None
    for job_id, tenant in candidates:
        if tenant_limits is not None:
            if executing is None:
                executing = _executing_per_tenant(conn)
            if executing.get(tenant, 0) >= tenant_limits(tenant):
                continue
        claimed = _compare_and_set(
            conn, job_id, jobs.JobEvent.START, at=at, values={"worker": worker},
            guard=_session_free(),
        )  # fmt: skip
        if claimed is not None:
            return get_job(conn, tenant, job_id)
    return None


def _executing_per_tenant(conn: sa.Connection) -> dict[str, int]:
    query = (
        sa.select(J.c.tenant, sa.func.count())
        .where(J.c.status == jobs.JobStatus.EXECUTING.value)
        .group_by(J.c.tenant)
    )
    return {tenant: int(count) for tenant, count in conn.execute(query)}


def heartbeat(conn: sa.Connection, job_id: str, worker: str, at: dt.datetime) -> bool:
    """Record that ``worker`` still runs the job; False when it no longer owns an executing job."""
    update = sa.update(J).where(
        J.c.id == job_id, J.c.worker == worker, J.c.status == jobs.JobStatus.EXECUTING.value
    )
    return conn.execute(update.values(heartbeat_at=at)).rowcount == 1


def purge_jobs(
    conn: sa.Connection,
    *,
    created_before: dt.datetime,
    tenant: str | None = None,
    except_tenants: Sequence[str] = (),
) -> int:
    """Delete finished jobs created before ``created_before`` (with their batches and
    idempotency keys) of ``tenant`` (None: of every tenant not in ``except_tenants``); returns
    how many jobs went. Files are the sweeper's business."""
    doomed = sa.and_(
        J.c.status.in_(_statuses(jobs.TERMINAL)),
        J.c.created_at < created_before,
        J.c.tenant == tenant if tenant is not None else J.c.tenant.not_in(list(except_tenants)),
    )
    conn.execute(sa.delete(K).where(K.c.job_id.in_(sa.select(J.c.id).where(doomed))))
    return conn.execute(sa.delete(J).where(doomed)).rowcount


def _lock_job_of(conn: sa.Connection, batch_id: str) -> None:
    job_id = sa.select(B.c.job_id).where(B.c.id == batch_id).scalar_subquery()
    conn.execute(sa.select(J.c.id).where(J.c.id == job_id).with_for_update())


def _job_executing() -> sa.ColumnElement[bool]:
    return sa.exists().where(J.c.id == B.c.job_id, J.c.status == jobs.JobStatus.EXECUTING.value)


def _batch_cas(
    conn: sa.Connection, batch_id: str, from_: jobs.BatchStatus, changes: dict[str, Any], *,
    job_executing: bool,
) -> bool:  # fmt: skip
    _lock_job_of(conn, batch_id)
    update = sa.update(B).where(B.c.id == batch_id, B.c.status == from_.value)
    if job_executing:
        update = update.where(_job_executing())
    return conn.execute(update.values(changes)).rowcount == 1


def start_batch(conn: sa.Connection, batch_id: str, *, at: dt.datetime) -> bool:
    """pending -> executing, only while its job executes; False otherwise."""
    changes = {"status": jobs.BatchStatus.EXECUTING.value, "started_at": at}
    return _batch_cas(conn, batch_id, jobs.BatchStatus.PENDING, changes, job_executing=True)


def progress_batch(conn: sa.Connection, batch_id: str, rows: int, bytes_: int) -> None:
    """Record how far an executing batch has got (ignored once it has finished)."""
    changes = {"rows_written": rows, "bytes_written": bytes_}
    _batch_cas(conn, batch_id, jobs.BatchStatus.EXECUTING, changes, job_executing=False)


def complete_batch(
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
    changes: dict[str, Any] = {"status": jobs.BatchStatus.COMPLETED.value, "finished_at": at}
    changes |= {"file_id": file_id, "sha256": sha256, "bytes_written": size}
    changes["segments_json"] = json.dumps(list(segments)) if segments else None
    changes |= {"record_count": record_count, "rows_written": record_count}
    return _batch_cas(conn, batch_id, jobs.BatchStatus.EXECUTING, changes, job_executing=True)


def fail_batch(conn: sa.Connection, batch_id: str, *, message: str, at: dt.datetime) -> bool:
    """executing -> aborted with ``message``; False when the batch no longer executes."""
    changes = {"status": jobs.BatchStatus.ABORTED.value, "message": message, "finished_at": at}
    return _batch_cas(conn, batch_id, jobs.BatchStatus.EXECUTING, changes, job_executing=False)


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
    should roll back and look the key up again.
    """
    values = {"request_sha256": request_sha256, "job_id": job_id, "created_at": at}
    update = sa.update(K).where(K.c.tenant == tenant, K.c.key == key).values(values)
    if conn.execute(update).rowcount == 0:
        conn.execute(K.insert().values(tenant=tenant, key=key, **values))


def jobs_by_ids(conn: sa.Connection, tenant: str, job_ids: Sequence[str]) -> list[JobRecord]:
    """The tenant's jobs among ``job_ids`` with their batches (unknown ids are skipped)."""
    if not job_ids:
        return []
    return _load(conn, sa.select(J).where(J.c.tenant == tenant, J.c.id.in_(list(job_ids))))
