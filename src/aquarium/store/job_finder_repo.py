"""Runs of every kind in one list, for the Job Finder: one query over ``runs``.

Each row carries what the list shows of any kind: the shared columns, the particulars a filter
or a column names (an AQuA job's partner and project, a report run's report and view, a Data
Query job's output format) and the progress counters (an AQuA job's batches, a report run's or
Data Query job's rows), so a page is one statement. A Data Query job has no name: its row shows
the start of its query instead (:data:`QUERY_NAME_CHARS`).

Who sees what: every user sees the tenant's AQuA jobs and report runs; Data Query jobs are
seen as the Data Query API shows them, by an administrator all, by anyone else only their own
(``viewer``).
Pages are keyset-paged (the sort value and the id of the last row seen), so they stay stable
while new runs arrive. The caller owns the transaction; every query names the tenant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from aquarium.domain import jobs, runs
from aquarium.store import runs_repo, tables

R = tables.runs
AQ = tables.aqua_jobs
RR = tables.report_runs
B = tables.batches
DQ = tables.dataquery_jobs
KINDS = tuple(kind.value for kind in runs.Kind)
#: What a list may be sorted by: wire name -> column of a row.
SORT_COLUMNS = {"createdAt": "created_at", "name": "name", "status": "status"}
ACTIVE = frozenset(s.value for m in jobs.MACHINES.values() for s in m.active)
FINISHED = frozenset(s.value for m in jobs.MACHINES.values() for s in m.terminal)
#: How much of a Data Query job's query its row carries as its name (the detail has all of it).
QUERY_NAME_CHARS = 200


@dataclass(frozen=True)
class JobRow:
    """One line of the list: what every kind shows."""

    id: str
    kind: str
    name: str
    status: str
    created_by: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    message: str | None
    partner: str | None  #: AQuA
    project: str | None  #: AQuA
    report_id: str | None  #: report runs
    view_type: str | None  #: report runs
    output_format: str | None  #: Data Query jobs
    row_count: int | None  #: report runs and Data Query jobs: rows of the result
    batches: int  #: AQuA: queries of the job
    batches_done: int  #: AQuA: queries completed
    rows_written: int  #: AQuA: rows written so far, over every query
    bytes_written: int  #: AQuA: bytes written so far


@dataclass(frozen=True)
class Filters:
    kinds: tuple[str, ...] = KINDS
    #: lower-case wire statuses, or ``active`` / ``finished``
    statuses: tuple[str, ...] = ()
    partner: str | None = None
    project: str | None = None
    created_by: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def _batch_total(expression: sa.ColumnElement[Any]) -> sa.ScalarSelect[Any]:
    """``expression`` summed over the run's batches (0 for runs without batches), an integer
    (PostgreSQL sums BIGINTs as NUMERIC)."""
    total = sa.cast(sa.func.coalesce(sa.func.sum(expression), 0), sa.BigInteger)
    return sa.select(total).where(B.c.job_id == R.c.id).scalar_subquery()


def _visible(viewer: str | None) -> sa.ColumnElement[bool]:
    """The runs ``viewer`` may see (None: an administrator, every run of the tenant)."""
    if viewer is None:
        return sa.true()
    return sa.or_(R.c.kind != runs.Kind.DATAQUERY.value, R.c.created_by == viewer)


def _rows(tenant: str, viewer: str | None) -> sa.Subquery:
    done = sa.case((B.c.status == jobs.BatchStatus.COMPLETED.value, 1), else_=0)
    query_start = sa.func.substr(DQ.c.query, 1, QUERY_NAME_CHARS)
    return (
        sa.select(
            R.c.id, R.c.kind, sa.func.coalesce(R.c.name, query_start, "").label("name"),
            R.c.status, R.c.created_by, R.c.created_at, R.c.started_at, R.c.finished_at,
            R.c.message, AQ.c.partner, AQ.c.project, RR.c.report_id, RR.c.view_type,
            DQ.c.output_format,
            sa.func.coalesce(RR.c.row_count, DQ.c.row_count).label("row_count"),
            _batch_total(sa.literal(1)).label("batches"),
            _batch_total(done).label("batches_done"),
            _batch_total(B.c.rows_written).label("rows_written"),
            _batch_total(B.c.bytes_written).label("bytes_written"),
        )
        .select_from(R)
        .outerjoin(AQ, AQ.c.run_id == R.c.id)
        .outerjoin(RR, RR.c.run_id == R.c.id)
        .outerjoin(DQ, DQ.c.run_id == R.c.id)
        .where(R.c.tenant == tenant, _visible(viewer))
        .subquery("found")
    )  # fmt: skip


def _status_filter(column: sa.ColumnElement[str], wanted: Sequence[str]) -> sa.ColumnElement[bool]:
    values: set[str] = set()
    for status in wanted:
        if status == "active":
            values |= {s.lower() for s in ACTIVE}
        elif status == "finished":
            values |= {s.lower() for s in FINISHED}
        else:
            values.add(status)
    return sa.func.lower(column).in_(sorted(values))


def page(
    conn: sa.Connection,
    tenant: str,
    filters: Filters,
    *,
    sort: str = "createdAt",
    descending: bool = True,
    after: tuple[object, str] | None = None,
    limit: int = 50,
    viewer: str | None = None,
) -> list[JobRow]:
    """Up to ``limit`` runs in order, starting after the row ``after`` = (sort value, id), of
    those ``viewer`` may see (None: every run)."""
    if not filters.kinds:
        return []
    found = _rows(tenant, viewer)
    key = found.c[SORT_COLUMNS[sort]]
    where: list[sa.ColumnElement[bool]] = [found.c.kind.in_(list(filters.kinds))]
    if filters.statuses:
        where.append(_status_filter(found.c.status, filters.statuses))
    for column, value in (
        ("partner", filters.partner),
        ("project", filters.project),
        ("created_by", filters.created_by),
    ):
        if value is not None:
            where.append(found.c[column] == value)
    if filters.since is not None:
        where.append(found.c.created_at >= filters.since)
    if filters.until is not None:
        where.append(found.c.created_at < filters.until)
    if after is not None:
        last, last_id = after
        beyond = key < last if descending else key > last
        tie = found.c.id < last_id if descending else found.c.id > last_id
        where.append(sa.or_(beyond, sa.and_(key == last, tie)))
    order = [key.desc(), found.c.id.desc()] if descending else [key.asc(), found.c.id.asc()]
    query = sa.select(found).where(*where).order_by(*order).limit(limit)
    return [JobRow(**row) for row in conn.execute(query).mappings()]


def row(
    conn: sa.Connection, tenant: str, run_id: str, *, viewer: str | None = None
) -> JobRow | None:
    """One of the tenant's runs as a list row; None when there is none or ``viewer`` may not
    see it."""
    found = _rows(tenant, viewer)
    mapping = conn.execute(sa.select(found).where(found.c.id == run_id)).mappings().first()
    return None if mapping is None else JobRow(**mapping)


def state_of(
    conn: sa.Connection, tenant: str, run_id: str, *, viewer: str | None = None
) -> tuple[str, str] | None:
    """``(kind, status)`` of one of the tenant's runs; None when there is none or ``viewer``
    may not see it."""
    found = runs_repo.get(conn, tenant, run_id)
    if found is None or (viewer is not None and not _sees(found, viewer)):
        return None
    return found.kind.value, found.status


def _sees(run: runs_repo.RunRecord, viewer: str) -> bool:
    return run.kind is not runs.Kind.DATAQUERY or run.created_by == viewer
