"""The ``aquarium`` command line: data generation, ad-hoc queries, the demo.

Every command turns an :class:`AquariumError` into one line on stderr and exit code 1, so
scripts can rely on ``$?``; usage errors exit with 2 (Typer's convention).
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.table import Table

from aquarium.catalog import model
from aquarium.cli import admin as cli_admin
from aquarium.cli import client_aqua as cli_client_aqua
from aquarium.cli import client_report as cli_client_report
from aquarium.domain import clock, errors
from aquarium.engines import base, duckdb_engine, naming, postgres_engine
from aquarium.services import adhoc_query
from aquarium.store import tenants_file
from aquarium.zoql import ast

if TYPE_CHECKING:
    from aquarium.datagen import GenerationReport

DEFAULT_DATA_DIR = Path(".aquarium")
DEFAULT_TIME_ZONE = "America/Los_Angeles"
DEMO_TENANT = "demo"
DEMO_SEED = 1

app = typer.Typer(
    name="aquarium",
    help="Aquarium: Zuora's AQuA and Reporting APIs, self-hosted.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
err = Console(stderr=True)
app.add_typer(cli_admin.tenant_app, name="tenant")
app.add_typer(cli_admin.user_app, name="user")
app.add_typer(cli_admin.client_app, name="client")
app.add_typer(cli_client_aqua.app, name="aqua")
app.add_typer(cli_client_report.app, name="report")


class EngineName(StrEnum):
    duckdb = "duckdb"
    postgres = "postgres"


DataDir = Annotated[Path, typer.Option("--data-dir", help="Where Aquarium keeps its files.")]
Tenant = Annotated[str, typer.Option("--tenant", help="Tenant name (lowercase).")]
Engine = Annotated[EngineName, typer.Option("--engine", help="Where the billing data lives.")]
Dsn = Annotated[str | None, typer.Option("--dsn", help="PostgreSQL DSN (with --engine postgres).")]


def _fail(error: errors.AquariumError) -> typer.Exit:
    # Plain echo, not rich: a script greps these lines, and rich would wrap them.
    typer.echo(f"error: {error.describe()}", err=True)
    if isinstance(error, errors.ZoqlError) and error.position is not None:
        typer.echo(error.position.excerpt, err=True)
    return typer.Exit(code=1)


def _open_engine(data_dir: Path, engine: EngineName, dsn: str | None) -> base.QueryEngine:
    if engine is EngineName.postgres:
        if not dsn:
            raise errors.DataGenerationError("--engine postgres needs --dsn")
        return postgres_engine.PostgresEngine(dsn)
    path = data_dir / naming.DUCKDB_FILE
    if not path.exists():
        raise base.TenantDataMissing(f"{path} does not exist; run 'aquarium datagen' first")
    return duckdb_engine.DuckDbEngine(path, read_only=True)


@app.command("datagen")
def datagen_command(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    tenant: Tenant = DEMO_TENANT,
    scale: Annotated[float, typer.Option(help="1 = about 1,000 accounts.")] = 1.0,
    seed: Annotated[int, typer.Option(help="Same seed, same data.")] = DEMO_SEED,
    engine: Engine = EngineName.duckdb,
    dsn: Dsn = None,
    time_zone: Annotated[
        str | None,
        typer.Option(help="The tenant's time zone (default: kept, or America/Los_Angeles)."),
    ] = None,
) -> None:
    """Generate deterministic synthetic billing data for a tenant."""
    from aquarium import datagen  # numpy, pyarrow, mimesis: only loaded for this command

    try:
        report = datagen.generate_into(
            data_dir,
            tenant,
            scale=scale,
            seed=seed,
            engine=engine.value,
            dsn=dsn,
            time_zone=time_zone,
        )
    except errors.AquariumError as exc:
        raise _fail(exc) from None
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


@app.command("simulate")
def simulate_command(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    tenant: Tenant = DEMO_TENANT,
    days: Annotated[int, typer.Option(help="Simulated days of business activity.")] = 1,
    seed: Annotated[int, typer.Option(help="Same data and seed, same activity.")] = DEMO_SEED,
) -> None:
    """Write a stream of business activity into a tenant's data (run it while no server runs)."""
    from aquarium.datagen import simulate  # the generator's text pools: only for this command

    try:
        report = simulate.simulate_into(data_dir, tenant, days=days, seed=seed)
    except errors.AquariumError as exc:
        raise _fail(exc) from None
    Console().print(simulate.report_table(report))


@app.command("query")
def query_command(
    zoql: Annotated[str, typer.Argument(help="The ZOQL / Export ZOQL statement.")],
    data_dir: DataDir = DEFAULT_DATA_DIR,
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
    time_zone = tenants_file.tenant_time_zone(data_dir, tenant) or DEFAULT_TIME_ZONE
    request = adhoc_query.AdhocQuery(
        text=zoql,
        tenant=tenant,
        time_zone=time_zone,
        use_labels=labels,
        utc=utc,
        dialect=query_type,
        csv=base.CsvOptions(null=null),
    )
    try:
        query_engine = _open_engine(data_dir, engine, dsn)
        try:
            with tempfile.TemporaryDirectory(prefix="aquarium-query-") as scratch:
                path = Path(scratch) / "result.csv"
                adhoc_query.run_to_file(
                    request, query_engine, model.default(), clock.SystemClock(), path
                )
                with path.open("rb") as result:
                    shutil.copyfileobj(result, sys.stdout.buffer)
                sys.stdout.buffer.flush()
        finally:
            query_engine.close()
    except errors.AquariumError as exc:
        raise _fail(exc) from None


@app.command("demo")
def demo_command(data_dir: DataDir = DEFAULT_DATA_DIR) -> None:
    """Create the demo tenant's data (scale 1) unless it exists, and show what there is."""
    if DEMO_TENANT in tenants_file.tenant_names(data_dir):
        Console().print(f"The demo tenant's data is already in {data_dir}/.")
    else:
        datagen_command(data_dir=data_dir, tenant=DEMO_TENANT, scale=1.0, seed=DEMO_SEED)
    Console().print(
        "Try: .venv/bin/aquarium query --data-dir "
        f'{data_dir} "select AccountNumber, Name, Balance from Account limit 5"'
    )


@app.command("serve")
def serve_command(
    data_dir: DataDir = DEFAULT_DATA_DIR,
    host: Annotated[str, typer.Option(help="Address to bind.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to bind.")] = 8080,
    workers: Annotated[int, typer.Option(help="Job worker threads; 0 = one per CPU.")] = 0,
    no_workers: Annotated[
        bool, typer.Option("--no-workers", help="Serve the API only; workers run elsewhere.")
    ] = False,
    log_level: Annotated[str, typer.Option(help="debug, info, warning, error.")] = "info",
) -> None:
    """Run the HTTP server (AQuA API) with in-process job workers."""
    import uvicorn

    from aquarium import observability, server
    from aquarium.settings import Settings

    observability.configure_logging(log_level)
    settings = Settings(
        data_dir=data_dir,
        host=host,
        port=port,
        workers=workers,
        no_workers=no_workers,
        log_level=log_level,
    )
    try:
        built = server.build(settings)
    except errors.AquariumError as exc:
        raise _fail(exc) from None
    err.print(f"Aquarium listening on http://{host}:{port} (data in {data_dir}/)", highlight=False)
    uvicorn.run(
        built.app(),
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
        timeout_graceful_shutdown=5,
    )


def main() -> None:
    """Entry point of the ``aquarium`` console script."""
    app()
