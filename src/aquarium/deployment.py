"""What an API node and a worker process of one deployment share: its stores, opened.

Embedded (the default): SQLite metadata and DuckDB billing data in the data dir. Scale-out
(``database_url``): metadata, billing data (one schema per tenant) and the job queue in one
PostgreSQL, result files under a location every node reaches (the data dir, meant to be
shared, or ``results_url``). Either way the first start gives the tenant ``demo`` its login,
its OAuth client and generated data, so the README's examples work on both.

``server.py`` (``aquarium serve``) and ``worker.py`` (``aquarium worker``) build on
:func:`open_stores`.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa

from aquarium import observability, storage
from aquarium.catalog import model
from aquarium.domain import clock as clock_port
from aquarium.domain import notifier as notifier_port
from aquarium.engines import duckdb_engine, naming, postgres_engine
from aquarium.runner import context
from aquarium.services import auth, custom_fields, tenant_catalogs, tenant_directory
from aquarium.settings import Settings
from aquarium.storage import base as storage_base
from aquarium.store import change_feed, database, queue_schema, tenants_repo

DEMO_TENANT = "demo"
DEMO_SEED = 1
RESULTS_DIR = storage.RESULTS_DIR
#: Held while a scale-out node makes the demo tenant's data, so nodes starting together make
#: it once (the metadata migrations hold their own lock, ``database.PG_MIGRATION_LOCK``).
PG_DEMO_LOCK = 0x41515542

BillingEngine = duckdb_engine.DuckDbEngine | postgres_engine.PostgresEngine

log = observability.logger(__name__)


@dataclass
class Stores:
    settings: Settings
    metadata: sa.Engine
    engine: BillingEngine
    results: storage_base.ResultStore
    tenants: tenant_directory.TenantDirectory
    catalog: model.Catalog
    catalogs: tenant_catalogs.TenantCatalogs

    def context(
        self,
        clock: clock_port.Clock,
        notifier: notifier_port.Notifier,
        faults: context.RunFaults | None = None,
    ) -> context.ExecutionContext:
        """What run handlers work with, over these stores (``faults``: ``--test-control``)."""
        return context.ExecutionContext(
            metadata=self.metadata,
            engine=self.engine,
            results=self.results,
            catalogs=self.catalogs,
            clock=clock,
            tenant=self.tenants.tenant,
            notifier=notifier,
            faults=faults or context.NoFaults(),
        )

    def close(self) -> None:
        self.tenants.stop()
        self.engine.close()
        self.metadata.dispose()


def open_stores(settings: Settings) -> Stores:
    """The deployment's stores, migrated and reconciled, with the demo tenant in place."""
    if settings.scale_out:
        metadata = database.open_metadata(settings.database_url, settings.data_dir)
        if queue_schema.ensure(metadata):
            log.info("job queue tables created")
        scaled = postgres_engine.PostgresEngine(change_feed.psycopg_dsn(settings.database_url))
        _prepare_scaled(settings, metadata, scaled)
        engine: BillingEngine = scaled
    else:
        metadata = database.open_metadata(settings.metadata_url or None, settings.data_dir)
        _prepare_embedded(settings, metadata)
        engine = duckdb_engine.DuckDbEngine(
            settings.data_dir / naming.DUCKDB_FILE,
            memory_limit=settings.duckdb_memory_limit or None,
            scan_memory_limit=settings.duckdb_scan_memory_limit or None,
            build_memory_limit=settings.duckdb_build_memory_limit or None,
            threads=settings.duckdb_threads or None,
            export_ranges=settings.duckdb_export_ranges,
        )
    upgraded = engine.upgrade()
    if upgraded:
        log.info("billing tables upgraded", tables=len(upgraded))
    results = open_results(settings)
    tenants = tenant_directory.TenantDirectory(
        metadata, auth.load_or_create_secret(settings.data_dir)
    )
    catalog = model.default()
    _reconcile(engine, metadata, catalog)
    catalogs = tenant_catalogs.TenantCatalogs(catalog, tenants.tenant)
    return Stores(settings, metadata, engine, results, tenants, catalog, catalogs)


def open_results(settings: Settings) -> storage_base.ResultStore:
    """Where result files are published: ``results_url`` (any fsspec URL), else the data dir."""
    return storage.open_results(settings.results_url, settings.data_dir)


def _prepare_embedded(settings: Settings, metadata: sa.Engine) -> None:
    """First start: the demo tenant's users, client and (when missing) its billing data."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with metadata.begin() as conn:
        tenants_repo.ensure_demo(conn)
    if not _has_duckdb_data(settings, DEMO_TENANT):
        _generate_demo(settings, engine="duckdb")


def _prepare_scaled(
    settings: Settings, metadata: sa.Engine, engine: postgres_engine.PostgresEngine
) -> None:
    """:func:`_prepare_embedded` for PostgreSQL, once however many nodes start together."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with metadata.connect() as conn:
        # A session lock: the generator loads over its own connections, committing per table.
        conn.execute(sa.select(sa.func.pg_advisory_lock(PG_DEMO_LOCK)))
        conn.commit()  # the lock is the session's: it outlives this transaction
        try:
            with conn.begin():
                tenants_repo.ensure_demo(conn)
            if not engine.has_tenant(DEMO_TENANT):
                _generate_demo(settings, engine="postgres")
        finally:
            conn.execute(sa.select(sa.func.pg_advisory_unlock(PG_DEMO_LOCK)))
            conn.commit()


def _generate_demo(settings: Settings, *, engine: str) -> None:
    log.info("generating the demo tenant's data", scale=settings.demo_scale, engine=engine)
    # Imported here: the generator's libraries (pyarrow, mimesis) are not needed to serve.
    from aquarium import datagen

    scaled = settings.scale_out
    datagen.generate_into(
        settings.data_dir,
        DEMO_TENANT,
        scale=settings.demo_scale,
        seed=DEMO_SEED,
        engine=engine,
        dsn=change_feed.psycopg_dsn(settings.database_url) if scaled else None,
        metadata_url=(settings.database_url if scaled else settings.metadata_url) or None,
    )


def _has_duckdb_data(settings: Settings, tenant: str) -> bool:
    path = settings.data_dir / naming.DUCKDB_FILE
    if not path.exists():
        return False
    engine = duckdb_engine.DuckDbEngine(path, read_only=True)
    try:
        return engine.has_tenant(tenant)
    finally:
        engine.close()


def _reconcile(engine: BillingEngine, metadata: sa.Engine, catalog: model.Catalog) -> None:
    """Every tenant's billing schema gets the tables and columns of its storage view that an
    earlier release (or a field added while no engine was open) left out; no data is touched."""
    with database.read_only(metadata) as conn:
        configured = list(tenants_repo.all_tenants(conn).values())
    changed = custom_fields.reconcile_all(engine, configured, catalog, engine.tenants())
    for tenant, statements in changed.items():
        log.info("billing schema reconciled", tenant=tenant, statements=len(statements))
