"""Each tenant's custom fields and its Invoice Settlement switch in the metadata store.

Plain functions over a ``sqlalchemy.Connection``, the caller owning the transaction, with the
rules of :mod:`aquarium.store.tenants_repo` (of which this is the catalogue part): every write
counts a tenants change first, which serialises writers (so a check made after it sees every
earlier write) and tells every server and worker to reload the tenant, and with it the tenant's
catalogue (``services/tenant_catalogs.py``). Whether a new field follows Zuora's rules is
``catalog.views.check_new_field``'s to say, before :func:`insert` stores it.
"""

from __future__ import annotations

import collections
import datetime as dt
import json
from collections.abc import Sequence

import sqlalchemy as sa

from aquarium.domain import tenancy, tenancy_errors
from aquarium.store import tables, tenants_repo

F = tables.tenant_custom_fields
T = tables.tenants


def fields(
    conn: sa.Connection, tenant: str | None = None
) -> dict[str, tuple[tenancy.CustomField, ...]]:
    """Custom fields by tenant (only ``tenant``'s when given), each in order of declaration."""
    statement = sa.select(F).order_by(F.c.tenant, F.c.position)
    if tenant is not None:
        statement = statement.where(F.c.tenant == tenant)
    found: dict[str, list[tenancy.CustomField]] = collections.defaultdict(list)
    for row in conn.execute(statement).mappings():
        found[row["tenant"]].append(tenants_repo.custom_field_of(row))
    return {key: tuple(value) for key, value in found.items()}


def lock(conn: sa.Connection, tenant: str, at: dt.datetime | None = None) -> dt.datetime:
    """Count a change and hold the tenants writers' lock; the tenant's custom fields as they
    are now can then be read and checked. A TenancyError for an unknown tenant."""
    at = tenants_repo.count_change(conn, at)
    tenants_repo.touch(conn, tenant, at)
    return at


def insert(conn: sa.Connection, tenant: str, field: tenancy.CustomField, at: dt.datetime) -> None:
    """Store a new custom field of ``tenant`` (after :func:`lock` and the rules' check)."""
    position = conn.execute(
        sa.select(sa.func.max(F.c.position)).where(F.c.tenant == tenant)
    ).scalar()
    try:
        with conn.begin_nested():
            conn.execute(
                F.insert().values(
                    tenant=tenant,
                    object=field.object,
                    name_key=field.name.lower(),
                    name=field.name,
                    type=field.type.value,
                    label=field.label,
                    picklist=json.dumps(list(field.values)),
                    position=0 if position is None else int(position) + 1,
                    created_at=at,
                )
            )
    except sa.exc.IntegrityError:
        raise tenancy_errors.CustomFieldError(
            f"{field.object} already has a custom field {field.name!r}"
        ) from None


def delete(
    conn: sa.Connection, tenant: str, object_name: str, name: str, at: dt.datetime | None = None
) -> tenancy.CustomField:
    """Remove a custom field of ``tenant`` (object and name in any letter case); the field as it
    was. :class:`tenancy_errors.CustomFieldNotFound` when there is none."""
    lock(conn, tenant, at)
    found = find(fields(conn, tenant).get(tenant, ()), object_name, name)
    if found is None:
        raise tenancy_errors.CustomFieldNotFound(f"{object_name} has no custom field {name!r}")
    conn.execute(
        sa.delete(F).where(
            F.c.tenant == tenant, F.c.object == found.object, F.c.name_key == name.lower()
        )
    )
    return found


def find(
    declared: Sequence[tenancy.CustomField], object_name: str, name: str
) -> tenancy.CustomField | None:
    """The field of ``declared`` on ``object_name`` called ``name`` (any case), or ``None``."""
    return next(
        (
            f
            for f in declared
            if f.object.lower() == object_name.lower() and f.name.lower() == name.lower()
        ),
        None,
    )


def set_invoice_settlement(
    conn: sa.Connection, tenant: str, enabled: bool, *, at: dt.datetime | None = None
) -> None:
    """Switch Zuora's Invoice Settlement of ``tenant`` on or off."""
    tenants_repo.touch(
        conn, tenant, tenants_repo.count_change(conn, at), invoice_settlement=enabled
    )
