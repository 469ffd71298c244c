"""The AQuA kind's handler: one claimed job's batches in order, in one read-only snapshot.

Every status change goes through the store's compare-and-set functions, so a cancel that lands
at any moment wins cleanly: a batch that finishes after the cancel is not recorded and its file
is removed; the batches that finished before keep their files. Each batch may take the
tenant's query time limit (the runner's watchdog stops it then; Zuora's 90027).
"""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass

import sqlalchemy as sa

from aquarium import observability
from aquarium.domain import errors, faults, jobs, runs, tenancy
from aquarium.engines import base, naming
from aquarium.export import pgp, segments, writer
from aquarium.runner import context, injected_faults, lifecycle, running, sessions
from aquarium.store import batches_repo, jobs_repo
from aquarium.zoql import ast, check, lower, translate

log = observability.logger(__name__)
KIND = runs.Kind.AQUA
EV = jobs.JobEvent
PACKAGING_TIMED_OUT = "the query time limit passed while packaging"


@dataclass(frozen=True)
class _JobRun:
    """What every batch of one job shares."""

    job: jobs_repo.JobRecord
    tenant: tenancy.Tenant
    snapshot: base.Snapshot
    scope: sessions.JobScope
    running: running.RunningRun


class Handler:
    """Runs AQuA jobs (``runs.Kind.AQUA``)."""

    kind = KIND

    def load(self, conn: sa.Connection, tenant: str, run_id: str) -> jobs_repo.JobRecord | None:
        return jobs_repo.get_job(conn, tenant, run_id)

    def run(self, ctx: context.ExecutionContext, record: object, run: running.RunningRun) -> None:
        assert isinstance(record, jobs_repo.JobRecord)
        execute(ctx, record, run)


def execute(
    ctx: context.ExecutionContext, job: jobs_repo.JobRecord, run: running.RunningRun
) -> None:
    """Run every pending batch of ``job`` (already claimed: status executing)."""
    tenant = ctx.tenant_or_default(job.tenant)
    try:
        with ctx.engine.snapshot(job.tenant, now=ctx.clock_of(job.tenant).now) as snapshot:
            run.attach(snapshot)
            try:
                shared = _JobRun(job, tenant, snapshot, _scope(ctx, job, tenant, snapshot), run)
                for number, batch in enumerate(job.batches, start=1):
                    if batch.status == jobs.BatchStatus.PENDING:
                        _run_batch(ctx, batch, number, shared)
            finally:
                # The snapshot's connection closes on leaving the block: a late interrupt (a
                # cancel racing the job's end) must not reach a closed connection.
                run.attach(None)
    except lifecycle.Stop:
        return
    except (errors.TenantDataMissing, errors.QueryFailed) as exc:
        # The snapshot could not be opened: no batch has begun.
        log.warning(
            "job aborted", job_id=run.run_id, tenant=run.tenant, reason=exc.describe(),
            engine=getattr(exc, "engine_text", None),
        )  # fmt: skip
        _abort(ctx, run, exc.describe())
        return
    lifecycle.apply(ctx, run, EV.COMPLETE)


def _scope(
    ctx: context.ExecutionContext,
    job: jobs_repo.JobRecord,
    tenant: tenancy.Tenant,
    snapshot: base.Snapshot,
) -> sessions.JobScope:
    """The job's window (stateful sessions), recorded before any of its batches runs."""
    with ctx.changing(job.tenant, job.id) as conn:
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
                raise lifecycle.Stop
    return scope


def _run_batch(
    ctx: context.ExecutionContext, batch: batches_repo.BatchRecord, number: int, job: _JobRun
) -> None:
    run = job.running
    with ctx.changing(run.tenant, run.run_id) as conn:
        if not batches_repo.start(conn, batch.id, at=ctx.now(run.tenant)):
            raise lifecycle.Stop
    temporaries = context.Temporaries(ctx, run.tenant, run.run_id)
    began = time.perf_counter()
    try:
        lowered = _lowered(ctx, batch, job)
        run.limit(job.tenant.limits.query_time_limit_s)
        fault = injected_faults.before(ctx, run, _step(job, batch, number))
        if fault is not None and run.reason is None:  # a test asked for it: fails as a query
            raise errors.QueryFailed(fault)
        if run.reason is not None:
            raise errors.QueryInterrupted("the job was stopped before the statement began")
        written, segmented = _write(ctx, batch, lowered, job, temporaries)
        if run.reason is runs.StopReason.TIME_LIMIT:
            # The limit passed while the file was being packaged (gzip, zip), where the engine
            # interrupt cannot reach: the batch is over its time all the same.
            raise errors.QueryInterrupted(PACKAGING_TIMED_OUT)
    except Exception as exc:
        temporaries.discard()
        if run.reason is not None or isinstance(exc, errors.QueryInterrupted):
            # Whatever an interrupted statement raised, the reason is the stop.
            lifecycle.interrupted(
                run, exc, on_time_limit=lambda: _fail(ctx, run, batch, errors.QueryTimeLimit())
            )
            raise lifecycle.Stop from None
        if isinstance(exc, errors.ZoqlError | errors.QueryFailed):
            _fail(ctx, run, batch, exc)
            raise lifecycle.Stop from None
        raise
    finally:
        run.limit(None)
    observability.EXPORT_SECONDS.observe(time.perf_counter() - began)
    _publish(ctx, batch, written, segmented, job)


