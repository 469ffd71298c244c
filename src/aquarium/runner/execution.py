"""Running one claimed job: its batches in order, in one read-only snapshot.

Every status change goes through the store's compare-and-set functions, so a cancel that lands
at any moment wins cleanly: a batch that finishes after the cancel is not recorded and its file
is removed; the batches that finished before keep their files.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import sqlalchemy as sa

from aquarium import observability
from aquarium.catalog import model
from aquarium.domain import clock as clock_port
from aquarium.domain import errors, ids, jobs, tenancy
from aquarium.domain import notifier as notifier_port
from aquarium.engines import base, naming
from aquarium.export import writer
from aquarium.storage import base as storage
from aquarium.store import files_repo, jobs_repo
from aquarium.zoql import ast, check, lower, translate

log = observability.logger(__name__)


@dataclass
class RunningJob:
    """What another thread needs to stop a job: its snapshot and why it is being stopped.

    ``interrupt()`` is sticky: besides stopping the statement running now, it stops the job
    before its next statement begins (an engine interrupt that lands between two statements is
    otherwise lost). ``finished`` is set once the job's thread has let go of it.
    """

    job_id: str
    tenant: str
    snapshot: base.Snapshot | None = None
    cancel_requested_at: float | None = None
    timed_out: bool = False
    stop_requested: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    finished: threading.Event = field(default_factory=threading.Event)

    def attach(self, snapshot: base.Snapshot | None) -> None:
        """Set (or with None clear) the snapshot ``interrupt()`` acts on."""
        with self.lock:
            self.snapshot = snapshot

    def interrupt(self) -> None:
        with self.lock:
            self.stop_requested = True
            if self.snapshot is None:
                return
            try:
                self.snapshot.interrupt()
            except Exception:
                # Whoever interrupts (a DELETE, the timer, shutdown) has already done its part;
                # an engine that cannot interrupt now must not turn that into an error.
                log.exception("interrupting the engine failed", job_id=self.job_id)


@dataclass(frozen=True)
class ExecutionContext:
    metadata: sa.Engine
    engine: base.QueryEngine
    results: storage.ResultStore
    catalog: model.Catalog
    clock: clock_port.Clock
    tenant: Callable[[str], tenancy.Tenant | None]
    notifier: notifier_port.Notifier = field(default_factory=notifier_port.NullNotifier)

    @contextmanager
    def changing(self, job: jobs_repo.JobRecord) -> Iterator[sa.Connection]:
        """A write transaction on ``job``; listeners hear of it once it is committed."""
        with self.metadata.begin() as conn:
            yield conn
        self.notifier.job_changed(job.tenant, job.id)


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
            running.attach(snapshot)
            try:
                for batch in job.batches:
                    if batch.status != jobs.BatchStatus.PENDING:
                        continue
                    _run_batch(ctx, job, batch, snapshot, running, time_zone, limits, started)
            finally:
                # The snapshot's connection closes on leaving the block: a late interrupt (a
                # cancel racing the job's end) must not reach a closed connection.
                running.attach(None)
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
    with ctx.changing(job) as conn:
        if not jobs_repo.start_batch(conn, batch.id, at=ctx.clock.now()):
            raise _Stop
    file_id = ids.new_id()
    temporary = ctx.results.temporary_path(job.tenant, file_id)
    timer = threading.Timer(limits.query_time_limit_s, _time_out, args=(running,))
    timer.daemon = True
    began = time.perf_counter()
    try:
        lowered = _lowered(ctx, job, batch, time_zone, started)
        if running.stop_requested:
            raise base.QueryInterrupted("the job was stopped before the statement began")
        timer.start()
        written = writer.write_result(
            snapshot,
            lowered,
            temporary,
            file_format=job.format,
            query_name=batch.name,
            csv=base.CsvOptions(null=job.null_replacement or ""),
        )
        if running.timed_out:
            # The limit passed while the file was being packaged (gzip, zip), where the engine
            # interrupt cannot reach: the batch is over its time all the same.
            raise base.QueryInterrupted("the query time limit passed while packaging")
    except Exception as exc:
        ctx.results.discard(temporary)
        if running.stop_requested or isinstance(exc, base.QueryInterrupted):
            # Whatever an interrupted statement raised, the reason is the interrupt.
            _interrupted(ctx, job, batch, running, exc)
            raise _Stop from None
        if isinstance(exc, errors.ZoqlError | base.QueryFailed):
            _fail_batch(ctx, job, batch, exc.describe())
            raise _Stop from None
        raise
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
    try:
        recorded = _record_completion(ctx, job, batch, file_id, location, written, limits, now)
    except BaseException:
        # Not recorded, so no sweeper would ever find it: remove it now.
        ctx.results.delete(location)
        raise
    if not recorded:
        # The job was cancelled while this batch ran: its file must not outlive the race.
        ctx.results.delete(location)
        raise _Stop
    observability.ROWS_EXPORTED.inc(written.record_count)


def _record_completion(
    ctx: ExecutionContext,
    job: jobs_repo.JobRecord,
    batch: jobs_repo.BatchRecord,
    file_id: str,
    location: str,
    written: writer.WrittenFile,
    limits: tenancy.Limits,
    now: dt.datetime,
) -> bool:
    """Mark the batch completed and record its file, in one transaction; False when the job
    no longer executes (the batch is then left as the cancel or abort made it)."""
    with ctx.changing(job) as conn:
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
    return recorded


def _time_out(running: RunningJob) -> None:
    running.timed_out = True
    running.interrupt()


def _interrupted(
    ctx: ExecutionContext,
    job: jobs_repo.JobRecord,
    batch: jobs_repo.BatchRecord,
    running: RunningJob,
    exc: Exception,
) -> None:
    if running.cancel_requested_at is not None:
        observability.CANCEL_LATENCY.observe(time.perf_counter() - running.cancel_requested_at)
        log.info("batch interrupted by cancel", job_id=job.id, tenant=job.tenant)
        return
    if running.timed_out:
        _fail_batch(ctx, job, batch, errors.QueryTimeLimit().describe())
        return
    # Interrupted for another reason (server shutting down): the job is requeued elsewhere.
    log.info("batch interrupted", job_id=job.id, reason=str(exc))


def _fail_batch(
    ctx: ExecutionContext, job: jobs_repo.JobRecord, batch: jobs_repo.BatchRecord, message: str
) -> None:
    with ctx.changing(job) as conn:
        jobs_repo.fail_batch(conn, batch.id, message=message, at=ctx.clock.now())
    _abort_job(ctx, job, message)


def _abort_job(ctx: ExecutionContext, job: jobs_repo.JobRecord, message: str) -> None:
    log.info("job aborted", job_id=job.id, tenant=job.tenant, reason=message)
    _finish(ctx, job, jobs.JobEvent.ABORT, message)


def _finish(
    ctx: ExecutionContext, job: jobs_repo.JobRecord, event: jobs.JobEvent, message: str = ""
) -> None:
    with ctx.changing(job) as conn:
        status = jobs_repo.apply_event(conn, job.id, event, at=ctx.clock.now(), message=message)
    if status is not None:
        observability.JOBS.labels("aqua", status.value).inc()
