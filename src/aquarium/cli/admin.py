"""Administration commands: tenants, users and OAuth clients in the metadata database.

Mounted by :mod:`aquarium.cli` as ``aquarium tenant ...``, ``aquarium user ...`` and
``aquarium client ...``. They write to the metadata store of ``--data-dir`` (its SQLite file), or
to the PostgreSQL one at ``--database-url``, else ``AQUARIUM_METADATA_URL``, else
``AQUARIUM_DATABASE_URL`` (the DSN a scale-out deployment shares); a running server sees a
change within a second. Like every Aquarium command, an :class:`AquariumError` becomes one line
on stderr and exit code 1; usage errors exit with 2 (Typer's convention).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, TypeVar

import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table

from aquarium.cli import common
from aquarium.domain import errors, tenancy
from aquarium.store import database, logins_repo, tables, tenants_repo

DEFAULT_DATA_DIR = Path(".aquarium")
DEFAULT_TIME_ZONE = "America/Los_Angeles"
CLIENT_SECRET_BYTES = 32  # of randomness in a generated client secret
METADATA_URL_ENV = "AQUARIUM_METADATA_URL"  # the variable of aquarium.settings' metadata_url
DATABASE_URL_ENV = "AQUARIUM_DATABASE_URL"  # the variable of aquarium.settings' database_url
_T = TypeVar("_T")

DataDir = common.DataDir  # --data-dir, else AQUARIUM_DATA_DIR, else the config file
TenantOption = Annotated[str, typer.Option("--tenant", help="Tenant name (lowercase).")]
TenantArgument = Annotated[str, typer.Argument(help="Tenant name (lowercase).")]
DatabaseUrl = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        # Tried in this order; an empty variable counts as unset.
        envvar=[METADATA_URL_ENV, DATABASE_URL_ENV],
        help="PostgreSQL metadata database (a scale-out deployment's DSN); default: the SQLite "
        "file in the data dir.",
    ),
]

tenant_app = typer.Typer(help="Create and configure tenants.", no_args_is_help=True)
user_app = typer.Typer(help="Logins for HTTP Basic and the apiAccessKeyId headers.")
client_app = typer.Typer(help="OAuth clients (client_credentials).")


_fail = common.fail  # the one error line of every command


def _in_store(
    data_dir: Path, database_url: str | None, change: Callable[[sa.Connection], _T]
) -> _T:
    """``change`` in one transaction of the metadata store; an AquariumError becomes the exit."""
    try:
        engine = database.open_metadata(database_url, data_dir)
    except errors.AquariumError as exc:
        raise _fail(exc) from None
    except (ValueError, sa.exc.OperationalError) as exc:  # a bad URL, a database that is down
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        typer.echo(f"error: cannot open the metadata database: {reason}", err=True)
        raise typer.Exit(code=1) from None
    try:
        with engine.begin() as conn:
            return change(conn)
    except errors.AquariumError as exc:
        raise _fail(exc) from None
    finally:
        engine.dispose()


# -- tenant ----------------------------------------------------------------------------------------


@tenant_app.command("add")
def tenant_add(
    name: TenantArgument,
    time_zone: Annotated[
        str, typer.Option("--time-zone", help="IANA time zone of the tenant's datetimes.")
    ] = DEFAULT_TIME_ZONE,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
) -> None:
    """Create a tenant (no users or clients yet; add them with 'user add' and 'client add')."""
    _in_store(
        data_dir, database_url, lambda c: tenants_repo.add_tenant(c, name, time_zone=time_zone)
    )
    typer.echo(f"tenant {name} created ({time_zone})")


@tenant_app.command("list")
def tenant_list(data_dir: DataDir = DEFAULT_DATA_DIR, database_url: DatabaseUrl = None) -> None:
    """Show every tenant with its time zone, users, OAuth clients, file segmentation, Invoice
    Settlement and how many custom fields it has (``tenant fields`` lists them)."""
    tenants = _in_store(data_dir, database_url, tenants_repo.all_tenants)
    table = Table(title=f"Tenants in {data_dir}")
    columns = ("name", "time zone", "users", "clients", "segmentation", "invoice settlement")
    for column in (*columns, "custom fields"):
        table.add_column(column, overflow="fold")
    for name in sorted(tenants):
        tenant = tenants[name]
        users = ", ".join(f"{u.name} (admin)" if u.admin else u.name for u in tenant.users)
        clients = ", ".join(f"{c.client_id} (as {c.user or 'nobody'})" for c in tenant.clients)
        segmentation = "on" if tenant.file_segmentation else "off"
        settlement = "on" if tenant.invoice_settlement else "off"
        fields = str(len(tenant.custom_fields))
        table.add_row(
            name, tenant.time_zone, users or "-", clients or "-", segmentation, settlement, fields
        )
    Console().print(table)


@tenant_app.command("set-pgp-key")
def tenant_set_pgp_key(
    name: TenantArgument,
    key_file: Annotated[
        Path, typer.Argument(help="ASCII-armoured PGP public key file.", metavar="FILE")
    ],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
) -> None:
    """Set the PGP public key that encrypted results of this tenant are encrypted to."""
    try:
        armored = key_file.read_text("utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _fail(
            errors.TenancyError(f"cannot read {key_file}: {getattr(exc, 'strerror', None) or exc}")
        ) from None
    _in_store(data_dir, database_url, lambda c: tenants_repo.set_pgp_key(c, name, armored))
    typer.echo(f"PGP public key of tenant {name} set from {key_file}")


@tenant_app.command("set-limit")
def tenant_set_limit(
    name: TenantArgument,
    key: Annotated[
        str, typer.Argument(help=f"One of: {', '.join(tenancy.LIMIT_KEYS)}.", metavar="KEY")
    ],
    value: Annotated[int, typer.Argument(help="A whole number (seconds, bytes, rows...).")],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
) -> None:
    """Change one limit of a tenant (e.g. 'set-limit acme file_retention_s 86400')."""
    limit = key.replace("-", "_")
    _in_store(data_dir, database_url, lambda c: tenants_repo.set_limits(c, name, {limit: value}))
    typer.echo(f"{limit} of tenant {name} set to {value}")


@tenant_app.command("set-partners")
def tenant_set_partners(
    name: TenantArgument,
    partners: Annotated[
        list[str] | None, typer.Argument(help="Accepted partner ids; none = accept any.")
    ] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
) -> None:
    """Restrict the partner ids of stateful jobs (others get 90019); no ids lifts the limit."""
    _in_store(data_dir, database_url, lambda c: tenants_repo.set_partners(c, name, partners or ()))
    typer.echo(f"partners of tenant {name}: {', '.join(partners or ()) or 'any'}")


@tenant_app.command("set-segmentation")
def tenant_set_segmentation(
    name: TenantArgument,
    enabled: Annotated[bool, typer.Option("--on/--off", help="Switch file segmentation.")],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
) -> None:
    """Switch the file segmentation feature of a tenant on or off."""
    _in_store(
        data_dir, database_url, lambda c: tenants_repo.set_file_segmentation(c, name, enabled)
    )
    typer.echo(f"file segmentation of tenant {name}: {'on' if enabled else 'off'}")


# -- user ------------------------------------------------------------------------------------------


@user_app.command("add")
def user_add(
    user: Annotated[str, typer.Argument(help="User name, unique across all tenants.")],
    tenant: TenantOption,
    password: Annotated[
        str,
        typer.Option(
            "--password",
            help="Asked for (hidden, twice) when left out.",
            prompt=True,
            hide_input=True,
            confirmation_prompt=True,
        ),
    ],
    admin: Annotated[bool, typer.Option("--admin", help="May see every job (Job Finder).")] = False,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
) -> None:
    """Add a user (HTTP Basic / apiAccessKeyId login) to a tenant."""
    _in_store(
        data_dir,
        database_url,
        lambda c: logins_repo.add_user(c, tenant, user, password, admin=admin),
    )
    typer.echo(f"user {user} added to tenant {tenant}{' (admin)' if admin else ''}")


@user_app.command("remove")
def user_remove(
    user: Annotated[str, typer.Argument(help="The user name.")],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
) -> None:
    """Remove a user: its password, sessions and its OAuth clients' tokens stop working."""

    def remove(conn: sa.Connection) -> tuple[str, list[str]]:
        tenant = logins_repo.remove_user(conn, user)
        found = tenants_repo.get_tenant(conn, tenant)
        clients = [] if found is None else found.clients
        return tenant, [client.client_id for client in clients if client.user is None]

    tenant, orphans = _in_store(data_dir, database_url, remove)
    typer.echo(f"user {user} removed from tenant {tenant}")
    for client_id in orphans:
        typer.echo(
            f"client {client_id} acts as nobody now (its tokens are refused): give it a user "
            f"with 'aquarium client set-user {client_id} --user NAME'",
            err=True,
        )


