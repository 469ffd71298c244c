"""What every kind's handler does the same way: apply an event, publish files, stop.

- :func:`apply` applies one of the run's events in its own transaction, tells listeners and
  counts the status reached;
- :func:`publish` moves a run's finished files to their final names and records them in one
  transaction with the event that makes them visible; a run that was cancelled meanwhile keeps
  none of them (:class:`Stop`);
- :func:`interrupted` says what a stopped statement means, by the run's stop reason.
"""

from __future__ import annotations

import datetime as dt
import enum
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from aquarium import observability
from aquarium.domain import runs
from aquarium.export import writer
from aquarium.runner import context, running
from aquarium.store import files_repo, runs_repo

log = observability.logger(__name__)


class Stop(Exception):
    """The run left the status its work needs under us (cancelled, or ended elsewhere): stop
    without touching it further."""


Failure = Callable[[], None]  #: records that the run failed (e.g. for its time limit)
Also = Callable[[sa.Connection], None]  #: further writes in the transaction of an event


def apply_in(
    conn: sa.Connection,
    run: running.RunningRun,
    event: enum.StrEnum,
    *,
    at: dt.datetime,
    message: str | None = None,
    held_by: str | None = None,
) -> enum.StrEnum | None:
    """Apply ``event`` to the run in the caller's transaction and count the status reached;
    None when the event lost a race (the run had moved on, e.g. cancelled). With ``held_by``,
    only while that worker holds the run."""
    status = runs_repo.apply_event(
        conn, run.kind, run.run_id, event, at=at, message=message, held_by=held_by
    )
    if status is not None:
        observability.JOBS.labels(run.kind.value, status.value).inc()
    return status


def apply(
    ctx: context.ExecutionContext,
    run: running.RunningRun,
    event: enum.StrEnum,
    *,
    message: str | None = None,
    also: Also | None = None,
    held_by: str | None = None,
) -> enum.StrEnum | None:
    """Apply ``event`` in its own transaction (with ``also``'s writes when it applies) and tell
    listeners; the status reached, or None when the event lost a race."""
    with ctx.changing(run.tenant, run.run_id) as conn:
        status = apply_in(
            conn, run, event, at=ctx.now(run.tenant), message=message, held_by=held_by
        )
        if status is not None and also is not None:
            also(conn)
    return status


def advance(
    ctx: context.ExecutionContext,
    run: running.RunningRun,
    event: enum.StrEnum,
    *,
    also: Also | None = None,
) -> None:
    """Move the run on to its next phase, or :class:`Stop`: it was cancelled meanwhile."""
    if apply(ctx, run, event, also=also) is None:
        raise Stop


def end(
    ctx: context.ExecutionContext, run: running.RunningRun, event: enum.StrEnum, message: str
) -> None:
    """End the run with ``event`` and ``message`` (a failure), unless it ended otherwise."""
    status = apply(ctx, run, event, message=message)
    if status is not None:
        log.info("run ended", run_id=run.run_id, tenant=run.tenant, status=status.value,
                 reason=message)  # fmt: skip


@dataclass(frozen=True)
class Written:
    """A finished temporary file of a run and the id it is published under."""

    file_id: str
    file: writer.WrittenFile
    batch_id: str | None = None


def publish(
    ctx: context.ExecutionContext,
    run: running.RunningRun,
    files: Sequence[Written],
    *,
    retention_s: int,
    record: Callable[[sa.Connection, dt.datetime], bool],
) -> None:
    """Publish ``files`` and, in one transaction, ``record`` the run's progress (its event or
    its batch's) and the file rows. ``record`` returns False when the run moved on meanwhile
    (a cancel won the race): then no file outlives it and :class:`Stop` is raised."""
    locations: list[str] = []
    try:
        for written in files:
            locations.append(ctx.results.publish(run.tenant, written.file_id, written.file.path))
        now = ctx.now(run.tenant)
        expires = now + dt.timedelta(seconds=retention_s)
        with ctx.changing(run.tenant, run.run_id) as conn:
            recorded = record(conn, now)
            if recorded:
                for written, location in zip(files, locations, strict=True):
                    files_repo.record_file(conn, _file_row(run, written, location, now, expires))
    except BaseException:
        # Not recorded, so no sweeper would ever find them: remove them now.
        for location in locations:
            ctx.results.delete(location)
        raise
    if not recorded:
        for location in locations:
            ctx.results.delete(location)
        raise Stop


def discard_withdrawn(ctx: context.ExecutionContext, tenant: str, run_id: str) -> None:
    """Delete the bytes of the run's files that have been withdrawn (a requeued attempt's):
    nobody can download them any more, so they need not wait for the retention sweep."""
    now = ctx.now(tenant)
    with ctx.metadata.begin() as conn:
        for file in files_repo.files_of_job(conn, run_id):
            if file.expires_at <= now:
                ctx.results.delete(file.path)
                files_repo.mark_deleted(conn, file.id, now)


def _file_row(
    run: running.RunningRun,
    written: Written,
    location: str,
    now: dt.datetime,
    expires: dt.datetime,
) -> files_repo.FileRecord:
    return files_repo.FileRecord(
        id=written.file_id,
        tenant=run.tenant,
        job_id=run.run_id,
        batch_id=written.batch_id,
        path=location,
        size=written.file.size,
        sha256=written.file.sha256,
        content_type=written.file.content_type,
        record_count=written.file.record_count,
        created_at=now,
        expires_at=expires,
    )


def interrupted(
    run: running.RunningRun, exc: BaseException, *, on_time_limit: Callable[[], None]
) -> None:
    """A statement of the run stopped because the run is being stopped: a cancel (already
    recorded), its time limit (``on_time_limit`` records the failure) or a shutdown (the
    runner requeues it, or another worker owns it now)."""
    reason = run.reason
    if reason is runs.StopReason.CANCEL:
        if run.stopped_at is not None:
            observability.CANCEL_LATENCY.observe(time.perf_counter() - run.stopped_at)
        log.info("run interrupted by cancel", run_id=run.run_id, tenant=run.tenant)
    elif reason is runs.StopReason.TIME_LIMIT:
        on_time_limit()
    else:
        log.info("run interrupted", run_id=run.run_id, tenant=run.tenant, reason=str(exc))
