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
statement) through :class:`running.RunningRun`, exactly as for AQuA jobs; the whole run may take
the tenant's time limit (summary or query), after which the runner's watchdog stops it.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Generator
from pathlib import Path

import sqlalchemy as sa

from aquarium import observability
from aquarium.domain import errors, faults, jobs, runs, tenancy
from aquarium.engines import naming
from aquarium.export import report_display, report_output
from aquarium.runner import context, injected_faults, lifecycle, running
from aquarium.store import report_runs_repo
from aquarium.zoql import check, lower, report_plan

log = observability.logger(__name__)
KIND = runs.Kind.REPORT
RS = jobs.ReportRunStatus
EV = jobs.ReportRunEvent
PROCESSING_FAILED = "The report results could not be processed:"
TIME_LIMIT_MESSAGE = "The report run exceeded its maximum processing time of {seconds:,} seconds."
Phases = Generator[jobs.ReportRunStatus, None, None]


class Handler:
    """Runs report runs (``runs.Kind.REPORT``); :func:`phases` is their work step by step."""

    kind = KIND

    def load(
        self, conn: sa.Connection, tenant: str, run_id: str
    ) -> report_runs_repo.ReportRunRecord | None:
        return report_runs_repo.get(conn, tenant, run_id)

    def run(self, ctx: context.ExecutionContext, record: object, run: running.RunningRun) -> None:
        assert isinstance(record, report_runs_repo.ReportRunRecord)
        for _ in phases(ctx, record, run):
            pass


def phases(
    ctx: context.ExecutionContext,
    record: report_runs_repo.ReportRunRecord,
    run: running.RunningRun,
) -> Phases:
    """The run's work; yields the phase it is about to do (QUERYDATA, then PROCESSINGDATA)."""
    tenant = ctx.tenant_or_default(record.tenant)
    query = _planned(ctx, record, tenant, run)
    if query is None:
        return
    files = context.Temporaries(ctx, record.tenant, record.id)
    limit_s = (
        tenant.limits.summary_time_limit_s
        if record.view_type == report_plan.SUMMARY
        else tenant.limits.query_time_limit_s
    )
    failed = lambda: _time_limit(ctx, run, limit_s)  # noqa: E731
    try:
        yield RS.QUERYDATA
        run.limit(limit_s)
        _injected(ctx, record, run, RS.QUERYDATA)
        _, raw = files.new()
        rows = _query_data(ctx, record, query, raw, run, failed)
        lifecycle.advance(
            ctx, run, EV.PROCESS,
            also=lambda conn: report_runs_repo.record_results(conn, run.run_id, row_count=rows),
        )  # fmt: skip
        yield RS.PROCESSINGDATA
        _injected(ctx, record, run, RS.PROCESSINGDATA)
        written = _process_data(ctx, tenant, query, raw, files, run, failed)
        _publish(ctx, tenant, written, run)
    except lifecycle.Stop:
        pass
    finally:
        run.limit(None)
        files.discard()


def _injected(
    ctx: context.ExecutionContext,
    record: report_runs_repo.ReportRunRecord,
    run: running.RunningRun,
    phase: jobs.ReportRunStatus,
) -> None:
    """A test's fault for ``phase`` (``--test-control``): a ``fail`` ends the run in ERROR with
    its message; after a latency or hang the phase's own check of ``run.reason`` stops it."""
    step = faults.Step(
        faults.Kind.REPORT, run.run_id, phase.value, texts=(record.report_name, record.ds_name)
    )
    message = injected_faults.before(ctx, run, step)
    if message is not None and run.reason is None:
        lifecycle.end(ctx, run, EV.FAIL, message)
        raise lifecycle.Stop


def _planned(
    ctx: context.ExecutionContext,
    record: report_runs_repo.ReportRunRecord,
    tenant: tenancy.Tenant,
    run: running.RunningRun,
) -> report_plan.ReportQuery | None:
    """The run's query, or None after marking the run INVALID (its reason as the message)."""
    checks = check.Context(
        catalog=ctx.catalog_of(tenant), time_zone=tenant.time_zone, now=ctx.now(record.tenant)
    )
    try:
        definition = json.loads(record.definition)
        overrides = json.loads(record.filters_json) if record.filters_json else None
        return report_plan.build(
            definition,
            ds_name=record.ds_name,
            view_type=record.view_type,
            context=checks,
            overrides=overrides,
        )
    except (errors.ReportDefinitionError, ValueError, TypeError, AttributeError) as exc:
        if isinstance(exc, errors.AquariumError):
            reason = exc.describe()
        else:  # Python's words about a stored definition are no client's business
            log.exception("report definition unreadable", run_id=run.run_id, tenant=run.tenant)
            reason = errors.ReportDefinitionError.message
        lifecycle.end(ctx, run, EV.INVALIDATE, reason)
        return None


