"""``aquarium datagen | simulate | query | demo``: the commands that read or change billing data.

While ``aquarium serve`` runs on the data dir they run through it (:mod:`aquarium.cli.local`):
DuckDB lets one process open the file for writing, and the server has it open. Without a server
they open the data themselves. The output is the same either way (the query's CSV byte for
byte); an error is one line on stderr (:func:`aquarium.cli.common.fail`) and exit code 1.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import duckdb
import psycopg
import sqlalchemy as sa
import typer
from rich.console import Console
from rich.table import Table

from aquarium.catalog import model, views
from aquarium.cli import admin, common, local
from aquarium.domain import clock, errors, tenancy
from aquarium.engines import base, duckdb_engine, naming, postgres_engine
from aquarium.services import adhoc_query, local_ops
from aquarium.store import database, tenants_repo
from aquarium.zoql import ast

if TYPE_CHECKING:
    from aquarium.datagen import GenerationReport

DEFAULT_TIME_ZONE = tenancy.DEFAULT_TIME_ZONE
DEMO_TENANT = "demo"
DEMO_SEED = 1
_LOCK_HOLDER = re.compile(r"\(PID (\d+)\)")


class EngineName(StrEnum):
    duckdb = "duckdb"
    postgres = "postgres"


DataDir = common.DataDir
Tenant = Annotated[str, typer.Option("--tenant", help="Tenant name (lowercase).")]
Engine = Annotated[EngineName, typer.Option("--engine", help="Where the billing data lives.")]
SQLALCHEMY_SCHEME = "postgresql+psycopg://"  # a scheme the settings take and libpq does not


def _libpq_dsn(dsn: str | None) -> str | None:
    """``dsn`` as psycopg takes it: the deployment's ``AQUARIUM_DATABASE_URL`` may be written
    the SQLAlchemy way, ``postgresql+psycopg://...``."""
    if dsn is not None and dsn.startswith(SQLALCHEMY_SCHEME):
        return "postgresql://" + dsn.removeprefix(SQLALCHEMY_SCHEME)
    return dsn


Dsn = Annotated[
    str | None,
    typer.Option(
        "--dsn",
        envvar=admin.DATABASE_URL_ENV,
        callback=_libpq_dsn,
        help="PostgreSQL DSN (with --engine postgres).",
    ),
]


def locked(data_dir: Path, exc: duckdb.IOException, *, serving: bool = False) -> str:
    """The line for DuckDB's "Could not set lock": another process holds the data dir, which
    for a command means a server that takes no commands (an older release, or one starting),
    and for ``serve`` another server. Any other I/O error as DuckDB words it."""
    first_line = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if "lock" not in first_line.lower():
        return first_line
    holder = _LOCK_HOLDER.search(str(exc))
    by = f" (process {holder.group(1)})" if holder else ""
    if serving:
        return (
            f"another server seems to be running on {data_dir}{by}: stop it first, "
            "or serve another --data-dir"
        )
    return (
        f"a server seems to be running on {data_dir}{by} and does not take commands "
        "(an older release?): stop it, or restart it with this release's 'aquarium serve', "
        "then run the command again"
    )


@contextlib.contextmanager
def _reported(data_dir: Path) -> Iterator[None]:
    """Every way a data command fails, as one line and exit code 1."""
    try:
        yield
    except errors.AquariumError as exc:
        raise common.fail(exc) from None
    except local.Refused as exc:
        raise common.fail(exc.message, excerpt=exc.excerpt) from None
    except local.Unavailable as exc:
        raise common.fail(str(exc)) from None
    except duckdb.IOException as exc:
        raise common.fail(locked(data_dir, exc)) from None
    except psycopg.Error as exc:  # --engine postgres: a bad DSN, the server down
        reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise common.fail(f"cannot use the PostgreSQL database: {reason}") from None
    except (ValueError, sa.exc.SQLAlchemyError) as exc:  # the metadata store: a bad URL, down
        reason = str(getattr(exc, "orig", None) or exc).splitlines()[0]
        raise common.fail(f"cannot use the metadata database: {reason}") from None


