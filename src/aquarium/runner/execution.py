"""Running one claimed job: its batches in order, in one read-only snapshot.

Every status change goes through the store's compare-and-set functions, so a cancel that lands
at any moment wins cleanly: a batch that finishes after the cancel is not recorded and its file
is removed; the batches that finished before keep their files.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa

from aquarium import observability
from aquarium.catalog import model
from aquarium.domain import clock as clock_port
from aquarium.domain import errors, ids, jobs, tenancy
from aquarium.engines import base, naming
from aquarium.export import writer
from aquarium.storage import base as storage
from aquarium.store import files_repo, jobs_repo
from aquarium.zoql import ast, check, lower, translate

log = observability.logger(__name__)


@dataclass
class RunningJob:
    """What another thread needs to stop a job: its snapshot and why it is being stopped."""

    job_id: str
    snapshot: base.Snapshot | None = None
    cancel_requested_at: float | None = None
    timed_out: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def interrupt(self) -> None:
        with self.lock:
            if self.snapshot is not None:
                self.snapshot.interrupt()


@dataclass(frozen=True)
class ExecutionContext:
    metadata: sa.Engine
    engine: base.QueryEngine
    results: storage.ResultStore
    catalog: model.Catalog
    clock: clock_port.Clock
    tenant: Callable[[str], tenancy.Tenant | None]


class _Stop(Exception):
    """The job left 'executing' under us (cancelled): stop without touching it further."""


def execute(ctx: ExecutionContext, job: jobs_repo.JobRecord, running: RunningJob) -> None:
    """Run every pending batch of ``job`` (already claimed: status executing)."""
    tenant = ctx.tenant(job.tenant)
    time_zone = tenant.time_zone if tenant else "America/Los_Angeles"
    limits = tenant.limits if tenant else tenancy.Limits()
    started = ctx.clock.now()
    try:
        with ctx.engine.snapshot(job.tenant) as snapshot:
            with running.lock:
                running.snapshot = snapshot
            for batch in job.batches:
                if batch.status != jobs.BatchStatus.PENDING:
                    continue
                _run_batch(ctx, job, batch, snapshot, running, time_zone, limits, started)
    except _Stop:
        return
    except base.TenantDataMissing as exc:
        _abort_job(ctx, job, exc.describe())
        return
    _finish(ctx, job, jobs.JobEvent.COMPLETE)


def _run_batch(
    ctx: ExecutionContext,
    job: jobs_repo.JobRecord,
    batch: jobs_repo.BatchRecord,
    snapshot: base.Snapshot,
    running: RunningJob,
    time_zone: str,
    limits: tenancy.Limits,
    started: dt.datetime,
) -> None:
    with ctx.metadata.begin() as conn:
        if not jobs_repo.start_batch(conn, batch.id, at=ctx.clock.now()):
            raise _Stop
    file_id = ids.new_id()
    temporary = ctx.results.temporary_path(job.tenant, file_id)
    timer = threading.Timer(limits.query_time_limit_s, _time_out, args=(running,))
    timer.daemon = True
    began = time.perf_counter()
    try:
        lowered = _lowered(ctx, job, batch, time_zone, started)
        timer.start()
        written = writer.write_result(
            snapshot,
            lowered,
            temporary,
            file_format=job.format,
            query_name=batch.name,
            csv=base.CsvOptions(null=job.null_replacement or ""),
        )
    except base.QueryInterrupted as exc:
        ctx.results.discard(temporary)
        _interrupted(ctx, job, batch, running, exc)
        raise _Stop from None
    except (errors.ZoqlError, base.QueryFailed) as exc:
        ctx.results.discard(temporary)
        _fail_batch(ctx, job, batch, exc.describe())
        raise _Stop from None
    finally:
        timer.cancel()
    observability.EXPORT_SECONDS.observe(time.perf_counter() - began)
    _publish(ctx, job, batch, file_id, written, limits)


def _lowered(
    ctx: ExecutionContext,
    job: jobs_repo.JobRecord,
    batch: jobs_repo.BatchRecord,
    time_zone: str,
    started: dt.datetime,
) -> lower.LoweredQuery:
    # Relative dates ('today - 30 days') are evaluated once, at the job's start.
    context = check.Context(catalog=ctx.catalog, time_zone=time_zone, now=started)
    options = lower.Options(
        dialect=ctx.engine.dialect,
        schema=naming.schema_name(job.tenant),
        use_labels=not job.use_query_labels,
        utc=job.date_time_utc,
    )
    try:
        return translate.translate(
            batch.query, context=context, options=options, dialect=ast.Dialect(batch.batch_type)
        )
    except errors.ZoqlError as exc:
        raise exc.in_query(batch.name) from None


def _publish(
    ctx: ExecutionContext,
    job: jobs_repo.JobRecord,
    batch: jobs_repo.BatchRecord,
    file_id: str,
    written: writer.WrittenFile,
    limits: tenancy.Limits,
) -> None:
    location = ctx.results.publish(job.tenant, file_id, written.path)
    now = ctx.clock.now()
    with ctx.metadata.begin() as conn:
        recorded = jobs_repo.complete_batch(
            conn,
            batch.id,
            file_id=file_id,
            record_count=written.record_count,
            sha256=written.sha256,
            size=written.size,
            at=now,
        )
        if recorded:
            files_repo.record_file(
                conn,
                files_repo.FileRecord(
                    id=file_id,
                    tenant=job.tenant,
                    job_id=job.id,
                    batch_id=batch.id,
                    path=location,
                    size=written.size,
                    sha256=written.sha256,
                    content_type=written.content_type,
                    record_count=written.record_count,
                    created_at=now,
                    expires_at=now + dt.timedelta(seconds=limits.file_retention_s),
                    deleted_at=None,
                ),
            )
    if not recorded:
        # The job was cancelled while this batch ran: its file must not outlive the race.
        ctx.results.delete(location)
        raise _Stop
    observability.ROWS_EXPORTED.inc(written.record_count)


def _time_out(running: RunningJob) -> None:
    running.timed_out = True
    running.interrupt()


def _interrupted(
    ctx: ExecutionContext,
    job: jobs_repo.JobRecord,
    batch: jobs_repo.BatchRecord,
    running: RunningJob,
    exc: base.QueryInterrupted,
) -> None:
    if running.cancel_requested_at is not None:
        observability.CANCEL_LATENCY.observe(time.perf_counter() - running.cancel_requested_at)
        log.info("batch interrupted by cancel", job_id=job.id, tenant=job.tenant)
        return
    if running.timed_out:
        _fail_batch(ctx, job, batch, errors.QueryTimeLimit().describe())
        return
    # Interrupted for another reason (server shutting down): the job is requeued elsewhere.
    log.info("batch interrupted", job_id=job.id, reason=exc.describe())


def _fail_batch(
    ctx: ExecutionContext, job: jobs_repo.JobRecord, batch: jobs_repo.BatchRecord, message: str
) -> None:
    with ctx.metadata.begin() as conn:
        jobs_repo.fail_batch(conn, batch.id, message=message, at=ctx.clock.now())
    _abort_job(ctx, job, message)


def _abort_job(ctx: ExecutionContext, job: jobs_repo.JobRecord, message: str) -> None:
    log.info("job aborted", job_id=job.id, tenant=job.tenant, reason=message)
    _finish(ctx, job, jobs.JobEvent.ABORT, message)


def _finish(
    ctx: ExecutionContext, job: jobs_repo.JobRecord, event: jobs.JobEvent, message: str = ""
) -> None:
    with ctx.metadata.begin() as conn:
        status = jobs_repo.apply_event(conn, job.id, event, at=ctx.clock.now(), message=message)
    if status is not None:
        observability.JOBS.labels("aqua", status.value).inc()
