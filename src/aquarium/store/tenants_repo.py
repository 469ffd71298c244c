"""Tenants, their logins (users, OAuth clients) and their settings in the metadata store.

Plain functions over a ``sqlalchemy.Connection``; the caller owns the transaction
(``with engine.begin() as conn``). Input is validated by :mod:`aquarium.store.tenants_models`
before anything is written (:class:`~aquarium.domain.errors.TenancyError` says what is wrong and
where); reads give ``domain.tenancy`` values. An unknown tenant is ``None`` for a read and a
TenancyError for a change.

Every write first increments the tenants generation (``tables.tenants_generation``, one row) in
the caller's transaction. That row is both the counter servers watch (``services.tenant_directory``
reloads when it moves) and the lock that serialises tenants writers on PostgreSQL: a second
writer waits at that statement until the first has committed, so the checks that follow (is the
tenant there, the next position, who owns a name) see every earlier write. On SQLite every write
transaction holds the database's write lock anyway.

User names and OAuth client ids are primary keys, so the database itself refuses a login name
that any tenant already has; the refusal comes back as a TenancyError naming that tenant.
Passwords and client secrets are stored only as scrypt hashes (``domain.tenancy.hash_secret``,
about 60 ms each), computed before the generation row is locked so that other writers on
PostgreSQL do not wait for them.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from aquarium.domain import errors, tenancy
from aquarium.store import tables
from aquarium.store import tenants_models as models

T = tables.tenants
U = tables.tenant_users
C = tables.tenant_clients
P = tables.tenant_partners
G = tables.tenants_generation
IMPORTS = tables.tenant_imports
F = tables.tenant_custom_fields

GENERATION_ROW = 1  # the id of tenants_generation's one row

DEMO_TENANT = "demo"
DEMO_TIME_ZONE = tenancy.DEFAULT_TIME_ZONE
DEMO_USER = "demo"
DEMO_PASSWORD = "demo"
DEMO_CLIENT_ID = "11111111-2222-3333-4444-555555555555"
DEMO_CLIENT_SECRET = "demo"


# -- reading ---------------------------------------------------------------------------------------


def generation(conn: sa.Connection) -> int:
    """A number that grows with every committed tenants write; 0 before the first."""
    found = conn.execute(sa.select(G.c.generation).where(G.c.id == GENERATION_ROW)).scalar()
    return 0 if found is None else int(found)


def names(conn: sa.Connection) -> list[str]:
    """Every tenant's name, sorted."""
    return list(conn.execute(sa.select(T.c.name).order_by(T.c.name)).scalars())


def get_tenant(conn: sa.Connection, name: str) -> tenancy.Tenant | None:
    """The tenant called ``name`` with its users, clients and settings, or ``None``."""
    return _load(conn, name).get(name)


def time_zone(conn: sa.Connection, name: str) -> str | None:
    """The tenant's time zone, or ``None`` when there is no such tenant."""
    found: str | None = conn.execute(sa.select(T.c.time_zone).where(T.c.name == name)).scalar()
    return found


def all_tenants(conn: sa.Connection) -> dict[str, tenancy.Tenant]:
    """Every tenant by name (sorted), with its users, clients and settings.

    Several statements: for a consistent picture on PostgreSQL read in a ``REPEATABLE READ``
    transaction (SQLite's transactions always are), or read :func:`generation` first and again
    when it has moved.
    """
    return _load(conn, None)


def import_recorded(conn: sa.Connection, sha256: str) -> bool:
    """Whether a legacy tenants file with this SHA-256 was imported (``record_import``)."""
    found = conn.execute(sa.select(IMPORTS.c.sha256).where(IMPORTS.c.sha256 == sha256)).first()
    return found is not None


# -- changing --------------------------------------------------------------------------------------


def count_change(conn: sa.Connection, at: dt.datetime | None = None) -> dt.datetime:
    """Increment the generation (creating its row if need be); on PostgreSQL this waits for any
    other tenants writer to commit first. Every write here starts with it; call it directly to
    hold that lock before a check of your own. Returns the time of the change (``at`` or now)."""
    at = at or dt.datetime.now(dt.UTC)
    dialect: Any = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(G).values(id=GENERATION_ROW, generation=1, changed_at=at)
    conn.execute(
        statement.on_conflict_do_update(
            index_elements=[G.c.id],
            set_={"generation": G.c.generation + 1, "changed_at": at},
        )
    )
    return at


def add_tenant(
    conn: sa.Connection, name: str, *, time_zone: str, at: dt.datetime | None = None
) -> tenancy.Tenant:
    """Create tenant ``name`` with default limits and no logins; a TenancyError if it exists."""
    created = tenancy.Tenant(
        name=models.check(models.TENANT_NAME, name),
        time_zone=models.check(models.TIME_ZONE, time_zone),
    )
    at = count_change(conn, at)
    if _exists(conn, name):
        raise errors.TenancyError(f"tenant {name!r} already exists")
    _insert_tenant(conn, created, at)
    return created


