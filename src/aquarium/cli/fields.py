"""``aquarium tenant add-field / remove-field / fields / set-invoice-settlement``.

A tenant's custom fields (``Name__c``) and its Invoice Settlement switch
(``services/custom_fields.py``). Adding or removing a field changes the tenant's billing table
too: while ``aquarium serve`` holds the data dir (DuckDB lets one process write it), the server
does it (``/aquarium/api/v1/local/add-field``), as for the other data commands; otherwise the
command opens the billing data itself (``--engine postgres --dsn ...`` for PostgreSQL). Listing
and switching features only touch the metadata store. Every failure is one line on stderr and
exit code 1 (usage errors 2).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from aquarium.catalog import model
from aquarium.cli import admin, common, data
from aquarium.domain import clock, errors, tenancy
from aquarium.engines import duckdb_engine, naming, postgres_engine
from aquarium.services import custom_fields
from aquarium.store import database

ObjectArgument = Annotated[str, typer.Argument(help="The object, e.g. Account.", metavar="OBJECT")]
NameArgument = Annotated[
    str, typer.Argument(help="The field's API name, ending in __c.", metavar="NAME__c")
]
TYPES = ", ".join(t.value for t in tenancy.CustomFieldType)


@contextlib.contextmanager
def _service(
    data_dir: Path,
    database_url: str | None,
    engine: data.EngineName = data.EngineName.duckdb,
    dsn: str | None = None,
    *,
    billing: bool = False,
) -> Iterator[custom_fields.CustomFields]:
    """The use cases over the data dir's metadata store, and (``billing``) its billing data."""
    schema: duckdb_engine.DuckDbEngine | postgres_engine.PostgresEngine | None = None
    if billing and engine is data.EngineName.postgres:
        if not dsn:
            raise errors.DataGenerationError("--engine postgres needs --dsn")
        schema = postgres_engine.PostgresEngine(dsn)
    elif billing and (data_dir / naming.DUCKDB_FILE).exists():
        schema = duckdb_engine.DuckDbEngine(data_dir / naming.DUCKDB_FILE)
    try:
        with database.opened(database_url, data_dir) as metadata:
            yield custom_fields.CustomFields(
                metadata=metadata, shipped=model.default(), clock=clock.SystemClock(), schema=schema
            )
    finally:
        if schema is not None:
            schema.close()


def _shown(field: dict[str, Any]) -> str:
    values = f" ({', '.join(field['values'])})" if field.get("values") else ""
    return f"{field['object']}.{field['name']} ({field['type']}{values}, label {field['label']!r})"


@admin.tenant_app.command("add-field")
def add_field(
    tenant: admin.TenantArgument,
    object_name: ObjectArgument,
    name: NameArgument,
    field_type: Annotated[str, typer.Argument(help=f"One of: {TYPES}.", metavar="TYPE")],
    label: Annotated[
        str | None, typer.Option("--label", help="Label-style CSV headers (default: the name).")
    ] = None,
    values: Annotated[
        str | None, typer.Option("--values", help="A picklist's values: a,b,c (picklist only).")
    ] = None,
    data_dir: admin.DataDir = admin.DEFAULT_DATA_DIR,
    database_url: admin.DatabaseUrl = None,
    engine: data.Engine = data.EngineName.duckdb,
    dsn: data.Dsn = None,
) -> None:
    """Add a custom field to an object of a tenant (a null column for existing rows)."""
    body: dict[str, Any] = {
        "tenant": tenant,
        "object": object_name,
        "name": name,
        "type": field_type,
        "label": label,
        "values": None if values is None else values.split(","),
    }
    with data._reported(data_dir):
        server = data._server(data_dir, engine)
        if server is not None:
            with server:
                added = server.add_field(body)
        else:
            with _service(data_dir, database_url, engine, dsn, billing=True) as service:
                field = service.add(
                    tenant,
                    object_name,
                    name,
                    field_type,
                    label=label,
                    values=body["values"] or (),
                )
            added = custom_fields.document(field)
    typer.echo(f"custom field {_shown(added)} added to tenant {tenant}")


@admin.tenant_app.command("remove-field")
def remove_field(
    tenant: admin.TenantArgument,
    object_name: ObjectArgument,
    name: NameArgument,
    data_dir: admin.DataDir = admin.DEFAULT_DATA_DIR,
    database_url: admin.DatabaseUrl = None,
    engine: data.Engine = data.EngineName.duckdb,
    dsn: data.Dsn = None,
) -> None:
    """Remove a custom field of a tenant: its column and every value in it are gone."""
    with data._reported(data_dir):
        server = data._server(data_dir, engine)
        if server is not None:
            with server:
                body = {"tenant": tenant, "object": object_name, "name": name}
                removed = server.remove_field(body)
        else:
            with _service(data_dir, database_url, engine, dsn, billing=True) as service:
                removed = custom_fields.document(service.remove(tenant, object_name, name))
    typer.echo(f"custom field {removed['object']}.{removed['name']} removed from tenant {tenant}")


@admin.tenant_app.command("fields")
def list_fields(
    tenant: admin.TenantArgument,
    object_name: Annotated[
        str | None, typer.Argument(help="Only this object's fields.", metavar="[OBJECT]")
    ] = None,
    data_dir: admin.DataDir = admin.DEFAULT_DATA_DIR,
    database_url: admin.DatabaseUrl = None,
) -> None:
    """Show a tenant's custom fields: object, name, type, label, picklist values."""
    with data._reported(data_dir), _service(data_dir, database_url) as service:
        found = service.declared(tenant, object_name)
    table = Table(title=f"Custom fields of tenant {tenant}")
    for column in ("object", "name", "type", "label", "values"):
        table.add_column(column, overflow="fold")
    for field in found:
        table.add_row(
            field.object, field.name, field.type.value, field.label, ", ".join(field.values) or "-"
        )
    Console().print(table)


@admin.tenant_app.command("set-invoice-settlement")
def set_invoice_settlement(
    tenant: admin.TenantArgument,
    state: Annotated[str, typer.Argument(help="on or off.", metavar="on|off")],
    data_dir: admin.DataDir = admin.DEFAULT_DATA_DIR,
    database_url: admin.DatabaseUrl = None,
) -> None:
    """Switch Zuora's Invoice Settlement of a tenant: on, its objects exist and the legacy
    ones are read-only; off, its objects do not exist for the tenant."""
    if state.lower() not in {"on", "off"}:
        raise common.fail(f"say on or off, not {state!r}")
    with data._reported(data_dir), _service(data_dir, database_url) as service:
        service.set_invoice_settlement(tenant, state.lower() == "on")
    typer.echo(f"Invoice Settlement of tenant {tenant}: {state.lower()}")
