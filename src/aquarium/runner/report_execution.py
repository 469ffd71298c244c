"""Running one claimed report run, phase by phase (reference reporting.md section 6).

:func:`phases` is a generator: it does the run's work and pauses (yields) before each phase,
so the in-process runner simply exhausts it while ``aquarium.testing.SteppingRunner`` advances
it one phase per step and can pin a run in any phase. The phases:

- planning (the run is already QUERYDATA): the report definition becomes a query plan; a
  definition that cannot run makes the run INVALID;
- QUERYDATA: the translated query runs in the engine inside one read-only snapshot and writes
  its typed rows to a temporary Parquet file, then the run moves to PROCESSINGDATA;
- PROCESSINGDATA: the rows become display values, the JSON data file and the UTF-16 exports
  (``export/report_output.py``); files and COMPLETED are recorded in one transaction.

Every status change is a compare-and-set: a DELETE that lands at any moment wins, and whatever
this run wrote after it is removed. A cancel interrupts the engine statement (or the processing
statement) through :class:`execution.RunningJob`, exactly as for AQuA jobs.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import time
from collections.abc import Generator
from pathlib import Path

from aquarium import observability
from aquarium.domain import errors, jobs, tenancy
from aquarium.engines import base, naming
from aquarium.export import report_display, report_output, writer
from aquarium.runner import execution
from aquarium.store import files_repo, report_runs_repo
from aquarium.zoql import check, lower, report_plan

log = observability.logger(__name__)
RS = jobs.ReportRunStatus
EV = jobs.ReportRunEvent
PROCESSING_FAILED = "The report results could not be processed:"
TIME_LIMIT_MESSAGE = "The report run exceeded its maximum processing time of {seconds:,} seconds."


class _Stop(Exception):
    """The run left its phase under us (cancelled): stop without touching it further."""


def run(
    ctx: execution.ExecutionContext,
    record: report_runs_repo.ReportRunRecord,
    running: execution.RunningJob,
) -> None:
    """Every phase of a claimed run, in this thread."""
    for _ in phases(ctx, record, running):
        pass


def phases(
    ctx: execution.ExecutionContext,
    record: report_runs_repo.ReportRunRecord,
    running: execution.RunningJob,
) -> Generator[jobs.ReportRunStatus, None, None]:
    """The run's work; yields the phase it is about to do (QUERYDATA, then PROCESSINGDATA)."""
    tenant = ctx.tenant(record.tenant) or tenancy.Tenant(
        name=record.tenant, time_zone=execution.DEFAULT_ZONE
    )
    query = _planned(ctx, record, tenant)
    if query is None:
        return
    files = execution.Temporaries(ctx, record.tenant)
    limit_s = (
        tenant.limits.summary_time_limit_s
        if record.view_type == report_plan.SUMMARY
        else tenant.limits.query_time_limit_s
    )
    timer = threading.Timer(limit_s, _time_out, args=(running,))
    timer.daemon = True
    try:
        yield RS.QUERYDATA
        timer.start()
        _, raw = files.new()
        rows = _query_data(ctx, record, tenant, query, raw, running, limit_s)
        _advance(ctx, record, EV.PROCESS, values={"row_count": rows})
        yield RS.PROCESSINGDATA
        written = _process_data(ctx, record, tenant, query, raw, files, running, limit_s)
        _publish(ctx, record, tenant, written)
    except _Stop:
        pass
    finally:
        timer.cancel()
        files.discard()


def _planned(
    ctx: execution.ExecutionContext,
    record: report_runs_repo.ReportRunRecord,
    tenant: tenancy.Tenant,
) -> report_plan.ReportQuery | None:
    """The run's query, or None after marking the run INVALID (its reason as the message)."""
    context = check.Context(catalog=ctx.catalog, time_zone=tenant.time_zone, now=ctx.clock.now())
    try:
        definition = json.loads(record.definition)
        overrides = json.loads(record.filters_json) if record.filters_json else None
        return report_plan.build(
            definition,
            ds_name=record.ds_name,
            view_type=record.view_type,
            context=context,
            overrides=overrides,
        )
    except (errors.ReportDefinitionError, ValueError, TypeError, AttributeError) as exc:
        reason = exc.describe() if isinstance(exc, errors.AquariumError) else str(exc)
        log.info("report run invalid", run_id=record.id, tenant=record.tenant, reason=reason)
        _finish(ctx, record, EV.INVALIDATE, message=reason)
        return None