def record_tenant(
    conn: sa.Connection, name: str, *, time_zone: str | None = None, at: dt.datetime | None = None
) -> tenancy.Tenant:
    """Make sure tenant ``name`` exists (``aquarium datagen`` does this for the tenant it fills).

    A new tenant gets ``time_zone`` (default: ``domain.tenancy.DEFAULT_TIME_ZONE``); an existing
    one gets ``time_zone`` when it is given and keeps everything else. Returns the tenant.
    """
    models.check(models.TENANT_NAME, name)
    if time_zone is not None:
        models.check(models.TIME_ZONE, time_zone)
    at = count_change(conn, at)
    if not _exists(conn, name):
        _insert_tenant(conn, tenancy.Tenant(name, time_zone or tenancy.DEFAULT_TIME_ZONE), at)
    elif time_zone is not None:
        touch(conn, name, at, time_zone=time_zone)
    return required_tenant(conn, name)


def set_limits(
    conn: sa.Connection, tenant: str, changes: Mapping[str, int], *, at: dt.datetime | None = None
) -> tenancy.Limits:
    """Change some of ``tenant``'s limits (limit name -> value); returns all its limits now."""
    given = models.check_limits(changes).overrides()
    at = count_change(conn, at)
    stored = conn.execute(sa.select(T.c.limits).where(T.c.name == tenant)).scalar()
    if stored is None:
        raise _unknown(tenant)
    merged = {**_stored_limits(tenant, stored).overrides(), **given}
    touch(conn, tenant, at, limits=json.dumps(merged, sort_keys=True))
    return models.check_limits(merged).applied_to(tenancy.Limits())


def set_partners(
    conn: sa.Connection, tenant: str, partners: Sequence[str], *, at: dt.datetime | None = None
) -> tuple[str, ...]:
    """Set the partner ids ``tenant`` accepts (spaces trimmed, repeats dropped); none = any.

    Returns the ids as stored.
    """
    given: list[str] = models.check(models.PARTNERS, list(partners), root="partners")
    cleaned = tuple(dict.fromkeys(given))
    at = count_change(conn, at)
    touch(conn, tenant, at)
    _insert_partners(conn, tenant, cleaned)
    return cleaned


def set_file_segmentation(
    conn: sa.Connection, tenant: str, enabled: bool, *, at: dt.datetime | None = None
) -> None:
    """Switch the file segmentation feature of ``tenant`` on or off."""
    touch(conn, tenant, count_change(conn, at), file_segmentation=enabled)


def set_pgp_key(
    conn: sa.Connection, tenant: str, armored_key: str | None, *, at: dt.datetime | None = None
) -> None:
    """Set (or with ``None`` remove) the ASCII-armoured PGP public key results are encrypted to."""
    key = None if armored_key is None else models.check(models.PGP_KEY, armored_key)
    touch(conn, tenant, count_change(conn, at), pgp_public_key=key)


def ensure_demo(conn: sa.Connection, *, at: dt.datetime | None = None) -> tenancy.Tenant:
    """Make sure tenant ``demo`` exists with user ``demo``/``demo`` (admin) and the demo client.

    Creates only what is missing (the tenant may already exist, e.g. made by ``aquarium
    datagen``); a demo user or client that exists, in any tenant, is left as it is, never
    duplicated. Writes nothing (and leaves the generation alone) when nothing is missing.
    Returns the demo tenant as stored.
    """
    if not _demo_missing(conn):
        return required_tenant(conn, DEMO_TENANT)
    user = tenancy.User(DEMO_USER, tenancy.hash_secret(DEMO_PASSWORD), admin=True)
    client = tenancy.OAuthClient(
        DEMO_CLIENT_ID, tenancy.hash_secret(DEMO_CLIENT_SECRET), user=DEMO_USER
    )
    at = count_change(conn, at)
    if not _exists(conn, DEMO_TENANT):
        _insert_tenant(conn, tenancy.Tenant(DEMO_TENANT, DEMO_TIME_ZONE), at)
    if login_tenant(conn, U.c.name, DEMO_USER) is None:
        insert_users(conn, DEMO_TENANT, [user], at)
    if login_tenant(conn, C.c.client_id, DEMO_CLIENT_ID) is None:
        if login_tenant(conn, U.c.name, DEMO_USER) != DEMO_TENANT:
            # The demo user is another tenant's: the client acts as the demo tenant's default.
            users = required_tenant(conn, DEMO_TENANT).users
            client = dataclasses.replace(client, user=tenancy.default_client_user(users))
        insert_clients(conn, DEMO_TENANT, [client], at)
    return required_tenant(conn, DEMO_TENANT)


