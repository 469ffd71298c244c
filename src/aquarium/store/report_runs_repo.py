"""Reporting report runs in the metadata store.

Plain functions over a ``sqlalchemy.Connection``; the caller owns the transaction. Every status
change is one compare-and-set ``UPDATE`` whose ``WHERE`` names the statuses
``domain.jobs.REPORT_RUN_TRANSITIONS`` allows; zero rows updated means the event lost a race (or
met a terminal state) and nothing changes. Reads name the tenant, so another tenant's run is
simply not found.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from aquarium.domain import jobs
from aquarium.store import tables

R = tables.report_runs
RS = jobs.ReportRunStatus


@dataclass(frozen=True, kw_only=True)
class NewReportRun:
    """What Run a Report knows; the run is stored as ``STARTED``."""

    id: str
    tenant: str
    report_id: str
    report_name: str
    ds_name: str
    view_type: str  #: Detail or Summary
    definition: str  #: the report's definition JSON at the time of the run
    filters_json: str | None  #: the run-time filter override, as JSON
    created_by: str
    created_at: dt.datetime


@dataclass(frozen=True, kw_only=True)
class ReportRunRecord(NewReportRun):
    status: jobs.ReportRunStatus
    updated_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    attempt: int
    worker: str | None
    heartbeat_at: dt.datetime | None
    message: str | None
    row_count: int | None
    data_file_id: str | None
    export_file_id: str | None
    pivoted_file_id: str | None


_FIELDS = tuple(f.name for f in dataclasses.fields(ReportRunRecord))
#: Columns a list may sort or filter by.
COLUMNS = frozenset(R.c.keys())
#: Operators a list filter may use.
FILTER_OPERATORS = ("=", "!=", ">", ">=", "<", "<=", "contains", "in")


def _record(row: sa.RowMapping) -> ReportRunRecord:
    values = {name: row[name] for name in _FIELDS}
    values["status"] = RS(values["status"])
    return ReportRunRecord(**values)


def _values(statuses: frozenset[jobs.ReportRunStatus]) -> list[str]:
    return sorted(status.value for status in statuses)


def insert(conn: sa.Connection, run: NewReportRun) -> None:
    conn.execute(
        R.insert().values(
            **dataclasses.asdict(run), status=RS.STARTED.value, updated_at=run.created_at
        )
    )


def get(conn: sa.Connection, tenant: str, run_id: str) -> ReportRunRecord | None:
    """The run, or None when it is unknown or another tenant's."""
    row = conn.execute(sa.select(R).where(R.c.id == run_id, R.c.tenant == tenant)).mappings()
    found = row.first()
    return None if found is None else _record(found)


def apply_event(
    conn: sa.Connection,
    run_id: str,
    event: jobs.ReportRunEvent,
    *,
    at: dt.datetime,
    message: str | None = None,
    values: dict[str, Any] | None = None,
) -> jobs.ReportRunStatus | None:
    """Apply ``event`` if the run's status allows it; the new status, or None (lost race).

    START stamps ``started_at``, the heartbeat and ``attempt + 1``; REQUEUE forgets the worker;
    a terminal status stamps ``finished_at``. ``values`` are further columns to set with it.
    """
    transition = jobs.report_run_transition(event)
    changes: dict[str, Any] = {"status": transition.to.value, "updated_at": at, **(values or {})}
    if event is jobs.ReportRunEvent.START:
        changes |= {"started_at": at, "heartbeat_at": at, "attempt": R.c.attempt + 1}
    elif event is jobs.ReportRunEvent.REQUEUE:
        changes |= {"worker": None, "heartbeat_at": None}
    if transition.to.terminal:
        changes["finished_at"] = at
    if message is not None:
        changes["message"] = message
    update = sa.update(R).where(R.c.id == run_id, R.c.status.in_(_values(transition.allowed_from)))
    if conn.execute(update.values(changes)).rowcount != 1:
        return None
    return transition.to


def claim_next(
    conn: sa.Connection,
    *,
    worker: str,
    at: dt.datetime,
    tenant_limit: Callable[[str], int],
    only: str | None = None,
) -> ReportRunRecord | None:
    """Move the oldest waiting run to QUERYDATA for ``worker`` and return it.

    A run waits (stays STARTED) while its tenant already has ``tenant_limit(tenant)`` runs in
    QUERYDATA or PROCESSINGDATA. ``only`` restricts the claim to one run id. None when nothing
    can be claimed.
    """
    query = sa.select(R.c.id, R.c.tenant).where(R.c.status == RS.STARTED.value)
    if only is not None:
        query = query.where(R.c.id == only)
    candidates = conn.execute(query.order_by(R.c.created_at, R.c.id)).all()
    executing: dict[str, int] | None = None
    for run_id, tenant in candidates:
        if executing is None:
            executing = _executing_per_tenant(conn)
        if executing.get(tenant, 0) >= tenant_limit(tenant):
            continue
        started = apply_event(
            conn, run_id, jobs.ReportRunEvent.START, at=at, values={"worker": worker}
        )
        if started is not None:
            return get(conn, tenant, run_id)
    return None


def _executing_per_tenant(conn: sa.Connection) -> dict[str, int]:
    query = (
        sa.select(R.c.tenant, sa.func.count())
        .where(R.c.status.in_(_values(jobs.REPORT_RUN_EXECUTING)))
        .group_by(R.c.tenant)
    )
    return {tenant: int(count) for tenant, count in conn.execute(query)}