def _query_data(
    ctx: execution.ExecutionContext,
    record: report_runs_repo.ReportRunRecord,
    tenant: tenancy.Tenant,
    query: report_plan.ReportQuery,
    raw: Path,
    running: execution.RunningJob,
    limit_s: int,
) -> int:
    options = lower.Options(
        dialect=ctx.engine.dialect, schema=naming.schema_name(record.tenant), raw=True
    )
    lowered = lower.lower(query.plan, options)
    try:
        if running.stop_requested:
            raise base.QueryInterrupted("the run was stopped before its query began")
        with ctx.engine.snapshot(record.tenant, now=ctx.clock.now) as snapshot:
            running.attach(snapshot)
            try:
                return snapshot.copy_parquet(lowered, raw)
            finally:
                running.attach(None)
    except (base.QueryInterrupted, base.QueryFailed, base.TenantDataMissing) as exc:
        _stopped(ctx, record, running, exc, limit_s)
        raise _Stop from None


def _process_data(
    ctx: execution.ExecutionContext,
    record: report_runs_repo.ReportRunRecord,
    tenant: tenancy.Tenant,
    query: report_plan.ReportQuery,
    raw: Path,
    files: execution.Temporaries,
    running: execution.RunningJob,
    limit_s: int,
) -> dict[str, tuple[str, writer.WrittenFile]]:
    """The run's result files by role (``data``, ``export``, ``pivoted``): id and file."""
    columns = [
        report_display.ReportColumn(
            key=f"c{index + 1}",
            field_id=spec.field_id,
            header=spec.header,
            type=spec.type,
            role=report_display.ColumnRole(spec.role),
            grouping=report_display.DateGrouping(spec.grouping),
        )
        for index, spec in enumerate(query.columns)
    ]
    data_id, data_path = files.new()
    export_id, export_path = files.new()
    pivoted_id, pivoted_path = files.new() if query.summary else ("", None)
    try:
        if running.stop_requested:
            raise report_output.ProcessingInterrupted("the run was stopped before processing")
        with report_output.ReportProcessor(tenant.time_zone) as processor:
            running.attach(processor)
            try:
                made = processor.process(
                    raw,
                    columns,
                    summary=query.summary,
                    data_path=data_path,
                    export_path=export_path,
                    pivoted_path=pivoted_path,
                )
            finally:
                running.attach(None)
    except report_output.ProcessingInterrupted as exc:
        _stopped(ctx, record, running, exc, limit_s)
        raise _Stop from None
    except Exception as exc:
        # A value the display rules cannot show (report_output raises ValueError) or a DuckDB
        # failure while formatting: the run ends in ERROR with the reason, not a bare 500.
        log.exception("report run processing failed", run_id=record.id, tenant=record.tenant)
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        _finish(ctx, record, EV.FAIL, message=f"{PROCESSING_FAILED} {reason}")
        raise _Stop from None
    if running.timed_out:
        _stopped(ctx, record, running, base.QueryInterrupted("time limit"), limit_s)
        raise _Stop
    written = {"data": (data_id, made.data), "export": (export_id, made.export)}
    if made.pivoted is not None:
        written["pivoted"] = (pivoted_id, made.pivoted)
    return written


