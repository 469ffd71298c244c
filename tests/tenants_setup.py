"""Tenants for tests, set up through ``store/tenants_repo.py`` in a data dir's metadata store.

``where`` is a data dir (its SQLite metadata store is opened, migrated and closed again) or a
built ``server.Server``: then the change goes through the server's own metadata engine and its
tenant directory reloads at once, so the very next call sees the change (a test must not wait
for the directory's watcher thread, which runs only once the server is started).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

import sqlalchemy as sa

from aquarium.domain import tenancy
from aquarium.store import database, logins_repo, tenants_repo

if TYPE_CHECKING:
    from aquarium import server

_T = TypeVar("_T")


def change(where: Path | server.Server, action: Callable[[sa.Connection], _T]) -> _T:
    """``action`` in one metadata transaction of ``where``; what it returns."""
    if isinstance(where, Path):
        with database.opened(None, where) as engine, engine.begin() as conn:
            return action(conn)
    with where.metadata.begin() as conn:
        result = action(conn)
    where.tenants.refresh()
    return result


def load(where: Path | server.Server) -> dict[str, tenancy.Tenant]:
    """Every tenant as stored now, by name."""
    return change(where, tenants_repo.all_tenants)


def ensure_demo(where: Path | server.Server) -> tenancy.Tenant:
    return change(where, tenants_repo.ensure_demo)


def add_tenant(where: Path | server.Server, name: str, *, time_zone: str) -> tenancy.Tenant:
    return change(where, lambda conn: tenants_repo.add_tenant(conn, name, time_zone=time_zone))


def add_user(
    where: Path | server.Server, tenant: str, user: str, password: str, *, admin: bool = False
) -> tenancy.User:
    return change(
        where, lambda conn: logins_repo.add_user(conn, tenant, user, password, admin=admin)
    )


def add_client(
    where: Path | server.Server, tenant: str, client_id: str, secret: str
) -> tenancy.OAuthClient:
    return change(where, lambda conn: logins_repo.add_client(conn, tenant, client_id, secret))


def set_limits(where: Path | server.Server, tenant: str, **limits: int) -> tenancy.Limits:
    return change(where, lambda conn: tenants_repo.set_limits(conn, tenant, limits))


def set_partners(where: Path | server.Server, tenant: str, partners: Sequence[str]) -> None:
    change(where, lambda conn: tenants_repo.set_partners(conn, tenant, partners))


def set_file_segmentation(where: Path | server.Server, tenant: str, enabled: bool) -> None:
    change(where, lambda conn: tenants_repo.set_file_segmentation(conn, tenant, enabled))


def set_pgp_key(where: Path | server.Server, tenant: str, armored_key: str | None) -> None:
    change(where, lambda conn: tenants_repo.set_pgp_key(conn, tenant, armored_key))
