"""Business activity over time, written through the billing write path (``aquarium simulate``).

:func:`simulate_into` opens a data dir's billing data and plays the days
(:mod:`aquarium.datagen.activity` says what happens on each); :func:`simulate_through` plays them
on an engine that is already open (a running server's, for ``aquarium simulate`` beside it).
Business dates start today in the tenant's time zone.
"""

from __future__ import annotations

import datetime as dt
import random
import time
import zoneinfo
from dataclasses import dataclass
from pathlib import Path

from rich.table import Table

from aquarium.catalog import model
from aquarium.datagen import activity
from aquarium.domain import clock as clock_port
from aquarium.domain import errors
from aquarium.engines import (
    billing_writes,
    duckdb_engine,
    naming,
    postgres_engine,
    writes_port,
)
from aquarium.store import database, tenants_repo

MAX_DAYS = 3650
#: The time zone of business dates when the tenant has none recorded.
DEFAULT_TIME_ZONE = "UTC"
OPERATIONS = ("create", "update", "delete")
ENGINES = ("duckdb", "postgres")


@dataclass(frozen=True)
class SimulationReport:
    """What one :func:`simulate_into` run did."""

    tenant: str
    days: int
    #: writes per (object, operation), operation one of create / update / delete
    counts: dict[tuple[str, str], int]
    #: every (object, id) written
    changed: frozenset[tuple[str, str]]
    started_at: dt.datetime
    seconds: float = 0.0

    @property
    def total(self) -> int:
        """Writes over all objects and operations."""
        return sum(self.counts.values())


def _open(data_dir: Path, engine: str, dsn: str | None) -> writes_port.BillingEngine:
    opened: writes_port.BillingEngine
    if engine == "postgres":
        if not dsn:
            raise errors.DataGenerationError("the postgres engine needs a DSN")
        opened = postgres_engine.PostgresEngine(dsn)
    elif engine == "duckdb":
        path = data_dir / naming.DUCKDB_FILE
        if not path.exists():
            raise errors.TenantDataMissing(f"{path} does not exist; run 'aquarium datagen' first")
        opened = duckdb_engine.DuckDbEngine(path)
    else:
        raise errors.DataGenerationError(f"unknown engine {engine!r}; use one of {ENGINES}")
    try:
        opened.upgrade()
    except BaseException:
        opened.close()
        raise
    return opened


def simulate_into(
    data_dir: Path,
    tenant: str,
    *,
    days: int,
    seed: int,
    clock: clock_port.Clock | None = None,
    metadata_url: str | None = None,
    engine: str = "duckdb",
    dsn: str | None = None,
) -> SimulationReport:
    """Play ``days`` days of activity on ``tenant``'s data in ``data_dir``, or with
    ``engine="postgres"`` in the PostgreSQL database at ``dsn`` (no server running; a running
    server plays it with :func:`simulate_through` on its own engine).

    Days are counted in the tenant's time zone, from the metadata store at ``metadata_url`` (by
    default ``data_dir``'s); UTC for a tenant it does not know.

    Raises :class:`DataGenerationError` for days outside 1..3650, an unknown engine or postgres
    without a DSN, :class:`TenantDataMissing` when the tenant has no billing data there, and
    DuckDB's ``IOException`` when another process (a server) has the data open.
    """
    _check(tenant, days)
    opened = _open(data_dir, engine, dsn)
    try:
        with database.opened(metadata_url, data_dir) as metadata, metadata.connect() as conn:
            zone_name = tenants_repo.time_zone(conn, tenant) or DEFAULT_TIME_ZONE
        return simulate_through(
            opened, tenant, days=days, seed=seed, time_zone=zone_name, clock=clock
        )
    finally:
        opened.close()


def simulate_through(
    engine: writes_port.BillingEngine,
    tenant: str,
    *,
    days: int,
    seed: int,
    time_zone: str = DEFAULT_TIME_ZONE,
    clock: clock_port.Clock | None = None,
) -> SimulationReport:
    """Play ``days`` days of activity on ``tenant``'s data in an open engine; business dates
    start today in ``time_zone``. Same errors as :func:`simulate_into`."""
    _check(tenant, days)
    if not engine.has_tenant(tenant):
        where = engine.path if isinstance(engine, duckdb_engine.DuckDbEngine) else "the database"
        raise errors.TenantDataMissing(f"tenant {tenant!r} has no billing data in {where}")
    clock = clock or clock_port.SystemClock()
    rng = random.Random(seed)
    writes = billing_writes.BillingWrites(
        engine, model.default(), clock, new_id=lambda: f"{rng.getrandbits(128):032x}"
    )
    started_at, started = clock.now(), time.perf_counter()
    recorder = activity.Recorder(writes, tenant, rng)
    today = started_at.astimezone(zoneinfo.ZoneInfo(time_zone)).date()
    activity.Simulation(recorder, seed, today).run(days)
    return SimulationReport(
        tenant=tenant,
        days=days,
        counts=dict(sorted(recorder.counts.items())),
        changed=frozenset(recorder.changed),
        started_at=started_at,
        seconds=time.perf_counter() - started,
    )


def _check(tenant: str, days: int) -> None:
    naming.check_tenant_name(tenant)
    if not 1 <= days <= MAX_DAYS:
        raise errors.DataGenerationError(f"days must be between 1 and {MAX_DAYS}, not {days}")


def report_table(report: SimulationReport) -> Table:
    """The report as a table of writes per object and operation (for the CLI)."""
    table = Table(title=f"{report.days} simulated day(s) for tenant '{report.tenant}'")
    table.add_column("object")
    for operation in OPERATIONS:
        table.add_column(operation, justify="right")
    for obj in sorted({obj for obj, _ in report.counts}):
        table.add_row(obj, *(f"{report.counts.get((obj, op), 0):,}" for op in OPERATIONS))
    table.caption = f"{report.total:,} writes in {report.seconds:.1f} s"
    return table