def put_tenant(
    conn: sa.Connection, tenant: tenancy.Tenant, *, at: dt.datetime | None = None
) -> None:
    """Store ``tenant`` whole: create it, or replace every setting and login of the tenant of
    that name (a placeholder row made for the name, say). Its jobs and runs stay its own."""
    tenant = models.check_tenant(tenant)
    at = count_change(conn, at)
    if not _exists(conn, tenant.name):
        _insert_tenant(conn, tenant, at)
        return
    touch(conn, tenant.name, at, **_tenant_values(tenant))
    for table in (U, C):
        conn.execute(sa.delete(table).where(table.c.tenant == tenant.name))
    insert_users(conn, tenant.name, tenant.users, at)
    insert_clients(conn, tenant.name, tenant.clients, at)
    _insert_partners(conn, tenant.name, tenant.partners)


def record_import(
    conn: sa.Connection, *, sha256: str, source: str, tenants: int, at: dt.datetime
) -> None:
    """Remember that the legacy tenants file with this SHA-256 was imported (from ``source``)."""
    conn.execute(
        IMPORTS.insert().values(sha256=sha256, source=source, tenants=tenants, imported_at=at)
    )


# -- internals -------------------------------------------------------------------------------------


def _exists(conn: sa.Connection, name: str) -> bool:
    return conn.execute(sa.select(T.c.name).where(T.c.name == name)).first() is not None


def _unknown(name: str) -> errors.TenancyError:
    return errors.TenancyError(f"unknown tenant {name!r}")


def required_tenant(conn: sa.Connection, name: str) -> tenancy.Tenant:
    found = get_tenant(conn, name)
    if found is None:
        raise _unknown(name)
    return found


def touch(conn: sa.Connection, name: str, at: dt.datetime, **values: object) -> None:
    """Set columns of tenant ``name`` (and its ``updated_at``); TenancyError if it is unknown."""
    result = conn.execute(sa.update(T).where(T.c.name == name).values(**values, updated_at=at))
    if result.rowcount == 0:
        raise _unknown(name)


def _tenant_values(tenant: tenancy.Tenant) -> dict[str, object]:
    # Only the limits that differ from the defaults: the others follow the domain's defaults.
    defaults = dataclasses.asdict(tenancy.Limits())
    limits = dataclasses.asdict(tenant.limits)
    overrides = {key: value for key, value in limits.items() if value != defaults[key]}
    return {
        "time_zone": tenant.time_zone,
        "limits": json.dumps(overrides, sort_keys=True),
        "file_segmentation": tenant.file_segmentation,
        "pgp_public_key": tenant.pgp_public_key,
        "invoice_settlement": tenant.invoice_settlement,
    }


def _insert_tenant(conn: sa.Connection, tenant: tenancy.Tenant, at: dt.datetime) -> None:
    values = _tenant_values(tenant)
    conn.execute(T.insert().values(name=tenant.name, **values, created_at=at, updated_at=at))
    insert_users(conn, tenant.name, tenant.users, at)
    insert_clients(conn, tenant.name, tenant.clients, at)
    _insert_partners(conn, tenant.name, tenant.partners)


def _next_position(conn: sa.Connection, table: sa.Table, tenant: str) -> int:
    statement = sa.select(sa.func.max(table.c.position)).where(table.c.tenant == tenant)
    found = conn.execute(statement).scalar()
    return 0 if found is None else int(found) + 1


def insert_users(
    conn: sa.Connection, tenant: str, users: Sequence[tenancy.User], at: dt.datetime
) -> None:
    position = _next_position(conn, U, tenant)
    for offset, user in enumerate(users):
        values = {
            "name": user.name,
            "tenant": tenant,
            "password_hash": user.password_hash,
            "admin": user.admin,
            "position": position + offset,
            "created_at": at,
        }
        _insert_login(conn, U.insert().values(values), "user", user.name, U.c.name)


def insert_clients(
    conn: sa.Connection, tenant: str, clients: Sequence[tenancy.OAuthClient], at: dt.datetime
) -> None:
    position = _next_position(conn, C, tenant)
    for offset, client in enumerate(clients):
        values = {
            "client_id": client.client_id,
            "tenant": tenant,
            "secret_hash": client.secret_hash,
            "position": position + offset,
            "created_at": at,
            "owner": client.user,
        }
        statement = C.insert().values(values)
        _insert_login(conn, statement, "client", client.client_id, C.c.client_id)


