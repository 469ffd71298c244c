"""Reporting API report definitions in the metadata store.

Plain functions over a ``sqlalchemy.Connection``; the caller owns the transaction. Every read
and write names the tenant, so another tenant's report is simply not found.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

import sqlalchemy as sa

from aquarium.store import tables

R = tables.report_definitions


@dataclass(frozen=True, kw_only=True)
class ReportRecord:
    """One stored report definition."""

    id: str
    tenant: str
    number: int
    name: str
    description: str
    ds_name: str
    namespace: str
    view_type: str
    definition: str
    label_ids: tuple[str, ...]
    prototype_id: str | None
    version: int
    created_by: str
    updated_by: str
    created_at: dt.datetime
    updated_at: dt.datetime


def _record(row: sa.Row[tuple[object, ...]]) -> ReportRecord:
    values = dict(row._mapping)
    values["label_ids"] = tuple(json.loads(str(values["label_ids"])))
    return ReportRecord(**values)


def _values(record: ReportRecord) -> dict[str, object]:
    values = {column.name: getattr(record, column.name) for column in R.columns}
    values["label_ids"] = json.dumps(list(record.label_ids))
    return values


def next_number(conn: sa.Connection, tenant: str) -> int:
    """The next report number of ``tenant`` (1 for the first)."""
    found = conn.execute(sa.select(sa.func.max(R.c.number)).where(R.c.tenant == tenant)).scalar()
    return int(found or 0) + 1


def insert(conn: sa.Connection, record: ReportRecord) -> None:
    conn.execute(R.insert().values(**_values(record)))


def update(conn: sa.Connection, record: ReportRecord) -> bool:
    """Overwrite the report ``record.id`` of ``record.tenant``; ``False`` when there is none."""
    values = _values(record)
    for key in ("id", "tenant", "number", "created_by", "created_at"):
        values.pop(key)
    result = conn.execute(
        R.update().where(R.c.id == record.id, R.c.tenant == record.tenant).values(**values)
    )
    return result.rowcount == 1


def get(
    conn: sa.Connection, tenant: str, report_id: str, *, lock: bool = False
) -> ReportRecord | None:
    """The report, or ``None``; ``lock`` holds its row until the transaction ends (PostgreSQL,
    for a read-modify-write; SQLite's writers are serialised anyway)."""
    query = sa.select(R).where(R.c.id == report_id, R.c.tenant == tenant)
    row = conn.execute(query.with_for_update() if lock else query).first()
    return None if row is None else _record(row)


def list_for_tenant(conn: sa.Connection, tenant: str) -> list[ReportRecord]:
    """Every report of ``tenant``, by name then id."""
    rows = conn.execute(sa.select(R).where(R.c.tenant == tenant).order_by(R.c.name, R.c.id))
    return [_record(row) for row in rows]


def delete(conn: sa.Connection, tenant: str, report_id: str) -> bool:
    result = conn.execute(R.delete().where(R.c.id == report_id, R.c.tenant == tenant))
    return result.rowcount == 1


def set_owner(conn: sa.Connection, record: ReportRecord) -> bool:
    """Write ``record``'s creator (its owner), labels and ``updated_*`` (a transfer of
    ownership); ``False`` when there is no such report."""
    values = {
        "created_by": record.created_by,
        "updated_by": record.updated_by,
        "updated_at": record.updated_at,
        "label_ids": json.dumps(list(record.label_ids)),
    }
    result = conn.execute(
        R.update().where(R.c.id == record.id, R.c.tenant == record.tenant).values(**values)
    )
    return result.rowcount == 1