def _publish(
    ctx: execution.ExecutionContext,
    record: report_runs_repo.ReportRunRecord,
    tenant: tenancy.Tenant,
    written: dict[str, tuple[str, writer.WrittenFile]],
) -> None:
    """Publish the files and mark the run COMPLETED in one transaction; a run cancelled
    meanwhile keeps neither."""
    locations: list[str] = []
    now = ctx.clock.now()
    expires = now + dt.timedelta(seconds=tenant.limits.file_retention_s)
    try:
        for file_id, made in written.values():
            locations.append(ctx.results.publish(record.tenant, file_id, made.path))
        with ctx.metadata.begin() as conn:
            status = report_runs_repo.apply_event(
                conn,
                record.id,
                EV.COMPLETE,
                at=now,
                values={f"{role}_file_id": file_id for role, (file_id, _) in written.items()},
            )
            if status is not None:
                for (file_id, made), location in zip(written.values(), locations, strict=True):
                    files_repo.record_file(
                        conn, _file_row(record, file_id, made, location, now, expires)
                    )
    except BaseException:
        for location in locations:
            ctx.results.delete(location)
        raise
    ctx.notifier.job_changed(record.tenant, record.id)
    if status is None:
        for location in locations:
            ctx.results.delete(location)
        return
    observability.JOBS.labels("report", RS.COMPLETED.value).inc()


def _file_row(
    record: report_runs_repo.ReportRunRecord,
    file_id: str,
    made: writer.WrittenFile,
    location: str,
    now: dt.datetime,
    expires: dt.datetime,
) -> files_repo.FileRecord:
    return files_repo.FileRecord(
        id=file_id,
        tenant=record.tenant,
        job_id=record.id,
        batch_id=None,
        path=location,
        size=made.size,
        sha256=made.sha256,
        content_type=made.content_type,
        record_count=made.record_count,
        created_at=now,
        expires_at=expires,
    )


def _time_out(running: execution.RunningJob) -> None:
    running.timed_out = True
    running.interrupt()


def _stopped(
    ctx: execution.ExecutionContext,
    record: report_runs_repo.ReportRunRecord,
    running: execution.RunningJob,
    exc: errors.AquariumError,
    limit_s: int,
) -> None:
    """Record why the run's work stopped: a cancel (already recorded), the time limit or an
    engine failure (ERROR), or a shutdown (the run is requeued by the runner)."""
    if running.cancel_requested_at is not None:
        observability.CANCEL_LATENCY.observe(time.perf_counter() - running.cancel_requested_at)
        log.info("report run interrupted by cancel", run_id=record.id, tenant=record.tenant)
        return
    if running.timed_out:
        _finish(ctx, record, EV.FAIL, message=TIME_LIMIT_MESSAGE.format(seconds=limit_s))
        return
    if running.stop_requested:
        log.info("report run interrupted", run_id=record.id, reason=str(exc))
        return
    _finish(ctx, record, EV.FAIL, message=exc.describe())


def _apply(
    ctx: execution.ExecutionContext,
    record: report_runs_repo.ReportRunRecord,
    event: jobs.ReportRunEvent,
    *,
    message: str | None = None,
    values: dict[str, object] | None = None,
) -> jobs.ReportRunStatus | None:
    """Apply ``event`` in its own transaction and tell listeners; None when it lost a race."""
    with ctx.metadata.begin() as conn:
        status = report_runs_repo.apply_event(
            conn, record.id, event, at=ctx.clock.now(), message=message, values=values
        )
    ctx.notifier.job_changed(record.tenant, record.id)
    return status


def _advance(
    ctx: execution.ExecutionContext,
    record: report_runs_repo.ReportRunRecord,
    event: jobs.ReportRunEvent,
    *,
    values: dict[str, object],
) -> None:
    """Move the run on to its next phase, or stop: it was cancelled meanwhile."""
    if _apply(ctx, record, event, values=values) is None:
        raise _Stop


def _finish(
    ctx: execution.ExecutionContext,
    record: report_runs_repo.ReportRunRecord,
    event: jobs.ReportRunEvent,
    *,
    message: str,
) -> None:
    """End the run (FAIL, INVALIDATE) with ``message``, unless it ended otherwise already."""
    status = _apply(ctx, record, event, message=message)
    if status is not None:
        log.info("report run ended", run_id=record.id, status=status.value, reason=message)
        observability.JOBS.labels("report", status.value).inc()
