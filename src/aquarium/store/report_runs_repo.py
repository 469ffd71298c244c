"""Reporting report runs in the metadata store: a run of kind ``report`` with its definition.

Plain functions over a ``sqlalchemy.Connection``; the caller owns the transaction. A report run
is a row of ``runs`` (what every kind shares, changed only through ``runs_repo``'s
compare-and-set events; its report's name is the run's name) and its particulars in
``report_runs``. Reads name the tenant, so another tenant's run is simply not found.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from aquarium.domain import jobs, runs
from aquarium.store import runs_repo, tables

R = tables.runs
RR = tables.report_runs
RS = jobs.ReportRunStatus
KIND = runs.Kind.REPORT


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
class ReportRunRecord(NewReportRun, runs_repo.Lifecycle):
    """One stored report run: its definition, what happened since, its results.

    ``completed_at``, ``result_rows`` and ``error_message`` are what the Reporting API shows
    (:data:`SHOWN`), computed by the same SQL a run list filters and sorts on.
    """

    status: jobs.ReportRunStatus
    row_count: int | None
    data_file_id: str | None
    export_file_id: str | None
    pivoted_file_id: str | None
    #: when it ended on its own (COMPLETED, ERROR, INVALID); None while in progress and for a
    #: CANCELLED run, which was stopped and never completed
    completed_at: dt.datetime | None
    #: the result's row count once COMPLETED; None before and for runs with no result
    result_rows: int | None
    #: why an ERROR or INVALID run failed; None for every other status
    error_message: str | None


_FIELDS = tuple(f.name for f in dataclasses.fields(ReportRunRecord))
_PARTICULARS = ("report_id", "ds_name", "view_type", "definition", "filters_json")
_RESULTS = ("row_count", "data_file_id", "export_file_id", "pivoted_file_id")
_FAILED = (RS.ERROR.value, RS.INVALID.value)
#: Runs that ended on their own (a cancelled one was stopped: it never completed).
_ENDED = (RS.COMPLETED.value, *_FAILED)


def _when(condition: sa.ColumnElement[bool], value: sa.ColumnElement[Any]) -> sa.Case[Any]:
    return sa.case((condition, value), else_=sa.null())


#: What the Reporting API shows of a run's end, by the status it ended in: the values of the run
#: document and the run list's columns, filters and sorts alike (one definition, so a filter
#: never matches a value the answer hides).
SHOWN = (
    _when(R.c.status.in_(_ENDED), R.c.finished_at).label("completed_at"),
    _when(R.c.status == RS.COMPLETED.value, RR.c.row_count).label("result_rows"),
    _when(R.c.status.in_(_FAILED), R.c.message).label("error_message"),
)
#: A report run as one row, its columns named as the record's fields.
RUNS = (
    sa.select(
        *(R.c[name] for name in runs_repo.FIELDS if name not in {"name", "kind", "session"}),
        R.c.name.label("report_name"),
        *(RR.c[name] for name in (*_PARTICULARS, *_RESULTS)),
        *SHOWN,
    )
    .select_from(sa.join(R, RR, RR.c.run_id == R.c.id))
    .where(R.c.kind == KIND.value)
    .subquery("report_run")
)
V = RUNS.c
#: Columns a list may sort or filter by.
COLUMNS = frozenset(V.keys())
#: Columns holding times (compared as they are shown, to the millisecond).
TIME_COLUMNS = frozenset({"created_at", "updated_at", "completed_at", "started_at", "finished_at"})
#: Operators a list filter may use.
FILTER_OPERATORS = ("=", "!=", ">", ">=", "<", "<=", "contains", "in")


def _record(row: sa.RowMapping) -> ReportRunRecord:
    values = {name: row[name] for name in _FIELDS}
    values["status"] = RS(values["status"])
    return ReportRunRecord(**values)


def _find(conn: sa.Connection, *where: sa.ColumnElement[bool]) -> list[ReportRunRecord]:
    return [_record(row) for row in conn.execute(sa.select(RUNS).where(*where)).mappings()]


def insert(conn: sa.Connection, run: NewReportRun) -> None:
    runs_repo.insert(conn, runs_repo.new_run(run, KIND, name=run.report_name))
    values = dataclasses.asdict(run)
    conn.execute(RR.insert().values(run_id=run.id, **{k: values[k] for k in _PARTICULARS}))


def get(conn: sa.Connection, tenant: str, run_id: str) -> ReportRunRecord | None:
    """The run, or None when it is unknown or another tenant's."""
    found = _find(conn, V.id == run_id, V.tenant == tenant)
    return found[0] if found else None


