"""Jobs of every kind (AQuA jobs and report runs) in one list, for the Job Finder.

One ``UNION ALL`` over ``jobs`` and ``report_runs`` with their common columns, filtered,
sorted and paged by keyset (the sort value and the id of the last row seen), so pages stay
stable while new jobs arrive. The caller owns the transaction; every query names the tenant.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from aquarium.domain import jobs
from aquarium.store import tables

J = tables.jobs
R = tables.report_runs
AQUA = "aqua"
REPORT = "report"
KINDS = (AQUA, REPORT)
#: What a list may be sorted by: wire name -> column of the union.
SORT_COLUMNS = {"createdAt": "created_at", "name": "name", "status": "status"}
ACTIVE = frozenset({s.value for s in jobs.ACTIVE} | {s.value for s in jobs.REPORT_RUN_IN_PROGRESS})
FINISHED = frozenset({s.value for s in jobs.TERMINAL} | {s.value for s in jobs.REPORT_RUN_TERMINAL})


@dataclass(frozen=True)
class JobRow:
    """One line of the list: what both kinds have."""

    id: str
    kind: str
    name: str
    status: str
    created_by: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    partner: str | None
    project: str | None
    report_id: str | None
    view_type: str | None
    message: str | None


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


def _union(tenant: str, kinds: Sequence[str]) -> sa.Subquery:
    nothing = sa.null()
    parts = []
    if AQUA in kinds:
        parts.append(
            sa.select(
                J.c.id, sa.literal(AQUA).label("kind"),
                sa.func.coalesce(J.c.name, "").label("name"), J.c.status, J.c.created_by,
                J.c.created_at, J.c.started_at, J.c.finished_at, J.c.partner, J.c.project,
                sa.cast(nothing, sa.String).label("report_id"),
                sa.cast(nothing, sa.String).label("view_type"), J.c.message,
            ).where(J.c.tenant == tenant)
        )  # fmt: skip
    if REPORT in kinds:
        parts.append(
            sa.select(
                R.c.id, sa.literal(REPORT).label("kind"), R.c.report_name.label("name"),
                R.c.status, R.c.created_by, R.c.created_at, R.c.started_at, R.c.finished_at,
                sa.cast(nothing, sa.String).label("partner"),
                sa.cast(nothing, sa.String).label("project"), R.c.report_id, R.c.view_type,
                R.c.message,
            ).where(R.c.tenant == tenant)
        )  # fmt: skip
    return sa.union_all(*parts).subquery("found")


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
) -> list[JobRow]:
    """Up to ``limit`` jobs in order, starting after the row ``after`` = (sort value, id)."""
    if not filters.kinds:
        return []
    found = _union(tenant, filters.kinds)
    key = found.c[SORT_COLUMNS[sort]]
    where: list[sa.ColumnElement[bool]] = []
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


def state_of(conn: sa.Connection, tenant: str, job_id: str) -> tuple[str, str] | None:
    """``(kind, status)`` of one of the tenant's jobs; None when there is none."""
    for kind, table in ((AQUA, J), (REPORT, R)):
        found = conn.execute(
            sa.select(table.c.status).where(table.c.id == job_id, table.c.tenant == tenant)
        ).scalar()
        if found is not None:
            return kind, str(found)
    return None


def kind_of(conn: sa.Connection, tenant: str, job_id: str) -> str | None:
    """``aqua`` or ``report`` for one of the tenant's jobs; None when there is none."""
    found = state_of(conn, tenant, job_id)
    return None if found is None else found[0]
