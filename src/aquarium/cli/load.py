"""``aquarium load --tenant NAME DIR``: replace a tenant's objects with CSV or Parquet files.

The files are checked before anything is written, then loaded in one transaction
(:mod:`aquarium.services.bulk_load` has the rule). While ``aquarium serve`` holds the data dir,
the server does it (``/aquarium/api/v1/local/load``, reading the files from the same path) in one
bulk transaction its jobs never see half of; otherwise the command opens the billing data itself
(``--engine postgres --dsn ...`` for PostgreSQL, as ``aquarium datagen`` does).
Every failure is one line on stderr and exit code 1 (usage errors 2).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import psycopg
import typer
from rich.console import Console
from rich.table import Table

from aquarium.cli import common, data
from aquarium.domain import errors
from aquarium.engines import naming
from aquarium.store import database

if TYPE_CHECKING:  # pyarrow, numpy: about 80 MiB, not for every command (`serve`)
    from aquarium.services import bulk_load

Directory = Annotated[
    Path,
    typer.Argument(
        help="A directory of <Object>.csv, <Object>.csv.gz or <Object>.parquet files.",
        metavar="DIR",
    ),
]
RequiredTenant = Annotated[str, typer.Option("--tenant", help="Tenant name (lowercase).")]
AddFields = Annotated[
    bool,
    typer.Option("--add-fields", help="Make columns no field names custom fields (Name__c)."),
]


def load_command(
    directory: Directory,
    tenant: RequiredTenant,
    add_fields: AddFields = False,
    data_dir: data.DataDir = common.DEFAULT_DATA_DIR,
    engine: data.Engine = data.EngineName.duckdb,
    dsn: data.Dsn = None,
) -> None:
    """Load CSV (as AQuA writes it) or Parquet files into a tenant, replacing the rows of each
    object that has a file (objects without one keep theirs)."""
    with data._reported(data_dir):
        report = load_into(directory, tenant, add_fields, data_dir, engine, dsn)
    _print_report(report, tenant)


def load_into(
    directory: Path,
    tenant: str,
    add_fields: bool,
    data_dir: Path,
    engine: data.EngineName,
    dsn: str | None,
) -> bulk_load.LoadReport:
    """Load ``directory`` into ``tenant`` through the server holding ``data_dir``, or directly
    when none does (``aquarium clone`` writes this way too); errors as ``data._reported`` reads
    them."""
    from aquarium.services import bulk_load

    server = data._server(data_dir, engine)
    if server is None:
        return _load(directory, tenant, add_fields, data_dir, engine, dsn)
    body = {"tenant": tenant, "directory": str(directory.resolve()), "addFields": add_fields}
    with server:
        return bulk_load.from_document(server.load(body))


def _load(
    directory: Path,
    tenant: str,
    add_fields: bool,
    data_dir: Path,
    engine: data.EngineName,
    dsn: str | None,
) -> bulk_load.LoadReport:
    from aquarium.engines import loading
    from aquarium.services import bulk_load

    if engine is data.EngineName.postgres and not dsn:
        raise errors.LoadError("--engine postgres needs --dsn")
    metadata_url = data._metadata_url(dsn if engine is data.EngineName.postgres else None)
    if engine is data.EngineName.duckdb:
        data_dir.mkdir(parents=True, exist_ok=True)
    with (
        tempfile.TemporaryDirectory(prefix="aquarium-load-") as scratch,
        database.opened(metadata_url, data_dir) as metadata,
    ):
        if engine is data.EngineName.postgres:
            assert dsn is not None
            with psycopg.connect(dsn) as conn:
                return bulk_load.load_directory(
                    directory,
                    tenant,
                    metadata=metadata,
                    replace=lambda *args: loading.replace_postgres(conn, *args),
                    add_fields=add_fields,
                    scratch=Path(scratch),
                )
        with loading.connect_duckdb(data_dir / naming.DUCKDB_FILE) as con:
            return bulk_load.load_directory(
                directory,
                tenant,
                metadata=metadata,
                replace=lambda *args: loading.replace_duckdb(con, *args),
                add_fields=add_fields,
                scratch=Path(scratch),
            )


def _print_report(report: bulk_load.LoadReport, tenant: str) -> None:
    table = Table(title=f"Loaded into tenant '{tenant}'")
    table.add_column("object")
    table.add_column("rows", justify="right")
    for name, rows in report.rows.items():
        table.add_row(name, f"{rows:,}")
    console = Console()
    console.print(table)
    for field in report.added_fields:
        console.print(f"custom field {field.object}.{field.name} ({field.type.value}) added")
    console.print(
        f"{report.total_rows:,} rows in {report.seconds:.1f} s "
        f"({report.rows_per_second:,.0f} rows/s)"
    )