def _query_data(
    ctx: context.ExecutionContext,
    record: report_runs_repo.ReportRunRecord,
    query: report_plan.ReportQuery,
    raw: Path,
    run: running.RunningRun,
    on_time_limit: lifecycle.Failure,
) -> int:
    """QUERYDATA: the run's query into the typed Parquet file ``raw``; its row count."""
    options = lower.Options(
        dialect=ctx.engine.dialect, schema=naming.schema_name(record.tenant), raw=True
    )
    lowered = lower.lower(query.plan, options)
    try:
        if run.reason is not None:
            raise errors.QueryInterrupted("the run was stopped before its query began")
        with ctx.engine.snapshot(record.tenant, now=ctx.clock_of(record.tenant).now) as snapshot:
            run.attach(snapshot)
            try:
                return snapshot.copy_parquet(lowered, raw)
            finally:
                run.attach(None)
    except (errors.QueryInterrupted, errors.QueryFailed, errors.TenantDataMissing) as exc:
        _stopped(ctx, run, exc, on_time_limit)
        raise lifecycle.Stop from None


def _columns(query: report_plan.ReportQuery) -> list[report_display.ReportColumn]:
    return [
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


def _process_data(
    ctx: context.ExecutionContext,
    tenant: tenancy.Tenant,
    query: report_plan.ReportQuery,
    raw: Path,
    files: context.Temporaries,
    run: running.RunningRun,
    on_time_limit: lifecycle.Failure,
) -> dict[str, lifecycle.Written]:
    """PROCESSINGDATA: the run's result files by role (``data``, ``export``, ``pivoted``)."""
    data_id, data_path = files.new()
    export_id, export_path = files.new()
    pivoted_id, pivoted_path = files.new() if query.summary else ("", None)
    try:
        if run.reason is not None:
            raise errors.ProcessingInterrupted("the run was stopped before processing")
        with report_output.ReportProcessor(tenant.time_zone) as processor:
            run.attach(processor)
            try:
                made = processor.process(
                    raw,
                    _columns(query),
                    summary=query.summary,
                    data_path=data_path,
                    export_path=export_path,
                    pivoted_path=pivoted_path,
                )
            finally:
                run.attach(None)
    except errors.ProcessingInterrupted as exc:
        _stopped(ctx, run, exc, on_time_limit)
        raise lifecycle.Stop from None
    except Exception as exc:
        # A value the display rules cannot show or a DuckDB failure while formatting: the run
        # ends in ERROR, its words in the log with the run's id, not in the message.
        log.exception("report run processing failed", run_id=run.run_id, tenant=run.tenant)
        lifecycle.end(ctx, run, EV.FAIL, f"{PROCESSING_FAILED} {_processing_reason(exc)}")
        raise lifecycle.Stop from None
    if run.reason is not None:
        # Stopped while processing ended (the time limit, most likely): the run is over.
        _stopped(ctx, run, errors.QueryInterrupted("stopped while processing"), on_time_limit)
        raise lifecycle.Stop
    written = {
        "data": lifecycle.Written(data_id, made.data),
        "export": lifecycle.Written(export_id, made.export),
    }
    if made.pivoted is not None:
        written["pivoted"] = lifecycle.Written(pivoted_id, made.pivoted)
    return written


def _processing_reason(exc: Exception) -> str:
    """What a client reads when processing failed (``PROCESSING_FAILED`` comes first)."""
    if isinstance(exc, errors.EngineOutOfMemory):
        return "the results need more memory than the server gives one run."
    return "an error occurred while the results were formatted; the server's log has the reason."


def _publish(
    ctx: context.ExecutionContext,
    tenant: tenancy.Tenant,
    written: dict[str, lifecycle.Written],
    run: running.RunningRun,
) -> None:
    """Publish the files and mark the run COMPLETED in one transaction; a run cancelled
    meanwhile keeps neither."""
    results = {f"{role}_file_id": file.file_id for role, file in written.items()}

    def record(conn: sa.Connection, now: dt.datetime) -> bool:
        if lifecycle.apply_in(conn, run, EV.COMPLETE, at=now) is None:
            return False
        report_runs_repo.record_results(conn, run.run_id, **results)
        return True

    retention_s = tenant.limits.file_retention_s
    lifecycle.publish(ctx, run, list(written.values()), retention_s=retention_s, record=record)


def _time_limit(ctx: context.ExecutionContext, run: running.RunningRun, limit_s: int) -> None:
    lifecycle.end(ctx, run, EV.FAIL, TIME_LIMIT_MESSAGE.format(seconds=limit_s))


def _stopped(
    ctx: context.ExecutionContext,
    run: running.RunningRun,
    exc: errors.AquariumError,
    on_time_limit: lifecycle.Failure,
) -> None:
    """Record why the run's work stopped: a stop (cancel, time limit, shutdown: see
    ``lifecycle.interrupted``) or an engine failure (ERROR with its reason)."""
    if run.reason is not None:
        lifecycle.interrupted(run, exc, on_time_limit=on_time_limit)
        return
    log.warning(
        "report run failed", run_id=run.run_id, tenant=run.tenant, reason=exc.describe(),
        engine=getattr(exc, "engine_text", None),
    )  # fmt: skip
    lifecycle.end(ctx, run, EV.FAIL, exc.describe())