def heartbeat(conn: sa.Connection, run_id: str, worker: str, at: dt.datetime) -> bool:
    """Record that ``worker`` still runs the run; False when it no longer owns it."""
    update = sa.update(R).where(
        R.c.id == run_id,
        R.c.worker == worker,
        R.c.status.in_(_values(jobs.REPORT_RUN_EXECUTING)),
    )
    return conn.execute(update.values(heartbeat_at=at)).rowcount == 1


def stale_runs(conn: sa.Connection, *, older_than: dt.datetime) -> list[ReportRunRecord]:
    """Running runs whose worker has not sent a heartbeat since ``older_than``."""
    query = sa.select(R).where(
        R.c.status.in_(_values(jobs.REPORT_RUN_EXECUTING)),
        sa.or_(R.c.heartbeat_at.is_(None), R.c.heartbeat_at < older_than),
    )
    rows = conn.execute(query.order_by(R.c.created_at, R.c.id)).mappings()
    return [_record(row) for row in rows]


def count_by_status(conn: sa.Connection) -> dict[jobs.ReportRunStatus, int]:
    query = sa.select(R.c.status, sa.func.count()).group_by(R.c.status)
    return {RS(status): int(n) for status, n in conn.execute(query)}


def latest_completed(
    conn: sa.Connection, tenant: str, report_id: str, user: str, *, since: dt.datetime
) -> ReportRunRecord | None:
    """The user's most recent COMPLETED run of the report started at or after ``since``."""
    query = sa.select(R).where(
        R.c.tenant == tenant,
        R.c.report_id == report_id,
        R.c.created_by == user,
        R.c.status == RS.COMPLETED.value,
        R.c.created_at >= since,
    )
    row = conn.execute(query.order_by(R.c.finished_at.desc(), R.c.id.desc()).limit(1))
    found = row.mappings().first()
    return None if found is None else _record(found)


@dataclass(frozen=True)
class RunFilter:
    """``column operator value``; ``operator`` is one of :data:`FILTER_OPERATORS`."""

    column: str
    operator: str
    value: object


def _condition(found: RunFilter) -> sa.ColumnElement[bool]:
    column = R.c[found.column]
    value = found.value
    if found.operator == "contains":
        text = str(value).lower()
        for special in ("!", "%", "_"):
            text = text.replace(special, "!" + special)
        return sa.func.lower(column).like(f"%{text}%", escape="!")
    if found.operator == "in":
        assert isinstance(value, list | tuple)
        return column.in_(list(value))
    operators: dict[str, Callable[[Any, Any], sa.ColumnElement[bool]]] = {
        "=": lambda c, v: c == v,
        "!=": lambda c, v: c != v,
        ">": lambda c, v: c > v,
        ">=": lambda c, v: c >= v,
        "<": lambda c, v: c < v,
        "<=": lambda c, v: c <= v,
    }
    return operators[found.operator](column, value)


def query(
    conn: sa.Connection,
    tenant: str,
    *,
    statuses: Sequence[jobs.ReportRunStatus] = (),
    created_by: str | None = None,
    since: dt.datetime | None = None,
    filters: Sequence[RunFilter] = (),
    sort: Sequence[tuple[str, bool]] = (),
    offset: int = 0,
    limit: int = 250,
) -> tuple[int, list[ReportRunRecord]]:
    """``(total, page)`` of the tenant's runs matching every condition.

    ``statuses`` empty means any; ``created_by`` None means every user's; ``since`` keeps runs
    started at or after it. ``sort`` is ``(column, descending)`` pairs, most significant first;
    ties are broken by id so pages never overlap.
    """
    where: list[sa.ColumnElement[bool]] = [R.c.tenant == tenant]
    if statuses:
        where.append(R.c.status.in_(sorted({status.value for status in statuses})))
    if created_by is not None:
        where.append(R.c.created_by == created_by)
    if since is not None:
        where.append(R.c.created_at >= since)
    where += [_condition(found) for found in filters]
    total = conn.execute(sa.select(sa.func.count()).select_from(R).where(*where)).scalar_one()
    order = [R.c[column].desc() if desc else R.c[column].asc() for column, desc in sort]
    page = conn.execute(
        sa.select(R).where(*where).order_by(*order, R.c.id).offset(offset).limit(limit)
    ).mappings()
    return int(total), [_record(row) for row in page]


def purge(
    conn: sa.Connection,
    *,
    created_before: dt.datetime,
    tenant: str | None = None,
    except_tenants: Sequence[str] = (),
) -> int:
    """Delete finished runs started before ``created_before`` of ``tenant`` (None: of every
    tenant not in ``except_tenants``); how many went. Their result files are the sweeper's
    business (files carry their own expiry)."""
    doomed = sa.and_(
        R.c.status.in_(_values(jobs.REPORT_RUN_TERMINAL)),
        R.c.created_at < created_before,
        R.c.tenant == tenant if tenant is not None else R.c.tenant.not_in(list(except_tenants)),
    )
    return conn.execute(sa.delete(R).where(doomed)).rowcount


def status_of(conn: sa.Connection, run_id: str) -> jobs.ReportRunStatus | None:
    """The run's status (any tenant), or None when there is no such run."""
    found = conn.execute(sa.select(R.c.status).where(R.c.id == run_id)).scalar()
    return None if found is None else RS(found)


def runs_by_ids(conn: sa.Connection, tenant: str, run_ids: Sequence[str]) -> list[ReportRunRecord]:
    """The tenant's runs among ``run_ids`` (unknown ids are skipped)."""
    if not run_ids:
        return []
    rows = conn.execute(sa.select(R).where(R.c.tenant == tenant, R.c.id.in_(list(run_ids))))
    return [_record(row) for row in rows.mappings()]
