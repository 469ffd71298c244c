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
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa

from aquarium import observability
from aquarium.catalog import model
from aquarium.domain import clock as clock_port
from aquarium.domain import errors, ids, jobs, tenancy
from aquarium.domain import notifier as notifier_port
from aquarium.engines import base, naming
from aquarium.export import pgp, segments, writer
from aquarium.runner import sessions
from aquarium.storage import base as storage
from aquarium.store import files_repo, jobs_repo
from aquarium.zoql import ast, check, lower, translate

log = observability.logger(__name__)
DEFAULT_ZONE = "America/Los_Angeles"  # tenants recorded without one (older data dirs)


class Interruptible(Protocol):
    def interrupt(self) -> None:
        """Stop the running statement, from any thread."""
        ...


@dataclass
class RunningJob:
    """What another thread needs to stop a job (or report run): what runs its statements now,
    and why it is being stopped.

    ``interrupt()`` is sticky: besides stopping the statement running now, it stops the job
    before its next statement begins (an engine interrupt that lands between two statements is
    otherwise lost). ``finished`` is set once the job's thread has let go of it.
    """

    job_id: str
    tenant: str
    snapshot: Interruptible | None = None
    cancel_requested_at: float | None = None
    timed_out: bool = False
    stop_requested: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)
    finished: threading.Event = field(default_factory=threading.Event)

    def attach(self, snapshot: Interruptible | None) -> None:
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


@dataclass(frozen=True)
class _JobRun:
    """What every batch of one job shares."""

    tenant: tenancy.Tenant
    started: dt.datetime  #: the snapshot's instant; relative dates are evaluated at it
    scope: sessions.JobScope


def execute(ctx: ExecutionContext, job: jobs_repo.JobRecord, running: RunningJob) -> None:
    """Run every pending batch of ``job`` (already claimed: status executing)."""
    tenant = ctx.tenant(job.tenant) or tenancy.Tenant(name=job.tenant, time_zone=DEFAULT_ZONE)
    try:
        with ctx.engine.snapshot(job.tenant, now=ctx.clock.now) as snapshot:
            running.attach(snapshot)
            try:
                run = _JobRun(tenant, snapshot.taken_at, _scope(ctx, job, tenant, snapshot))
                for batch in job.batches:
                    if batch.status != jobs.BatchStatus.PENDING:
                        continue
                    _run_batch(ctx, job, batch, snapshot, running, run)
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


def _scope(
    ctx: ExecutionContext,
    job: jobs_repo.JobRecord,
    tenant: tenancy.Tenant,
    snapshot: base.Snapshot,
) -> sessions.JobScope:
    """The job's window (stateful sessions), recorded before any of its batches runs."""
    with ctx.changing(job) as conn:
        scope = sessions.scope(conn, job, tenant, snapshot.taken_at)
        if job.stateful and scope.window_end is not None:
            full = {batch_id: b.full for batch_id, b in scope.batches.items()}
            recorded = jobs_repo.record_windows(
                conn,
                job.id,
                window_start=scope.window_start,
                window_end=scope.window_end,
                full=full,
            )
            if not recorded:
                raise _Stop
    return scope


def _run_batch(
    ctx: ExecutionContext,
    job: jobs_repo.JobRecord,
    batch: jobs_repo.BatchRecord,
    snapshot: base.Snapshot,
    running: RunningJob,
    run: _JobRun,
) -> None:
    limits = run.tenant.limits
    with ctx.changing(job) as conn:
        if not jobs_repo.start_batch(conn, batch.id, at=ctx.clock.now()):
            raise _Stop
    temporaries = Temporaries(ctx, job.tenant)
    timer = threading.Timer(limits.query_time_limit_s, _time_out, args=(running,))
    timer.daemon = True
    began = time.perf_counter()
    try:
        lowered = _lowered(ctx, job, batch, run)
        if running.stop_requested:
            raise base.QueryInterrupted("the job was stopped before the statement began")
        timer.start()
        written, segmented = _write(ctx, job, batch, snapshot, lowered, run, temporaries)
        if running.timed_out:
            # The limit passed while the file was being packaged (gzip, zip), where the engine
            # interrupt cannot reach: the batch is over its time all the same.
            raise base.QueryInterrupted("the query time limit passed while packaging")
    except Exception as exc:
        temporaries.discard()
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
    _publish(ctx, job, batch, written, segmented, limits)


def _lowered(
    ctx: ExecutionContext, job: jobs_repo.JobRecord, batch: jobs_repo.BatchRecord, run: _JobRun
) -> lower.LoweredQuery:
    # Relative dates ('today - 30 days') are evaluated once, at the job's snapshot.
    context = check.Context(catalog=ctx.catalog, time_zone=run.tenant.time_zone, now=run.started)
    scope = run.scope.batches[batch.id]
    options = lower.Options(
        dialect=ctx.engine.dialect,
        schema=naming.schema_name(job.tenant),
        use_labels=not job.use_query_labels,
        utc=job.date_time_utc,
        window=scope.window,
        deleted=scope.deleted,
    )
    try:
        return translate.translate(
            batch.query, context=context, options=options, dialect=ast.Dialect(batch.batch_type)
        )
    except errors.ZoqlError as exc:
        raise exc.in_query(batch.name) from None


