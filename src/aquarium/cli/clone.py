"""``aquarium clone --from URL --tenant NAME``: copy a Zuora-compatible tenant into Aquarium.

The source is read through its public APIs only (Describe and stateless AQuA exports,
:mod:`aquarium.services.tenant_clone`), so it may be Zuora or another Aquarium; the connection
options are the client commands' (``--user``/``--password`` or ``--client-id``/
``--client-secret``, ``--config``, ``AQUARIUM_*`` variables), the URL given as ``--from``.
The target is a tenant of the data dir, written as ``aquarium load`` writes it (through the
server holding the data dir, or directly): the tenant created when it does not exist (in
``--time-zone``), the source's custom fields declared with their Describe types, then each
object's rows replaced by the source's, all objects in one transaction.

Every clone but ``--schema-only`` also moves one stateful AQuA session per object
(:mod:`aquarium.services.clone_sessions`); ``--refresh`` reads each session's increment and
copies again, whole, only the objects that changed (or lost rows) since the last clone.

Progress (one line per object, warnings) goes to stderr, the summary to stdout. Exit codes as
:mod:`aquarium.cli.common` says: 3 for a refused login, 5 for a source that cannot be reached,
1 for everything else that stops the copy, always in one line.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated

import typer

from aquarium import client
from aquarium.catalog import model
from aquarium.cli import common, data, fields, load
from aquarium.domain import errors, tenancy
from aquarium.engines import naming
from aquarium.services import clone_sessions, tenant_clone
from aquarium.store import database, tenants_repo

SourceUrl = Annotated[
    str, typer.Option("--from", help="The source's base URL (Zuora or Aquarium).", metavar="URL")
]
Tenant = Annotated[str, typer.Option("--tenant", help="The target tenant (lowercase).")]
User = Annotated[str | None, typer.Option("--user", help="Source user (HTTP Basic).")]
Password = Annotated[str | None, typer.Option("--password", help="Source password.")]
ClientId = Annotated[str | None, typer.Option("--client-id", help="Source OAuth client id.")]
ClientSecret = Annotated[str | None, typer.Option("--client-secret", help="OAuth secret.")]
Config = Annotated[
    Path | None,
    typer.Option("--config", help="TOML settings \\[default ~/.config/aquarium/client.toml]."),
]
SchemaOnly = Annotated[
    bool, typer.Option("--schema-only", help="Only declare the custom fields, copy no rows.")
]
Since = Annotated[
    str | None,
    typer.Option(
        "--since", help="Only rows with UpdatedDate >= DATE (YYYY-MM-DD or an ISO datetime)."
    ),
]
Objects = Annotated[
    str | None, typer.Option("--objects", help="Only these objects: Account,Invoice,...")
]
Refresh = Annotated[
    bool,
    typer.Option(
        "--refresh",
        help="Copy again only the objects that changed since the last clone (stateful sessions).",
    ),
]
TimeZone = Annotated[
    str, typer.Option("--time-zone", help="IANA time zone of a tenant the clone creates.")
]


def clone_command(
    source_url: SourceUrl,
    tenant: Tenant,
    user: User = None,
    password: Password = None,
    client_id: ClientId = None,
    client_secret: ClientSecret = None,
    config: Config = None,
    schema_only: SchemaOnly = False,
    since: Since = None,
    objects: Objects = None,
    refresh: Refresh = False,
    time_zone: TimeZone = tenancy.DEFAULT_TIME_ZONE,
    data_dir: data.DataDir = common.DEFAULT_DATA_DIR,
    engine: data.Engine = data.EngineName.duckdb,
    dsn: data.Dsn = None,
) -> None:
    """Copy a Zuora-compatible tenant's custom fields and rows into a tenant here, through the
    source's public APIs (Describe, AQuA)."""
    started = time.perf_counter()
    if refresh and (schema_only or since is not None):
        raise common.fail("--refresh takes neither --schema-only nor --since", common.EXIT_USAGE)
    try:
        naming.check_tenant_name(tenant)  # before the source is read, not after
    except errors.DataGenerationError as exc:
        raise common.fail(exc.reason) from None
    only = [name.strip() for name in (objects or "").split(",") if name.strip()]
    options = common.Options(source_url, user, password, client_id, client_secret, config)
    with common.connected(options) as source:
        try:
            checked = None if since is None else tenant_clone.check_since(since)
            planned = tenant_clone.plan(source, catalog=model.default(), only=only, since=checked)
        except tenant_clone.CloneFailed as exc:
            raise common.fail(str(exc)) from None
        for name in planned.skipped:
            typer.echo(f"warning: {name}: no such object here, skipped", err=True)
        for note in planned.notes:
            typer.echo(f"warning: {note}", err=True)
        with data._reported(data_dir):
            _declare(planned.custom_fields, tenant, time_zone, data_dir, engine, dsn, refresh)
            if schema_only:
                typer.echo(f"{len(planned.custom_fields)} custom fields; no rows (--schema-only)")
                return
            planned = _sessions(source, planned, tenant, refresh=refresh)
            if not planned.objects:
                typer.echo(f"nothing changed at the source since the last clone of {tenant}")
                return
            with tempfile.TemporaryDirectory(prefix="aquarium-clone-") as scratch:
                exported = _export(source, planned, Path(scratch))
                loaded = load.load_into(Path(scratch), tenant, False, data_dir, engine, dsn)
    seconds = time.perf_counter() - started
    rows = loaded.total_rows
    typer.echo(
        f"cloned {len(loaded.rows)} objects, {rows:,} rows into tenant {tenant} in "
        f"{seconds:.1f} s ({rows / seconds if seconds > 0 else 0:,.0f} rows/s; "
        f"export {exported.seconds:.1f} s, load {loaded.seconds:.1f} s)"
    )


