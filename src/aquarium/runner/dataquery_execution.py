"""Running one claimed Data Query job (reference dataquery.md sections 3 and 7).

The job is already ``in_progress``. Its SQL is translated for the engine (``dataquery/sql.py``):
a refused statement fails the job with the reason and its position, as Trino words it. A
``SHOW TABLES`` / ``DESCRIBE`` is answered from the tenant's catalogue; any other statement runs
in one read-only snapshot, checked again by the engine's guard, and its result is written by
the engine's own COPY (``dataquery/output.py``). The file is published and the job completed in
one transaction; a result over the tenant's row limit fails the job instead.

A cancel interrupts the engine statement through :class:`running.RunningRun`, exactly as for
the other kinds, and no file outlives it; the job may take the tenant's
``data_query_time_limit_s``, after which the runner's watchdog stops it and it fails.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import duckdb
import sqlalchemy as sa

from aquarium import observability
from aquarium.dataquery import errors as dq_sql_errors
from aquarium.dataquery import output, sql
from aquarium.domain import errors, faults, ids, jobs, runs, tenancy
from aquarium.engines import naming
from aquarium.export import writer
from aquarium.runner import context, injected_faults, lifecycle, running
from aquarium.store import dataquery_repo

log = observability.logger(__name__)
KIND = runs.Kind.DATAQUERY
EV = jobs.DataQueryEvent
#: Zuora's words for a query past its time limit (reference section 9).
TIME_LIMIT_MESSAGE = "Query exceeded the maximum time limit of {seconds:.2f}s"
TOO_MANY_ROWS = (
    "Query result exceeded the maximum of {limit:,} output rows: add filters or a LIMIT, or "
    "split the query"
)


class ErrorCode:
    """The ``errorCode`` of a failed job (Zuora documents none: docs/data-query.md)."""

    SQL = "INVALID_QUERY"  #: the statement was refused before it ran
    ENGINE = "QUERY_FAILED"  #: the engine failed the statement
    MEMORY = "OUT_OF_MEMORY"  #: the statement needed more memory than a query gets
    TIME_LIMIT = "TIME_LIMIT_EXCEEDED"
    TOO_LARGE = "RESULT_TOO_LARGE"
    NO_DATA = "NO_DATA"  #: the tenant has no billing data in this engine


class Handler:
    """Runs Data Query jobs (``runs.Kind.DATAQUERY``)."""

    kind = KIND

    def load(
        self, conn: sa.Connection, tenant: str, run_id: str
    ) -> dataquery_repo.DataQueryRecord | None:
        return dataquery_repo.get(conn, tenant, run_id)

    def run(self, ctx: context.ExecutionContext, record: object, run: running.RunningRun) -> None:
        assert isinstance(record, dataquery_repo.DataQueryRecord)
        execute(ctx, record, run)


def execute(
    ctx: context.ExecutionContext, job: dataquery_repo.DataQueryRecord, run: running.RunningRun
) -> None:
    """The job's work, from translation to its published file (or its failure)."""
    began = time.perf_counter()
    tenant = ctx.tenant_or_default(job.tenant)
    limit_s = tenant.limits.data_query_time_limit_s
    try:
        translated = sql.translate(
            job.query,
            ctx.catalog_of(tenant),
            schema=naming.schema_name(job.tenant),
            dialect="postgres" if ctx.engine.dialect == "postgres" else "duckdb",
            read_deleted=job.read_deleted,
        )
    except dq_sql_errors.DataQuerySqlError as exc:
        _fail(ctx, run, str(exc), ErrorCode.SQL)
        return
    files = context.Temporaries(ctx, job.tenant, job.id)
    spec = output.spec_of(job, tenant.time_zone)
    entry = ids.dashed(job.id)
    run.limit(limit_s)
    try:
        _injected(ctx, job, run, limit_s)
        file_id, path = files.new()
        if translated.kind is sql.Kind.METADATA:
            written = output.write_rows(
                translated.columns, translated.rows, spec, path, entry_name=entry
            )
        else:
            assert translated.sql is not None
            written = _query(ctx, job, run, translated.sql, spec, path, limit_s)
        if written.record_count > tenant.limits.data_query_max_rows:
            limit = tenant.limits.data_query_max_rows
            _fail(ctx, run, TOO_MANY_ROWS.format(limit=limit), ErrorCode.TOO_LARGE)
            return
        _publish(ctx, tenant, run, file_id, written, began)
    except lifecycle.Stop:
        pass
    finally:
        run.limit(None)
        files.discard()


def _injected(
    ctx: context.ExecutionContext,
    job: dataquery_repo.DataQueryRecord,
    run: running.RunningRun,
    limit_s: int,
) -> None:
    """A test's fault for the job (``--test-control``): a ``fail`` fails it with its message;
    a latency or hang that ended in a stop ends the job as that stop does."""
    # The job's id as its API shows it (dashed): the firing log names it so.
    step = faults.Step(
        faults.Kind.DATAQUERY, ids.dashed(run.run_id), jobs.DataQueryStatus.IN_PROGRESS.value,
        texts=(job.query,),
    )  # fmt: skip
    message = injected_faults.before(ctx, run, step)
    if run.reason is not None:
        _stopped(ctx, run, errors.QueryInterrupted("stopped before its query began"), limit_s)
        raise lifecycle.Stop
    if message is not None:
        _fail(ctx, run, message, ErrorCode.ENGINE)  # as if the engine had failed it
        raise lifecycle.Stop