# -- client ----------------------------------------------------------------------------------------

ClientUser = Annotated[
    str | None,
    typer.Option(
        "--user",
        help="The user of the tenant the client acts as (its rights and name); default: the "
        "tenant's first admin.",
    ),
]


def _acting_as(tenant: tenancy.Tenant | None, client: tenancy.OAuthClient) -> str:
    """``user alice (admin)``, or ``nobody`` for a client whose user is gone."""
    user = tenant.user(client.user) if tenant is not None and client.user else None
    if user is None:
        return "nobody"
    return f"user {user.name}{' (admin)' if user.admin else ''}"


@client_app.command("add")
def client_add(
    tenant: TenantOption,
    client_id: Annotated[
        str | None, typer.Option("--client-id", help="Default: a new random UUID.")
    ] = None,
    secret: Annotated[
        str | None, typer.Option("--secret", help="Default: a new random secret, shown once.")
    ] = None,
    user: ClientUser = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
) -> None:
    """Add an OAuth client to a tenant, acting as one of its users (its rights, its name on
    what the client makes); a generated id and secret are printed this once only."""
    chosen_id = str(uuid.uuid4()) if client_id is None else client_id
    chosen_secret = secrets.token_urlsafe(CLIENT_SECRET_BYTES) if secret is None else secret

    def add(conn: sa.Connection) -> str:
        client = logins_repo.add_client(conn, tenant, chosen_id, chosen_secret, user=user)
        return _acting_as(tenants_repo.get_tenant(conn, tenant), client)

    acting_as = _in_store(data_dir, database_url, add)
    typer.echo(f"client added to tenant {tenant}, acting as {acting_as}")
    typer.echo(f"client_id: {chosen_id}")
    if secret is None:
        # Only the hash is stored: this is the one chance to see it.
        typer.echo(f"client_secret: {chosen_secret}")
        typer.echo("Store the secret now; it cannot be shown again.", err=True)


