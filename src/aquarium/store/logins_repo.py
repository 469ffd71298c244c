"""The logins of tenants in the metadata store: users and OAuth clients, added, re-owned, removed.

Plain functions over a ``sqlalchemy.Connection``, the caller owning the transaction, with the
rules of :mod:`aquarium.store.tenants_repo` (of which this is the logins part): input validated
by :mod:`aquarium.store.tenants_models` first, every write counting a tenants change (which
serialises writers and tells servers to reload), a TenancyError saying what is wrong.

Every OAuth client acts as a user of its own tenant (``tenant_clients.owner``; reference
reporting.md 2.2): its bearer tokens carry that user's name and rights. Removing the user leaves
the client acting as nobody (the foreign key sets the owner to null), and its tokens are refused
until :func:`set_client_user` names another.
"""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from aquarium.domain import errors, tenancy
from aquarium.store import tables, tenants_repo
from aquarium.store import tenants_models as models

U = tables.tenant_users
C = tables.tenant_clients


def add_user(
    conn: sa.Connection,
    tenant: str,
    user: str,
    password: str,
    *,
    admin: bool = False,
    at: dt.datetime | None = None,
) -> tenancy.User:
    """Add a login to ``tenant``. User names are unique across all tenants (Basic has no tenant)."""
    models.check(models.USER_NAME, user)
    models.check(models.PASSWORD, password)
    created = tenancy.User(name=user, password_hash=tenancy.hash_secret(password), admin=admin)
    at = tenants_repo.count_change(conn, at)
    tenants_repo.touch(conn, tenant, at)
    tenants_repo.insert_users(conn, tenant, [created], at)
    return created


def add_client(
    conn: sa.Connection,
    tenant: str,
    client_id: str,
    secret: str,
    *,
    user: str | None = None,
    at: dt.datetime | None = None,
) -> tenancy.OAuthClient:
    """Add an OAuth client to ``tenant`` acting as its ``user``; without one, as the tenant's
    first admin (else its first user: ``domain.tenancy.default_client_user``). Client ids are
    unique across all tenants. A TenancyError when the user is no user of the tenant, or the
    tenant has no user to act as. Returns the client with the user it acts as."""
    models.check(models.CLIENT_ID, client_id)
    models.check(models.CLIENT_SECRET, secret)
    if user is not None:
        models.check(models.USER_NAME, user)
    secret_hash = tenancy.hash_secret(secret)
    at = tenants_repo.count_change(conn, at)
    tenants_repo.touch(conn, tenant, at)
    owner = _client_user(conn, tenant, user)
    created = tenancy.OAuthClient(client_id=client_id, secret_hash=secret_hash, user=owner)
    tenants_repo.insert_clients(conn, tenant, [created], at)
    return created


def set_client_user(
    conn: sa.Connection, client_id: str, user: str, *, at: dt.datetime | None = None
) -> tenancy.OAuthClient:
    """Make the OAuth client ``client_id`` act as ``user`` (a user of the client's tenant).

    Its tokens act as the new user from the next request on. A TenancyError for an unknown
    client or a user of another tenant (or of none)."""
    models.check(models.USER_NAME, user)
    at = tenants_repo.count_change(conn, at)
    tenant = tenants_repo.login_tenant(conn, C.c.client_id, client_id)
    if tenant is None:
        raise errors.TenancyError(f"unknown client {client_id!r}")
    owner = _client_user(conn, tenant, user)
    conn.execute(sa.update(C).where(C.c.client_id == client_id).values(owner=owner))
    tenants_repo.touch(conn, tenant, at)
    found = tenants_repo.required_tenant(conn, tenant).client(client_id)
    assert found is not None
    return found


def remove_client(conn: sa.Connection, client_id: str, *, at: dt.datetime | None = None) -> str:
    """Remove the OAuth client ``client_id``; its tokens stop working. Returns its tenant; a
    TenancyError for an unknown client."""
    return _remove(conn, C.c.client_id, "client", client_id, at)


def remove_user(conn: sa.Connection, user: str, *, at: dt.datetime | None = None) -> str:
    """Remove the user ``user``. Its password, Job Finder sessions and the tokens of the OAuth
    clients that acted as it stop working; those clients stay, acting as nobody, until
    :func:`set_client_user`. Jobs, runs and reports it made keep its name. Returns its tenant;
    a TenancyError for an unknown user."""
    return _remove(conn, U.c.name, "user", user, at)


# -- internals -------------------------------------------------------------------------------------


def _client_user(conn: sa.Connection, tenant: str, user: str | None) -> str:
    """The user of ``tenant`` a client acts as: ``user``, checked, or the tenant's default."""
    if user is not None:
        if tenants_repo.login_tenant(conn, U.c.name, user) != tenant:
            raise errors.TenancyError(
                f"user {user!r} is no user of tenant {tenant!r}: a client acts as a user of "
                "its own tenant"
            )
        return user
    chosen = tenancy.default_client_user(tenants_repo.required_tenant(conn, tenant).users)
    if chosen is None:
        raise errors.TenancyError(
            f"tenant {tenant!r} has no user for the client to act as: add one first "
            f"(aquarium user add NAME --tenant {tenant} --admin)"
        )
    return chosen


def _remove(
    conn: sa.Connection, key: sa.Column[str], kind: str, login: str, at: dt.datetime | None
) -> str:
    at = tenants_repo.count_change(conn, at)
    tenant = tenants_repo.login_tenant(conn, key, login)
    if tenant is None:
        raise errors.TenancyError(f"unknown {kind} {login!r}")
    conn.execute(sa.delete(key.table).where(key == login))
    tenants_repo.touch(conn, tenant, at)
    return tenant