def _query(
    ctx: context.ExecutionContext,
    job: dataquery_repo.DataQueryRecord,
    run: running.RunningRun,
    statement: str,
    spec: output.OutputSpec,
    path: Path,
    limit_s: int,
) -> writer.WrittenFile:
    """The statement's result file, written in one read-only snapshot."""
    try:
        if run.reason is not None:
            raise errors.QueryInterrupted("the job was stopped before its query began")
        with ctx.engine.snapshot(job.tenant, now=ctx.clock_of(job.tenant).now) as snapshot:
            run.attach(snapshot)
            try:
                # The engine's own check of what it is about to run (engines/dataquery_guard.py).
                snapshot.guard_dataquery(statement)
                return output.write_query(
                    snapshot, statement, spec, path, entry_name=ids.dashed(job.id)
                )
            finally:
                run.attach(None)
    except dq_sql_errors.DataQuerySqlError as exc:
        log.warning("data query refused by the engine guard", run_id=run.run_id,
                    tenant=run.tenant, reason=str(exc))  # fmt: skip
        _fail(ctx, run, str(exc), ErrorCode.SQL)
        raise lifecycle.Stop from None
    except (errors.QueryInterrupted, errors.QueryFailed, errors.TenantDataMissing) as exc:
        _stopped(ctx, run, exc, limit_s)
        raise lifecycle.Stop from None


def _publish(
    ctx: context.ExecutionContext,
    tenant: tenancy.Tenant,
    run: running.RunningRun,
    file_id: str,
    written: writer.WrittenFile,
    began: float,
) -> None:
    """Publish the file and complete the job in one transaction; a job cancelled meanwhile keeps
    no file."""
    elapsed_ms = int((time.perf_counter() - began) * 1000)

    def record(conn: sa.Connection, now: dt.datetime) -> bool:
        if lifecycle.apply_in(conn, run, EV.COMPLETE, at=now) is None:
            return False
        dataquery_repo.record_results(
            conn, run.run_id, row_count=written.record_count, file_id=file_id,
            processing_ms=elapsed_ms,
        )  # fmt: skip
        return True

    lifecycle.publish(
        ctx,
        run,
        [lifecycle.Written(file_id, written)],
        retention_s=tenant.limits.file_retention_s,
        record=record,
    )
    observability.ROWS_EXPORTED.inc(written.record_count)
    log.info("data query completed", run_id=run.run_id, tenant=run.tenant,
             rows=written.record_count, ms=elapsed_ms)  # fmt: skip


def _fail(ctx: context.ExecutionContext, run: running.RunningRun, message: str, code: str) -> None:
    """End the job ``failed`` with ``message`` and ``code``, unless it ended otherwise."""
    status = lifecycle.apply(
        ctx, run, EV.FAIL, message=message,
        also=lambda conn: dataquery_repo.record_results(conn, run.run_id, error_code=code),
    )  # fmt: skip
    if status is not None:
        log.info("data query failed", run_id=run.run_id, tenant=run.tenant, reason=message,
                 code=code)  # fmt: skip


def _stopped(
    ctx: context.ExecutionContext, run: running.RunningRun, exc: errors.AquariumError, limit_s: int
) -> None:
    """Record why the statement stopped: a stop (cancel, time limit, shutdown) or a failure."""
    if run.reason is not None:
        lifecycle.interrupted(
            run, exc,
            on_time_limit=lambda: _fail(
                ctx, run, TIME_LIMIT_MESSAGE.format(seconds=limit_s), ErrorCode.TIME_LIMIT
            ),
        )  # fmt: skip
        return
    log.warning("data query failed in the engine", run_id=run.run_id, tenant=run.tenant,
                engine=getattr(exc, "engine_text", None))  # fmt: skip
    if isinstance(exc, errors.TenantDataMissing):
        _fail(ctx, run, "This tenant has no billing data to query yet.", ErrorCode.NO_DATA)
    elif isinstance(exc, errors.EngineOutOfMemory):
        _fail(ctx, run, exc.reason, ErrorCode.MEMORY)
    else:
        _fail(ctx, run, engine_reason(exc), ErrorCode.ENGINE)


#: Plain reasons for the engine failures a valid-looking query can still meet, by the class of
#: the engine's exception; the engine's own words stay in the log.
_DUCKDB_REASONS: tuple[tuple[type[BaseException], str], ...] = (
    (duckdb.ConversionException, "a value could not be converted to the type the query asks "
     "for (check its CASTs and comparisons of text with numbers or dates)"),
    (duckdb.OutOfRangeException, "a value is out of range for its type (an overflow, or a "
     "division by zero)"),
    (duckdb.InvalidInputException, "a function was given a value it does not accept"),
    (duckdb.BinderException, "a function or operator is used with arguments of types it does "
     "not take"),
)  # fmt: skip


def engine_reason(exc: errors.AquariumError) -> str:
    """What a client reads when the engine failed the statement."""
    cause = exc.__cause__
    for kind, reason in _DUCKDB_REASONS:
        if isinstance(cause, kind):
            return f"Query failed: {reason}."
    return f"Query failed: {getattr(exc, 'reason', '') or 'the engine could not run it'}."
