"""Synthetic billing data: generate it (:mod:`.generate`) and load it into a tenant's schema.

:func:`generate_into` is the one entry point the CLI and the demo use; a running server loads
through its own engine with :func:`generate_through`.
"""

from __future__ import annotations

import math
import time
from collections.abc import Collection
from dataclasses import dataclass, field
from pathlib import Path

import psycopg
import sqlalchemy as sa

from aquarium.catalog import model, views
from aquarium.datagen import ahead, generate
from aquarium.domain import errors
from aquarium.engines import loading, naming, writes_port
from aquarium.store import database, tenants_repo

MAX_SCALE = 1000
ENGINES = ("duckdb", "postgres")


@dataclass(frozen=True)
class GenerationReport:
    """What one :func:`generate_into` run produced."""

    rows: dict[str, int] = field(default_factory=dict)  #: rows per object
    seconds: float = 0.0  #: wall time, generation and loading together

    @property
    def total_rows(self) -> int:
        """Rows over all objects."""
        return sum(self.rows.values())

    @property
    def rows_per_second(self) -> float:
        """Throughput over the whole run."""
        return self.total_rows / self.seconds if self.seconds > 0 else 0.0


def _check(tenant: str, scale: float, engine: str, dsn: str | None) -> None:
    if not isinstance(scale, int | float) or math.isnan(scale) or not 0 < scale <= MAX_SCALE:
        raise errors.DataGenerationError(f"scale must be > 0 and <= {MAX_SCALE}, not {scale!r}")
    naming.check_tenant_name(tenant)
    if engine not in ENGINES:
        raise errors.DataGenerationError(f"unknown engine {engine!r}; use one of {ENGINES}")
    if engine == "postgres" and not dsn:
        raise errors.DataGenerationError("the postgres engine needs a DSN")


def generate_into(
    data_dir: Path,
    tenant: str,
    *,
    scale: float,
    seed: int,
    engine: str = "duckdb",
    dsn: str | None = None,
    time_zone: str | None = None,
    metadata_url: str | None = None,
    objects: Collection[str] | None = None,
) -> GenerationReport:
    """Generate billing data for ``tenant`` and load it, replacing what the tenant had.

    DuckDB data goes to ``data_dir / billing.duckdb`` (one file, one schema per tenant);
    PostgreSQL data to the database at ``dsn``. The tenant and its time zone are recorded in
    the metadata store either way: the one at ``metadata_url``, or by default ``data_dir``'s
    SQLite file (``store.database.open_metadata``). Raises :class:`DataGenerationError` for a scale
    outside (0, 1000], a bad tenant name, an unknown engine, or postgres without a DSN.

    What is generated is the tenant's storage view (``catalog.views.storage_view``): every object
    of the shipped catalogue, whatever the tenant's features, and its custom fields, filled.
    ``objects`` (names as in the catalogue) fills only those: the others are created empty
    (one object's hundred million rows fit a disk the whole tenant does not). Unknown names
    raise :class:`DataGenerationError`.
    """
    _check(tenant, scale, engine, dsn)
    started = time.perf_counter()
    data_dir.mkdir(parents=True, exist_ok=True)
    with database.opened(metadata_url, data_dir) as metadata:
        catalog = _storage_catalog(metadata, tenant)
    only = _objects(catalog, objects)
    tables = ahead.ahead(generate.generate(catalog, scale=scale, seed=seed, objects=only))
    if engine == "duckdb":
        with loading.connect_duckdb(data_dir / naming.DUCKDB_FILE) as con:
            rows = loading.load_duckdb(con, tenant, catalog, tables)
    else:
        assert dsn is not None  # checked above
        with psycopg.connect(dsn) as conn:
            rows = loading.load_postgres(conn, tenant, catalog, tables)
    with database.opened(metadata_url, data_dir) as metadata:
        _record_tenant(metadata, tenant, time_zone)
    return GenerationReport(rows=rows, seconds=time.perf_counter() - started)


def generate_through(
    engine: writes_port.BillingEngine,
    metadata: sa.Engine,
    tenant: str,
    *,
    scale: float,
    seed: int,
    time_zone: str | None = None,
    objects: Collection[str] | None = None,
) -> GenerationReport:
    """:func:`generate_into` through the engines a running server has open (its billing data
    and its metadata store).

    The load is one transaction (the engine's ``load_tenant``): the server's jobs keep reading
    the tenant's previous data until it commits. Same checks and errors as
    :func:`generate_into`.
    """
    _check(tenant, scale, "duckdb", None)  # the engine is open already: scale and name remain
    started = time.perf_counter()
    catalog = _storage_catalog(metadata, tenant)
    only = _objects(catalog, objects)
    tables = generate.generate(catalog, scale=scale, seed=seed, objects=only)
    rows = engine.load_tenant(tenant, catalog, tables)
    _record_tenant(metadata, tenant, time_zone)
    return GenerationReport(rows=rows, seconds=time.perf_counter() - started)


def _objects(catalog: model.Catalog, objects: Collection[str] | None) -> frozenset[str] | None:
    """The objects to fill (None: all), checked against ``catalog``."""
    if objects is None:
        return None
    names = {obj.name for obj in catalog}
    unknown = sorted(set(objects) - names)
    if unknown:
        raise errors.DataGenerationError(
            f"no object {', '.join(unknown)} in the catalogue (names as Zuora spells them, "
            "e.g. InvoiceItem)"
        )
    if not objects:
        raise errors.DataGenerationError("name at least one object to generate")
    return frozenset(objects)


def _storage_catalog(metadata: sa.Engine, tenant: str) -> model.Catalog:
    """The catalogue of the tenant's billing schema: every object, its custom fields."""
    with metadata.connect() as conn:
        found = tenants_repo.get_tenant(conn, tenant)
    return views.storage_view(model.default(), found.custom_fields if found else ())


def _record_tenant(metadata: sa.Engine, tenant: str, time_zone: str | None) -> None:
    # A tenant that already exists keeps its time zone unless one is given.
    with metadata.begin() as conn:
        tenants_repo.record_tenant(conn, tenant, time_zone=time_zone)