@client_app.command("list")
def client_list(
    tenant: Annotated[str | None, typer.Option("--tenant", help="Only this tenant's.")] = None,
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
) -> None:
    """Show every OAuth client with its tenant and the user it acts as."""
    tenants = _in_store(data_dir, database_url, tenants_repo.all_tenants)
    if tenant is not None and tenant not in tenants:
        raise _fail(errors.TenancyError(f"unknown tenant {tenant!r}"))
    table = Table(title=f"OAuth clients in {data_dir}")
    for column in ("client id", "tenant", "acts as"):
        table.add_column(column, overflow="fold")
    for name in sorted(tenants) if tenant is None else [tenant]:
        for client in tenants[name].clients:
            table.add_row(client.client_id, name, _acting_as(tenants[name], client))
    Console().print(table)


@client_app.command("set-user")
def client_set_user(
    client_id: Annotated[str, typer.Argument(help="The client id.")],
    user: Annotated[
        str, typer.Option("--user", help="A user of the client's tenant for it to act as.")
    ],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
) -> None:
    """Make an OAuth client act as another user of its tenant (its tokens too, at once)."""

    def change(conn: sa.Connection) -> str:
        client = logins_repo.set_client_user(conn, client_id, user)
        key = tables.tenant_clients.c.client_id
        tenant = tenants_repo.login_tenant(conn, key, client_id)
        return _acting_as(None if tenant is None else tenants_repo.get_tenant(conn, tenant), client)

    typer.echo(f"client {client_id} now acts as {_in_store(data_dir, database_url, change)}")


@client_app.command("remove")
def client_remove(
    client_id: Annotated[str, typer.Argument(help="The client id.")],
    data_dir: DataDir = DEFAULT_DATA_DIR,
    database_url: DatabaseUrl = None,
) -> None:
    """Remove an OAuth client; its tokens stop working."""
    tenant = _in_store(data_dir, database_url, lambda c: logins_repo.remove_client(c, client_id))
    typer.echo(f"client {client_id} removed from tenant {tenant}")