def _server(data_dir: Path, engine: EngineName = EngineName.duckdb) -> local.LocalServer | None:
    """The server running on ``data_dir``, for data it holds (DuckDB's), else ``None``."""
    return local.find(data_dir) if engine is EngineName.duckdb else None


def _metadata_url(billing_dsn: str | None = None) -> str | None:
    """The metadata store to use: ``AQUARIUM_METADATA_URL``, else the PostgreSQL database that
    holds the billing data (scale-out keeps both in one), else ``AQUARIUM_DATABASE_URL``;
    ``None`` (the data dir's SQLite file) without any."""
    return (
        os.environ.get(admin.METADATA_URL_ENV)
        or billing_dsn
        or os.environ.get(admin.DATABASE_URL_ENV)
        or None
    )


def _stored_time_zone(data_dir: Path, tenant: str) -> str | None:
    """The tenant's time zone in the data dir's metadata store; ``None`` when it has none."""
    found = _stored_tenant(data_dir, tenant)
    return None if found is None else found.time_zone


def _stored_tenant(
    data_dir: Path, tenant: str, billing_dsn: str | None = None
) -> tenancy.Tenant | None:
    """The tenant as the metadata store (:func:`_metadata_url`) has it; ``None`` when it has
    none."""
    url = _metadata_url(billing_dsn)
    if url is None and not data_dir.is_dir():
        return None  # nothing to ask, and no reason to create the data dir
    with database.opened(url, data_dir) as metadata, metadata.connect() as conn:
        return tenants_repo.get_tenant(conn, tenant)


def _open_engine(data_dir: Path, engine: EngineName, dsn: str | None) -> base.QueryEngine:
    if engine is EngineName.postgres:
        if not dsn:
            raise errors.DataGenerationError("--engine postgres needs --dsn")
        return postgres_engine.PostgresEngine(dsn)
    path = data_dir / naming.DUCKDB_FILE
    if not path.exists():
        raise errors.TenantDataMissing(f"{path} does not exist; run 'aquarium datagen' first")
    return duckdb_engine.DuckDbEngine(path, read_only=True)


def datagen_command(
    data_dir: DataDir = common.DEFAULT_DATA_DIR,
    tenant: Tenant = DEMO_TENANT,
    scale: Annotated[float, typer.Option(help="1 = about 1,000 accounts.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Same seed, same data.")] = DEMO_SEED,
    engine: Engine = EngineName.duckdb,
    dsn: Dsn = None,
    time_zone: Annotated[
        str | None,
        typer.Option(help="The tenant's time zone (default: kept, or America/Los_Angeles)."),
    ] = None,
    objects: Annotated[
        str | None,
        typer.Option(
            help="Fill only these objects, comma-separated (e.g. InvoiceItem); the others are "
            "created empty. Their rows are those of a full generation."
        ),
    ] = None,
) -> None:
    """Generate deterministic synthetic billing data for a tenant (replacing what it had)."""
    only = None if objects is None else [name.strip() for name in objects.split(",")]
    if only is not None:
        only = [name for name in only if name]
    with _reported(data_dir):
        server = _server(data_dir, engine)
        if server is not None:
            with server:
                body = {
                    "tenant": tenant,
                    "scale": scale,
                    "seed": seed,
                    "timeZone": time_zone,
                    "objects": only,
                }
                report = local_ops.generation_report(server.datagen(body))
        else:
            from aquarium import datagen  # numpy, pyarrow, mimesis: only for this command

            report = datagen.generate_into(
                data_dir,
                tenant,
                scale=scale,
                seed=seed,
                engine=engine.value,
                dsn=dsn,
                time_zone=time_zone,
                metadata_url=_metadata_url(dsn if engine is EngineName.postgres else None),
                objects=only,
            )
    _print_report(report, tenant)


def _print_report(report: GenerationReport, tenant: str) -> None:
    table = Table(title=f"Billing data for tenant '{tenant}'")
    table.add_column("object")
    table.add_column("rows", justify="right")
    for name, rows in report.rows.items():
        table.add_row(name, f"{rows:,}")
    Console().print(table)
    Console().print(
        f"{report.total_rows:,} rows in {report.seconds:.1f} s "
        f"({report.rows_per_second:,.0f} rows/s)"
    )


