"""Reporting API report labels (folders) in the metadata store.

Plain functions over a ``sqlalchemy.Connection``; the caller owns the transaction. Every read
and write names the tenant, so another tenant's label is simply not found.

Every tenant has two root labels, ``My Reports`` (Private) and ``Shared Reports`` (Shared), made
by :func:`ensure_roots` the first time a tenant's labels are used. Their ids are derived from the
tenant, so two requests racing to make them write the same rows and the loser's insert is a no-op.
Which reports carry a label is ``report_definitions.label_ids`` (reports_repo), not stored here.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from aquarium.store import tables

L = tables.report_labels
MY_REPORTS = "My Reports"
SHARED_REPORTS = "Shared Reports"
PRIVATE = "Private"
SHARED = "Shared"
#: the root labels of every tenant: name and type, in their order
ROOTS = ((MY_REPORTS, PRIVATE), (SHARED_REPORTS, SHARED))
#: ``created_by`` of the root labels: no user made them
SYSTEM_USER = "system"


@dataclass(frozen=True, kw_only=True)
class LabelRecord:
    """One stored label."""

    id: str
    tenant: str
    name: str
    parent_id: str | None
    type: str
    created_by: str
    updated_by: str
    created_at: dt.datetime
    updated_at: dt.datetime
    order: int


def root_id(tenant: str, name: str) -> str:
    """The id of ``tenant``'s root label ``name`` (32 hex characters, stable)."""
    return hashlib.md5(f"{tenant}/report-label/{name}".encode(), usedforsecurity=False).hexdigest()


def _record(row: sa.Row[tuple[object, ...]]) -> LabelRecord:
    return LabelRecord(**dict(row._mapping))


def _values(record: LabelRecord) -> dict[str, object]:
    return {column.name: getattr(record, column.name) for column in L.columns}


def ensure_roots(conn: sa.Connection, tenant: str, at: dt.datetime) -> None:
    """Make ``tenant``'s root labels unless they exist; safe beside a concurrent call."""
    wanted = {
        root_id(tenant, name): (order, name, kind) for order, (name, kind) in enumerate(ROOTS)
    }
    found = conn.execute(sa.select(L.c.id).where(L.c.tenant == tenant, L.c.id.in_(list(wanted))))
    missing = set(wanted) - set(found.scalars())
    if not missing:
        return
    rows = [
        _values(
            LabelRecord(
                id=label_id,
                tenant=tenant,
                name=wanted[label_id][1],
                parent_id=None,
                type=wanted[label_id][2],
                created_by=SYSTEM_USER,
                updated_by=SYSTEM_USER,
                created_at=at,
                updated_at=at,
                order=wanted[label_id][0],
            )
        )
        for label_id in sorted(missing)
    ]
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    conn.execute(dialect.insert(L).on_conflict_do_nothing(index_elements=[L.c.id]), rows)


def insert(conn: sa.Connection, record: LabelRecord) -> None:
    conn.execute(L.insert().values(**_values(record)))


def get(conn: sa.Connection, tenant: str, label_id: str) -> LabelRecord | None:
    row = conn.execute(sa.select(L).where(L.c.id == label_id, L.c.tenant == tenant)).first()
    return None if row is None else _record(row)


def list_for_tenant(conn: sa.Connection, tenant: str) -> list[LabelRecord]:
    """Every label of ``tenant``, by order then name."""
    query = sa.select(L).where(L.c.tenant == tenant).order_by(L.c["order"], L.c.name, L.c.id)
    return [_record(row) for row in conn.execute(query)]


def children(conn: sa.Connection, tenant: str, parent_id: str | None) -> list[LabelRecord]:
    """The labels directly under ``parent_id`` (the roots for ``None``), by order then name."""
    parent = L.c.parent_id.is_(None) if parent_id is None else L.c.parent_id == parent_id
    query = sa.select(L).where(L.c.tenant == tenant, parent).order_by(L.c["order"], L.c.name)
    return [_record(row) for row in conn.execute(query)]


def missing(conn: sa.Connection, tenant: str, label_ids: Iterable[str]) -> set[str]:
    """The ids among ``label_ids`` that are no label of ``tenant`` (empty when all exist)."""
    wanted = set(label_ids)
    if not wanted:
        return set()
    query = sa.select(L.c.id).where(L.c.tenant == tenant, L.c.id.in_(sorted(wanted)))
    return wanted - set(conn.execute(query).scalars())