def _sessions(
    source: client.Client, planned: tenant_clone.ClonePlan, tenant: str, *, refresh: bool
) -> tenant_clone.ClonePlan:
    """Move each object's stateful session (before the rows are read, so that what changes
    meanwhile is in the next increment); for a refresh, the plan narrowed to what changed."""
    names = [one.name for one in planned.objects]
    try:
        changed = clone_sessions.advance(source, names, tenant=tenant, catalog=model.default())
    except tenant_clone.CloneFailed as exc:
        raise common.fail(str(exc)) from None
    if not refresh:
        return planned
    typer.echo(
        f"refresh: {len(changed)} of {len(names)} objects changed"
        + (f" ({', '.join(changed)})" if changed else ""),
        err=True,
    )
    kept = tuple(one for one in planned.objects if one.name in set(changed))
    return dataclasses.replace(planned, objects=kept)


def _export(
    source: client.Client, planned: tenant_clone.ClonePlan, directory: Path
) -> tenant_clone.ExportReport:
    def done(name: str, rows: int) -> None:
        typer.echo(f"{name}: {rows:,} rows", err=True)

    try:
        return tenant_clone.export(source, planned, directory, on_object=done)
    except tenant_clone.CloneFailed as exc:
        raise common.fail(str(exc)) from None


def _declare(
    wanted: Sequence[tenancy.CustomField],
    tenant: str,
    time_zone: str,
    data_dir: Path,
    engine: data.EngineName,
    dsn: str | None,
    must_exist: bool = False,
) -> None:
    """Create the tenant when it does not exist (``must_exist``: refuse), then declare the
    custom fields it lacks; a field it has under another type is kept as it is (a warning line
    says so)."""
    metadata_url = data._metadata_url(dsn if engine is data.EngineName.postgres else None)
    if engine is data.EngineName.duckdb:
        data_dir.mkdir(parents=True, exist_ok=True)
    with database.opened(metadata_url, data_dir) as metadata, metadata.begin() as conn:
        found = tenants_repo.get_tenant(conn, tenant)
        if found is None and must_exist:
            raise common.fail(f"there is no tenant {tenant!r} to refresh: clone it first")
        if found is None:
            found = tenants_repo.add_tenant(conn, tenant, time_zone=time_zone)
    have = {(f.object, f.name.lower()): f for f in found.custom_fields}
    missing = []
    for field in wanted:
        present = have.get((field.object, field.name.lower()))
        if present is None:
            missing.append(field)
        elif present.type is not field.type:
            typer.echo(
                f"warning: {field.object}.{field.name} is {present.type.value} here, "
                f"{field.type.value} at the source: kept as it is",
                err=True,
            )
    for field in missing:
        body = {
            "tenant": tenant,
            "object": field.object,
            "name": field.name,
            "type": field.type.value,
            "label": field.label,
            "values": list(field.values) or None,
        }
        server = data._server(data_dir, engine)
        if server is not None:
            with server:
                server.add_field(body)
        else:
            with fields._service(data_dir, metadata_url, engine, dsn, billing=True) as service:
                service.add(
                    tenant,
                    field.object,
                    field.name,
                    field.type.value,
                    label=field.label,
                    values=field.values,
                )
        typer.echo(f"custom field {field.object}.{field.name} ({field.type.value}) added", err=True)