class Temporaries:
    """The temporary paths a batch (or report run) writes its files to, to discard them all
    if it fails (published files have moved away: discarding them is a no-op)."""

    def __init__(self, ctx: ExecutionContext, tenant: str) -> None:
        self.ctx = ctx
        self.tenant = tenant
        self.paths: list[Path] = []

    def new(self) -> tuple[str, Path]:
        """A new file id and the temporary path to write that file to."""
        file_id = ids.new_id()
        self.paths.append(self.ctx.results.temporary_path(self.tenant, file_id))
        return file_id, self.paths[-1]

    def discard(self) -> None:
        for path in self.paths:
            self.ctx.results.discard(path)


def _write(
    ctx: ExecutionContext,
    job: jobs_repo.JobRecord,
    batch: jobs_repo.BatchRecord,
    snapshot: base.Snapshot,
    lowered: lower.LoweredQuery,
    run: _JobRun,
    temporaries: Temporaries,
) -> tuple[list[segments.Segment], bool]:
    """Write the batch's result: one file, or segments (``export/segments.py``), packaged and,
    for ``encrypted: pgp``, encrypted to the tenant's key. Returns the files and whether the
    batch is segmented (then even a single file is listed as a segment)."""
    encrypt_to = None
    if job.encrypted == "pgp":
        encrypt_to = run.tenant.pgp_public_key
        if not encrypt_to:  # removed since the submit: fail before running the query
            raise pgp.EncryptionFailed(f"the tenant has no PGP public key; {pgp.SETUP_HINT}")
    csv = base.CsvOptions(null=job.null_replacement or "")
    segmented = segments.applies(
        enabled=run.tenant.file_segmentation,
        stateful=job.stateful,
        full=run.scope.batches[batch.id].full,  # decided as the job started (sessions.py)
        query=batch.query,
        dialect=ast.Dialect(batch.batch_type),
    )
    progress = _progress_reporter(ctx, job, batch)
    if segmented:
        _, scratch = temporaries.new()
        written = segments.write_segments(
            snapshot, lowered, scratch, temporaries.new, file_format=job.format,
            query_name=batch.name, csv=csv, rows_per_segment=run.tenant.limits.segment_rows,
            encrypt_to=encrypt_to, progress=progress,
        )  # fmt: skip
        return written, True
    file_id, temporary = temporaries.new()
    single = writer.write_result(
        snapshot, lowered, temporary, file_format=job.format, query_name=batch.name, csv=csv,
        encrypt_to=encrypt_to, progress=progress,
    )  # fmt: skip
    return [segments.Segment(file_id, single)], False


def _progress_reporter(
    ctx: ExecutionContext, job: jobs_repo.JobRecord, batch: jobs_repo.BatchRecord
) -> writer.Progress:
    """Records a running batch's rows and bytes so far (the Job Finder shows them)."""

    def report(rows: int, size: int) -> None:
        with ctx.changing(job) as conn:
            jobs_repo.progress_batch(conn, batch.id, rows, size)

    return report


def _publish(
    ctx: ExecutionContext,
    job: jobs_repo.JobRecord,
    batch: jobs_repo.BatchRecord,
    files: list[segments.Segment],
    segmented: bool,
    limits: tenancy.Limits,
) -> None:
    locations: list[str] = []
    try:
        for file in files:
            locations.append(ctx.results.publish(job.tenant, file.file_id, file.written.path))
        now = ctx.clock.now()
        recorded = _record_completion(ctx, job, batch, files, locations, segmented, limits, now)
    except BaseException:
        # Not recorded, so no sweeper would ever find them: remove them now.
        for location in locations:
            ctx.results.delete(location)
        raise
    if not recorded:
        # The job was cancelled while this batch ran: its files must not outlive the race.
        for location in locations:
            ctx.results.delete(location)
        raise _Stop
    observability.ROWS_EXPORTED.inc(sum(file.written.record_count for file in files))


def _record_completion(
    ctx: ExecutionContext,
    job: jobs_repo.JobRecord,
    batch: jobs_repo.BatchRecord,
    files: list[segments.Segment],
    locations: list[str],
    segmented: bool,
    limits: tenancy.Limits,
    now: dt.datetime,
) -> bool:
    """Mark the batch completed and record its file(s), in one transaction; False when the job
    no longer executes (the batch is then left as the cancel or abort made it)."""
    single = None if segmented else files[0]
    with ctx.changing(job) as conn:
        recorded = jobs_repo.complete_batch(
            conn,
            batch.id,
            file_id=single.file_id if single else None,
            record_count=sum(file.written.record_count for file in files),
            sha256=single.written.sha256 if single else None,
            size=sum(file.written.size for file in files),
            at=now,
            segments=[file.file_id for file in files] if segmented else (),
        )
        if recorded:
            for file, location in zip(files, locations, strict=True):
                files_repo.record_file(
                    conn,
                    files_repo.FileRecord(
                        id=file.file_id,
                        tenant=job.tenant,
                        job_id=job.id,
                        batch_id=batch.id,
                        path=location,
                        size=file.written.size,
                        sha256=file.written.sha256,
                        content_type=file.written.content_type,
                        record_count=file.written.record_count,
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
