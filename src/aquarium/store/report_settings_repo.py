"""The Reporting API's tenant settings in the metadata store (``report_settings``).

Plain functions over a ``sqlalchemy.Connection``; the caller owns the transaction. A tenant
that never set them reads as the defaults: no email domains, any recipient.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from aquarium.store import tables

S = tables.report_settings


def email_domains(conn: sa.Connection, tenant: str) -> list[str]:
    """The email domains the tenant's scheduled report results may go to; empty: any."""
    stored = conn.execute(sa.select(S.c.email_domains).where(S.c.tenant == tenant)).scalar()
    found = json.loads(stored) if stored else []
    return [str(domain) for domain in found] if isinstance(found, list) else []


def set_email_domains(
    conn: sa.Connection, tenant: str, domains: Sequence[str], *, by: str, at: dt.datetime
) -> None:
    """Replace the tenant's email domains (``[]`` clears them)."""
    values = {"email_domains": json.dumps(list(domains)), "updated_by": by, "updated_at": at}
    dialect: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(S).values(tenant=tenant, **values)
    conn.execute(statement.on_conflict_do_update(index_elements=[S.c.tenant], set_=values))
