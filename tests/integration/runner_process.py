"""A runner in a process of its own over a data directory, for the cross-process tests.

``python -m tests.integration.runner_process DATA_DIR``: starts an in-process runner (one
worker) over the data dir's SQLite metadata and its billing data (DuckDB, read-only, so that
several such processes share the file), prints ``ready``, runs until its standard input closes,
then stops. Its log (stderr) says what it did.
"""

from __future__ import annotations

import sys
from pathlib import Path

from aquarium import observability
from aquarium.catalog import model
from aquarium.domain import clock, tenancy
from aquarium.engines import duckdb_engine, naming
from aquarium.runner import context, inprocess
from aquarium.services import tenant_catalogs
from aquarium.storage import local
from aquarium.store import database

TIME_ZONE = "America/Los_Angeles"


def main(data_dir: Path) -> None:
    observability.configure_logging("info")
    metadata = database.connect(database.sqlite_url(data_dir))
    engine = duckdb_engine.DuckDbEngine(data_dir / naming.DUCKDB_FILE, read_only=True, threads=1)
    ctx = context.ExecutionContext(
        metadata=metadata,
        engine=engine,
        results=local.LocalResultStore(data_dir / "results"),
        catalogs=tenant_catalogs.TenantCatalogs(model.default()),
        clock=clock.SystemClock(),
        tenant=lambda name: tenancy.Tenant(name=name, time_zone=TIME_ZONE),
    )
    runner = inprocess.InProcessRunner(ctx, workers=1)
    runner.start()
    print("ready", flush=True)
    sys.stdin.read()
    runner.stop()
    engine.close()
    metadata.dispose()


if __name__ == "__main__":
    main(Path(sys.argv[1]))