def _step(job: _JobRun, batch: batches_repo.BatchRecord, number: int) -> faults.Step:
    """Batch ``number`` of the job as a fault rule sees it (``--test-control``)."""
    return faults.Step(
        faults.Kind.AQUA, job.running.run_id, faults.BATCH_PHASE, batch=number,
        partner=job.job.partner, project=job.job.project, texts=(batch.query,),
    )  # fmt: skip


def _lowered(
    ctx: context.ExecutionContext, batch: batches_repo.BatchRecord, job: _JobRun
) -> lower.LoweredQuery:
    # Relative dates ('today - 30 days') are evaluated once, at the job's snapshot.
    context_ = check.Context(
        catalog=ctx.catalog_of(job.tenant),
        time_zone=job.tenant.time_zone,
        now=job.snapshot.taken_at,
    )
    scope = job.scope.batches[batch.id]
    options = lower.Options(
        dialect=ctx.engine.dialect,
        schema=naming.schema_name(job.job.tenant),
        use_labels=not job.job.use_query_labels,
        utc=job.job.date_time_utc,
        window=scope.window,
        deleted=scope.deleted,
    )
    try:
        return translate.translate(
            batch.query, context=context_, options=options, dialect=ast.Dialect(batch.batch_type)
        )
    except errors.ZoqlError as exc:
        raise exc.in_query(batch.name) from None


def _write(
    ctx: context.ExecutionContext,
    batch: batches_repo.BatchRecord,
    lowered: lower.LoweredQuery,
    job: _JobRun,
    temporaries: context.Temporaries,
) -> tuple[list[segments.Segment], bool]:
    """Write the batch's result: one file, or segments (``export/segments.py``), packaged and,
    for ``encrypted: pgp``, encrypted to the tenant's key. Returns the files and whether the
    batch is segmented (then even a single file is listed as a segment)."""
    record = job.job
    encrypt_to = None
    if record.encrypted == "pgp":
        encrypt_to = job.tenant.pgp_public_key
        if not encrypt_to:  # removed since the submit: fail before running the query
            raise errors.EncryptionFailed(f"the tenant has no PGP public key; {pgp.SETUP_HINT}")
    csv = base.CsvOptions(null=record.null_replacement or "")
    segmented = segments.applies(
        enabled=job.tenant.file_segmentation,
        stateful=record.stateful,
        full=job.scope.batches[batch.id].full,  # decided as the job started (sessions.py)
        query=batch.query,
        dialect=ast.Dialect(batch.batch_type),
    )
    progress = _progress_reporter(ctx, job.running, batch)
    if segmented:
        _, scratch = temporaries.new()
        written = segments.write_segments(
            job.snapshot, lowered, scratch, temporaries.new, file_format=record.format,
            query_name=batch.name, csv=csv, rows_per_segment=job.tenant.limits.segment_rows,
            encrypt_to=encrypt_to, progress=progress,
            stopped=lambda: job.running.reason is not None,
        )  # fmt: skip
        return written, True
    file_id, temporary = temporaries.new()
    single = writer.write_result(
        job.snapshot, lowered, temporary, file_format=record.format, query_name=batch.name,
        csv=csv, encrypt_to=encrypt_to, progress=progress,
    )  # fmt: skip
    return [segments.Segment(file_id, single)], False


def _progress_reporter(
    ctx: context.ExecutionContext, run: running.RunningRun, batch: batches_repo.BatchRecord
) -> writer.Progress:
    """Records a running batch's rows and bytes so far (the Job Finder shows them)."""

    def report(rows: int, size: int) -> None:
        with ctx.changing(run.tenant, run.run_id) as conn:
            batches_repo.progress(conn, batch.id, rows, size)

    return report


def _publish(
    ctx: context.ExecutionContext,
    batch: batches_repo.BatchRecord,
    files: list[segments.Segment],
    segmented: bool,
    job: _JobRun,
) -> None:
    """Publish the batch's files and mark it completed in one transaction; a job cancelled
    meanwhile keeps neither (its batch stays as the cancel made it)."""
    single = None if segmented else files[0]

    def record(conn: sa.Connection, now: dt.datetime) -> bool:
        return batches_repo.complete(
            conn,
            batch.id,
            file_id=single.file_id if single else None,
            record_count=sum(file.written.record_count for file in files),
            sha256=single.written.sha256 if single else None,
            size=sum(file.written.size for file in files),
            at=now,
            segments=[file.file_id for file in files] if segmented else (),
        )

    written = [lifecycle.Written(f.file_id, f.written, batch_id=batch.id) for f in files]
    lifecycle.publish(
        ctx, job.running, written, retention_s=job.tenant.limits.file_retention_s, record=record
    )
    observability.ROWS_EXPORTED.inc(sum(file.written.record_count for file in files))


def _fail(
    ctx: context.ExecutionContext,
    run: running.RunningRun,
    batch: batches_repo.BatchRecord,
    error: errors.AquariumError,
) -> None:
    """The batch failed: it is aborted with the reason, and so is its job. The engine's own
    words, if any, go to the log with the job's id, never into the message."""
    message = error.describe()
    log.warning(
        "batch aborted", job_id=run.run_id, tenant=run.tenant, batch=batch.name,
        reason=message, engine=getattr(error, "engine_text", None),
    )  # fmt: skip
    with ctx.changing(run.tenant, run.run_id) as conn:
        batches_repo.fail(conn, batch.id, message=message, at=ctx.now(run.tenant))
    _abort(ctx, run, message)


def _abort(ctx: context.ExecutionContext, run: running.RunningRun, message: str) -> None:
    lifecycle.end(ctx, run, EV.ABORT, message)