def runs_by_ids(conn: sa.Connection, tenant: str, run_ids: Sequence[str]) -> list[ReportRunRecord]:
    """The tenant's runs among ``run_ids`` (unknown ids are skipped)."""
    if not run_ids:
        return []
    return _find(conn, V.tenant == tenant, V.id.in_(list(run_ids)))


def record_results(conn: sa.Connection, run_id: str, **results: object) -> None:
    """Set some of the run's results (``row_count``, ``data_file_id``, ``export_file_id``,
    ``pivoted_file_id``), in the transaction of the event that makes them true."""
    unknown = set(results) - set(_RESULTS)
    if unknown:
        raise ValueError(f"not a report run result: {sorted(unknown)}")
    conn.execute(sa.update(RR).where(RR.c.run_id == run_id).values(results))


def latest_completed(
    conn: sa.Connection, tenant: str, report_id: str, user: str, *, since: dt.datetime
) -> ReportRunRecord | None:
    """The user's most recent COMPLETED run of the report started at or after ``since``."""
    query = sa.select(RUNS).where(
        V.tenant == tenant,
        V.report_id == report_id,
        V.created_by == user,
        V.status == RS.COMPLETED.value,
        V.created_at >= since,
    )
    row = conn.execute(query.order_by(V.finished_at.desc(), V.id.desc()).limit(1))
    found = row.mappings().first()
    return None if found is None else _record(found)


@dataclass(frozen=True)
class RunFilter:
    """``column operator value``; ``operator`` is one of :data:`FILTER_OPERATORS`."""

    column: str
    operator: str
    value: object


#: Times are shown to the millisecond (``2018-04-13T02:11:38.464+0000``): a filter compares a
#: stored time as shown, so ``=`` a shown value finds its run whatever the microseconds.
SHOWN_TIME_STEP = dt.timedelta(milliseconds=1)


def _shown_instant(value: object) -> tuple[dt.datetime, dt.datetime]:
    """``[start, end)``: the stored times shown as ``value`` (a datetime) is."""
    assert isinstance(value, dt.datetime)
    start = value.replace(microsecond=value.microsecond // 1000 * 1000)
    return start, start + SHOWN_TIME_STEP


def _time_condition(column: sa.ColumnElement[Any], found: RunFilter) -> sa.ColumnElement[bool]:
    if found.operator == "in":
        assert isinstance(found.value, list | tuple)
        spans = [_shown_instant(value) for value in found.value]
        return sa.or_(*(sa.and_(column >= start, column < end) for start, end in spans))
    start, end = _shown_instant(found.value)
    conditions: dict[str, sa.ColumnElement[bool]] = {
        "=": sa.and_(column >= start, column < end),
        "!=": sa.or_(column < start, column >= end),
        ">": column >= end,
        ">=": column >= start,
        "<": column < start,
        "<=": column < end,
    }
    return conditions[found.operator]


def _condition(found: RunFilter) -> sa.ColumnElement[bool]:
    column = V[found.column]
    value = found.value
    if found.column in TIME_COLUMNS:
        return _time_condition(column, found)
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
    where: list[sa.ColumnElement[bool]] = [V.tenant == tenant]
    if statuses:
        where.append(V.status.in_(sorted({status.value for status in statuses})))
    if created_by is not None:
        where.append(V.created_by == created_by)
    if since is not None:
        where.append(V.created_at >= since)
    where += [_condition(found) for found in filters]
    total = conn.execute(sa.select(sa.func.count()).select_from(RUNS).where(*where)).scalar_one()
    order = [V[column].desc() if desc else V[column].asc() for column, desc in sort]
    page = conn.execute(
        sa.select(RUNS).where(*where).order_by(*order, V.id).offset(offset).limit(limit)
    ).mappings()
    return int(total), [_record(row) for row in page]