def _insert_partners(conn: sa.Connection, tenant: str, partners: Sequence[str]) -> None:
    """Replace the tenant's partner ids with ``partners`` (in that order)."""
    conn.execute(sa.delete(P).where(P.c.tenant == tenant))
    if partners:
        rows = [{"tenant": tenant, "partner": p, "position": n} for n, p in enumerate(partners)]
        conn.execute(P.insert(), rows)


def _insert_login(
    conn: sa.Connection, statement: sa.Insert, kind: str, login: str, key_column: sa.Column[str]
) -> None:
    """Insert one user or client; the primary key refuses a name some tenant already has."""
    try:
        # A savepoint: on PostgreSQL a failed statement would otherwise spoil the transaction,
        # and the owner could not be looked up to say who has the name.
        with conn.begin_nested():
            conn.execute(statement)
    except sa.exc.IntegrityError:
        owner = login_tenant(conn, key_column, login)
        suffix = "" if owner is None else f" (tenant {owner!r})"
        raise errors.TenancyError(f"{kind} {login!r} already exists{suffix}") from None


def login_tenant(conn: sa.Connection, key_column: sa.Column[str], login: str) -> str | None:
    """The tenant of the user name or client id ``login`` (``key_column`` says which: ``U.c.name``
    or ``C.c.client_id``), or ``None`` when no tenant has it."""
    tenant_column = key_column.table.c.tenant
    found: str | None = conn.execute(sa.select(tenant_column).where(key_column == login)).scalar()
    return found


def _demo_missing(conn: sa.Connection) -> bool:
    return (
        not _exists(conn, DEMO_TENANT)
        or login_tenant(conn, U.c.name, DEMO_USER) is None
        or login_tenant(conn, C.c.client_id, DEMO_CLIENT_ID) is None
    )


def _stored_limits(tenant: str, stored: str) -> models.LimitsModel:
    """A tenant's stored limits. Names this release does not know (a newer one wrote them) are
    left out rather than refused, so an older node still reads the tenant."""
    try:
        document = json.loads(stored)
    except ValueError:
        document = None
    if not isinstance(document, dict):
        raise errors.TenancyError(f"tenant {tenant!r}: the stored limits are not a JSON object")
    known = {key: value for key, value in document.items() if key in tenancy.LIMIT_KEYS}
    try:
        return models.check_limits(known)
    except errors.TenancyError as exc:
        raise errors.TenancyError(f"tenant {tenant!r}: stored {exc.reason}") from None


def custom_field_of(row: sa.RowMapping) -> tenancy.CustomField:
    """The custom field of a ``tenant_custom_fields`` row."""
    return tenancy.CustomField(
        object=row["object"],
        name=row["name"],
        type=tenancy.CustomFieldType(row["type"]),
        label=row["label"],
        values=tuple(json.loads(row["picklist"])),
    )


def _load(conn: sa.Connection, name: str | None) -> dict[str, tenancy.Tenant]:
    """Tenants with their logins and partners: ``name`` only, or all of them."""

    def rows(table: sa.Table, tenant: sa.Column[str], *order: sa.Column[Any]) -> Any:
        statement = sa.select(table).order_by(tenant, *order)
        if name is not None:
            statement = statement.where(tenant == name)
        return conn.execute(statement).mappings()

    users: dict[str, list[tenancy.User]] = collections.defaultdict(list)
    for row in rows(U, U.c.tenant, U.c.position):
        users[row["tenant"]].append(tenancy.User(row["name"], row["password_hash"], row["admin"]))
    clients: dict[str, list[tenancy.OAuthClient]] = collections.defaultdict(list)
    for row in rows(C, C.c.tenant, C.c.position):
        clients[row["tenant"]].append(
            tenancy.OAuthClient(row["client_id"], row["secret_hash"], row["owner"])
        )
    partners: dict[str, list[str]] = collections.defaultdict(list)
    for row in rows(P, P.c.tenant, P.c.position):
        partners[row["tenant"]].append(row["partner"])
    custom: dict[str, list[tenancy.CustomField]] = collections.defaultdict(list)
    for row in rows(F, F.c.tenant, F.c.position):
        custom[row["tenant"]].append(custom_field_of(row))
    found: dict[str, tenancy.Tenant] = {}
    for row in rows(T, T.c.name):
        key = row["name"]
        found[key] = tenancy.Tenant(
            name=key,
            time_zone=row["time_zone"],
            limits=_stored_limits(key, row["limits"]).applied_to(tenancy.Limits()),
            users=tuple(users[key]),
            clients=tuple(clients[key]),
            partners=tuple(partners[key]),
            file_segmentation=bool(row["file_segmentation"]),
            pgp_public_key=row["pgp_public_key"],
            invoice_settlement=bool(row["invoice_settlement"]),
            custom_fields=tuple(custom[key]),
        )
    return found
