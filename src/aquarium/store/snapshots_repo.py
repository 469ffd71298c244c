"""A tenant's run rows, read out and put back whole (test control's snapshots).

"Runs" here is every metadata row a tenant's work leaves: its runs of every kind with their
particulars (AQuA jobs and batches, report runs, Data Query jobs), the notifications they sent,
the idempotency keys of its submits, and the rows of its result files. Its configuration
(users, OAuth clients, partners, custom fields, report definitions, labels and settings) is
not: a snapshot brings back data, not who may use it or how it is set up.

Rows travel as JSON-ready documents (``{table: [row, ...]}``, datetimes as ISO-8601 text), so a
snapshot can wait in a file under the data directory across restarts.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any

import sqlalchemy as sa

from aquarium.store import runs_repo
from aquarium.store import tables as t

Rows = dict[str, list[dict[str, Any]]]

#: parents first: the order rows are put back in (and taken away in reverse)
TABLES: tuple[sa.Table, ...] = (
    t.runs,
    t.aqua_jobs,
    t.report_runs,
    t.dataquery_jobs,
    t.batches,
    t.notifications,
    t.notification_attempts,
    t.idempotency_keys,
    t.files,
)


def _of_tenant(table: sa.Table, tenant: str) -> sa.ColumnElement[bool]:
    """The rows of ``table`` that belong to ``tenant``: by its own tenant column, or by the
    run they hang from."""
    if "tenant" in table.c:
        return table.c.tenant == tenant
    runs_of_tenant = sa.select(t.runs.c.id).where(t.runs.c.tenant == tenant)
    key = table.c.job_id if table is t.batches else table.c.run_id
    return key.in_(runs_of_tenant.scalar_subquery())


def _encoded(value: Any) -> Any:
    return value.isoformat() if isinstance(value, dt.datetime) else value


def _decoded(table: sa.Table, row: Mapping[str, Any]) -> dict[str, Any]:
    found = {}
    for name, value in row.items():
        if name not in table.c:
            continue  # a column of an older release since dropped: nothing to put it in
        column_type = table.c[name].type
        if isinstance(column_type, t.UtcDateTime) and isinstance(value, str):
            found[name] = dt.datetime.fromisoformat(value)
        else:
            found[name] = value
    return found


def read_rows(conn: sa.Connection, tenant: str) -> Rows:
    """Every run row of ``tenant`` (see the module docstring), table by table."""
    rows: Rows = {}
    for table in TABLES:
        selected = conn.execute(sa.select(table).where(_of_tenant(table, tenant))).mappings()
        rows[table.name] = [{k: _encoded(v) for k, v in row.items()} for row in selected]
    return rows


def replace_rows(conn: sa.Connection, tenant: str, rows: Mapping[str, Any]) -> None:
    """Delete every run row of ``tenant`` and insert ``rows`` (:func:`read_rows`'s document),
    in the caller's transaction."""
    for table in reversed(TABLES):
        conn.execute(table.delete().where(_of_tenant(table, tenant)))
    for table in TABLES:
        kept = [_decoded(table, row) for row in rows.get(table.name, [])]
        if kept:
            conn.execute(table.insert(), kept)


def run_ids(conn: sa.Connection, tenant: str) -> set[str]:
    return set(conn.execute(sa.select(t.runs.c.id).where(t.runs.c.tenant == tenant)).scalars())


def file_locations(conn: sa.Connection, tenant: str) -> dict[str, str]:
    """The result store locations of the tenant's files not deleted yet, by file id."""
    query = sa.select(t.files.c.id, t.files.c.path).where(
        t.files.c.tenant == tenant, t.files.c.deleted_at.is_(None)
    )
    return {str(row.id): str(row.path) for row in conn.execute(query)}


def unfinished_runs(conn: sa.Connection, tenant: str) -> list[tuple[str, str, str]]:
    """The tenant's runs that wait or execute: (kind, id, status), oldest first."""
    query = (
        sa.select(t.runs.c.kind, t.runs.c.id, t.runs.c.status)
        .where(t.runs.c.tenant == tenant, runs_repo.active())
        .order_by(t.runs.c.created_at)
    )
    return [(str(row.kind), str(row.id), str(row.status)) for row in conn.execute(query)]
