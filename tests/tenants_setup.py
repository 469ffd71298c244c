"""Tenants for tests, set up through ``store/tenants_repo.py`` in a data dir's metadata store.

``where`` is one of:

- a data dir: its SQLite metadata store is opened, migrated and closed again;
- a metadata URL (``postgresql://...``, a scale-out deployment's database), opened the same way;
- a running deployment of the acceptance tier (``support.RunningServer``,
  ``deployments.ScaleOut``): its ``metadata_url`` when it has one, else its data dir; its
  processes see the change within their tenant directory's poll (a quarter of a second);
- a built ``server.Server``: then the change goes through the server's own metadata engine and
  its tenant directory reloads at once, so the very next call sees the change (a test must not
  wait for the directory's watcher thread, which runs only once the server is started).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Protocol, TypeVar, Union, runtime_checkable

import sqlalchemy as sa

from aquarium.domain import tenancy
from aquarium.store import database, logins_repo, tenants_repo

if TYPE_CHECKING:
    from aquarium import server

_T = TypeVar("_T")


@runtime_checkable
class Deployment(Protocol):
    """A running deployment of the acceptance tier, as far as its tenants are concerned."""

    @property
    def data_dir(self) -> Path: ...

    @property
    def metadata_url(self) -> str | None: ...


Where = Union[Path, str, Deployment, "server.Server"]


def change(where: Where, action: Callable[[sa.Connection], _T]) -> _T:
    """``action`` in one metadata transaction of ``where``; what it returns."""
    if isinstance(where, Path | str):
        url, data_dir = (None, where) if isinstance(where, Path) else (where, None)
        return _change_stored(url, data_dir, action)
    if isinstance(where, Deployment):
        return _change_stored(where.metadata_url, where.data_dir, action)
    with where.metadata.begin() as conn:
        result = action(conn)
    where.tenants.refresh()
    return result


def _change_stored(
    url: str | None, data_dir: Path | None, action: Callable[[sa.Connection], _T]
) -> _T:
    if data_dir is None:  # a bare URL: no data dir whose legacy tenants file to import
        assert url is not None
        engine = database.connect(url)
        try:
            database.migrate(engine)
            with engine.begin() as conn:
                return action(conn)
        finally:
            engine.dispose()
    with database.opened(url, data_dir) as engine, engine.begin() as conn:
        return action(conn)


def load(where: Where) -> dict[str, tenancy.Tenant]:
    """Every tenant as stored now, by name."""
    return change(where, tenants_repo.all_tenants)


def ensure_demo(where: Where) -> tenancy.Tenant:
    return change(where, tenants_repo.ensure_demo)


def add_tenant(where: Where, name: str, *, time_zone: str) -> tenancy.Tenant:
    return change(where, lambda conn: tenants_repo.add_tenant(conn, name, time_zone=time_zone))


def add_user(
    where: Where, tenant: str, user: str, password: str, *, admin: bool = False
) -> tenancy.User:
    return change(
        where, lambda conn: logins_repo.add_user(conn, tenant, user, password, admin=admin)
    )


def add_client(where: Where, tenant: str, client_id: str, secret: str) -> tenancy.OAuthClient:
    return change(where, lambda conn: logins_repo.add_client(conn, tenant, client_id, secret))


def set_limits(where: Where, tenant: str, **limits: int) -> tenancy.Limits:
    return change(where, lambda conn: tenants_repo.set_limits(conn, tenant, limits))


def set_partners(where: Where, tenant: str, partners: Sequence[str]) -> None:
    change(where, lambda conn: tenants_repo.set_partners(conn, tenant, partners))


def set_file_segmentation(where: Where, tenant: str, enabled: bool) -> None:
    change(where, lambda conn: tenants_repo.set_file_segmentation(conn, tenant, enabled))


def set_pgp_key(where: Where, tenant: str, armored_key: str | None) -> None:
    change(where, lambda conn: tenants_repo.set_pgp_key(conn, tenant, armored_key))