def simulate_command(
    data_dir: DataDir = common.DEFAULT_DATA_DIR,
    tenant: Tenant = DEMO_TENANT,
    days: Annotated[int, typer.Option(help="Simulated days of business activity.")] = 1,
    seed: Annotated[int, typer.Option(help="Same data and seed, same activity.")] = DEMO_SEED,
    engine: Engine = EngineName.duckdb,
    dsn: Dsn = None,
) -> None:
    """Write a stream of business activity into a tenant's data."""
    from aquarium.datagen import simulate  # the generator's text pools: only for this command

    with _reported(data_dir):
        server = _server(data_dir, engine)
        if server is not None:
            with server:
                document = server.simulate({"tenant": tenant, "days": days, "seed": seed})
            report = local_ops.simulation_report(document)
        else:
            report = simulate.simulate_into(
                data_dir,
                tenant,
                days=days,
                seed=seed,
                metadata_url=_metadata_url(),
                engine=engine.value,
                dsn=dsn,
            )
    Console().print(simulate.report_table(report))


def query_command(
    zoql: Annotated[str, typer.Argument(help="The ZOQL / Export ZOQL statement.")],
    data_dir: DataDir = common.DEFAULT_DATA_DIR,
    tenant: Tenant = DEMO_TENANT,
    labels: Annotated[bool, typer.Option("--labels", help="Label-style headers.")] = False,
    utc: Annotated[bool, typer.Option("--utc", help="Datetimes in UTC (dateTimeUtc).")] = False,
    query_type: Annotated[
        ast.Dialect, typer.Option("--type", help="zoqlexport (default) or zoql.")
    ] = ast.Dialect.EXPORT,
    null: Annotated[str, typer.Option("--null", help="Text for nulls.")] = "",
    engine: Engine = EngineName.duckdb,
    dsn: Dsn = None,
) -> None:
    """Run one query and print the CSV AQuA would produce (useQueryLabels off = --labels)."""
    body: dict[str, Any] = {
        "tenant": tenant,
        "zoql": zoql,
        "labels": labels,
        "utc": utc,
        "type": query_type.value,
        "null": null,
    }
    with _reported(data_dir):
        server = _server(data_dir, engine)
        if server is not None:
            with server:
                server.query(body, sys.stdout.buffer)
            return
        _query_directly(data_dir, body, engine, dsn)


def _query_directly(
    data_dir: Path, body: dict[str, Any], engine: EngineName, dsn: str | None
) -> None:
    tenant = body["tenant"]
    billing_dsn = dsn if engine is EngineName.postgres else None
    stored = _stored_tenant(data_dir, tenant, billing_dsn) or tenancy.Tenant(
        tenant, DEFAULT_TIME_ZONE
    )
    request = adhoc_query.AdhocQuery(
        text=body["zoql"],
        tenant=tenant,
        time_zone=stored.time_zone,
        use_labels=body["labels"],
        utc=body["utc"],
        dialect=ast.Dialect(body["type"]),
        csv=base.CsvOptions(null=body["null"]),
    )
    query_engine = _open_engine(data_dir, engine, dsn)
    try:
        with tempfile.TemporaryDirectory(prefix="aquarium-query-") as scratch:
            path = Path(scratch) / "result.csv"
            adhoc_query.run_to_file(
                request,
                query_engine,
                views.for_tenant(model.default(), stored),
                clock.SystemClock(),
                path,
            )
            with path.open("rb") as result:
                shutil.copyfileobj(result, sys.stdout.buffer)
            sys.stdout.buffer.flush()
    finally:
        query_engine.close()


def demo_command(data_dir: DataDir = common.DEFAULT_DATA_DIR) -> None:
    """Create the demo tenant's data (scale 1) unless it exists, and show what there is."""
    with _reported(data_dir):
        known = _stored_time_zone(data_dir, DEMO_TENANT) is not None
    if known:
        Console().print(f"The demo tenant's data is already in {data_dir}/.")
    else:
        datagen_command(data_dir=data_dir, tenant=DEMO_TENANT, scale=1.0, seed=DEMO_SEED)
    Console().print(
        "Try: .venv/bin/aquarium query --data-dir "
        f'{data_dir} "select AccountNumber, Name, Balance from Account limit 5"'
    )
