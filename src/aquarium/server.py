"""The composition root of ``aquarium serve``: builds stores, engine, runner and services.

Nothing else wires concrete adapters together; tests build the same graph with fakes or with
their own data directory.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import sqlalchemy as sa
from fastapi import FastAPI

from aquarium import observability
from aquarium.api import app as api_app
from aquarium.api import deps
from aquarium.catalog import model
from aquarium.domain import clock as clock_port
from aquarium.domain import notifier as notifier_port
from aquarium.domain import runs, tenancy
from aquarium.engines import billing_writes, duckdb_engine, naming
from aquarium.runner import context, inprocess, notify, policy
from aquarium.services import (
    aqua,
    auth,
    custom_fields,
    data_file_links,
    data_queries,
    demo_reports,
    job_cache,
    job_events,
    job_finder,
    local_ops,
    objects,
    report_runs,
    reports,
    tenant_catalogs,
)
from aquarium.settings import Settings
from aquarium.storage import local
from aquarium.store import database, files_repo, runs_repo, tenants_repo

DEMO_TENANT = "demo"
DEMO_SEED = 1
DEMO_OWNER = tenants_repo.DEMO_USER  # who the demo tenant's starter reports belong to
DEMO_REPORTS_MARKER = "demo-reports.saved"  # in the data dir, once the starter reports exist
RESULTS_DIR = "results"

log = observability.logger(__name__)


#: seconds between two reads of the tenants generation: a running server sees a change made
#: elsewhere (the admin CLI, another node) within this long
TENANTS_POLL_S = 0.25


@dataclass(frozen=True)
class _TenantsSnapshot:
    generation: int
    tenants: dict[str, tenancy.Tenant]
    authenticator: auth.Authenticator


class TenantDirectory:
    """The tenants of the metadata store, held in memory and reloaded when they change.

    Requests only read the snapshot: no file ``stat`` and no query per request. While the
    directory runs (:meth:`start`), a thread reads the one-row tenants generation every
    :data:`TENANTS_POLL_S` and reloads everything when it has moved, so a change committed by
    another process (``aquarium user add``, another node on the same PostgreSQL) is seen within
    that period. Polling is one primary-key read a few times a second, whatever the request
    rate, and works the same on SQLite and PostgreSQL; LISTEN/NOTIFY, which would push the
    change instead, comes with the scale-out work. Each reload builds a new
    :class:`~aquarium.services.auth.Authenticator`, so its cache of successful checks never
    outlives a changed password or a removed login.
    """

    def __init__(
        self, metadata: sa.Engine, secret: bytes, *, poll_s: float = TENANTS_POLL_S
    ) -> None:
        self.secret = secret
        self._metadata = metadata
        self._poll_s = poll_s
        self._reload_lock = threading.Lock()
        self._snapshot = _TenantsSnapshot(-1, {}, auth.Authenticator({}, secret))
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refresh()

    def refresh(self) -> bool:
        """Reload now if the generation moved since the last load; whether it did."""
        with self._reload_lock, database.read_only(self._metadata) as conn:
            if conn.dialect.name == "postgresql":  # one consistent picture over several queries
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                generation = tenants_repo.generation(conn)
                if generation == self._snapshot.generation:
                    return False
                tenants = tenants_repo.all_tenants(conn)
            authenticator = auth.Authenticator(tenants, self.secret)
            self._snapshot = _TenantsSnapshot(generation, tenants, authenticator)
        log.info("tenants loaded", tenants=len(tenants), generation=generation)
        return True

    def start(self) -> None:
        """Watch the generation from a background thread until :meth:`stop`."""
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(
                target=self._watch, name="aquarium-tenants", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _watch(self) -> None:
        failing = False
        while not self._stop.wait(self._poll_s):
            try:
                self.refresh()
            except Exception:
                if not failing:  # once per outage, not four times a second
                    log.exception("reading tenants failed; serving the ones loaded before")
                failing = True
            else:
                failing = False

    def tenant(self, name: str) -> tenancy.Tenant | None:
        return self._snapshot.tenants.get(name)

    @property
    def authenticator(self) -> auth.Authenticator:
        return self._snapshot.authenticator


@dataclass
class Server:
    settings: Settings
    services: deps.AppServices
    runner: inprocess.InProcessRunner | None
    metadata: sa.Engine
    engine: duckdb_engine.DuckDbEngine
    results: local.LocalResultStore
    tenants: TenantDirectory
    #: calls the notifyUrl of finished jobs (every node runs one; attempts are claimed)
    notifications: notify.NotificationSender | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        self.tenants.start()
        if self.runner is not None:
            self.runner.start()
        threading.Thread(target=self._purge_loop, name="aquarium-purge", daemon=True).start()
        if self.notifications is not None:
            self.notifications.start()
        self.services.ready = True
        log.info("server ready", data_dir=str(self.settings.data_dir))

    def stop(self) -> None:
        self.services.ready = False
        self._stop.set()
        if self.runner is not None:
            self.runner.stop()
        if self.notifications is not None:
            self.notifications.stop()
        self.tenants.stop()
        self.engine.close()
        self.metadata.dispose()

    def purge_once(self) -> None:
        """Delete files past retention, and jobs and report runs past the retention of their
        tenant (the default retention for tenants no longer configured)."""
        now = self.services.clock.now()
        with self.metadata.begin() as conn:
            tenant_names = tenants_repo.names(conn)
            for record in files_repo.expired_files(conn, now):
                self.results.delete(record.path)
                files_repo.mark_deleted(conn, record.id, now)
            for name in tenant_names:
                found = self.tenants.tenant(name)
                _purge_jobs(conn, now, found.limits if found else tenancy.Limits(), tenant=name)
            _purge_jobs(conn, now, tenancy.Limits(), except_tenants=tenant_names)
        billing_writes.purge_deleted(
            self.engine, model.default(), tenant_names, self.services.clock.now
        )

    def _purge_loop(self) -> None:
        while not self._stop.wait(self.settings.purge_interval_s):
            try:
                self.purge_once()
            except Exception:
                log.exception("purge failed")

    def app(self) -> FastAPI:
        @asynccontextmanager
        async def lifespan(app: FastAPI) -> AsyncIterator[None]:
            self.start()
            yield
            self.stop()

        return api_app.create_app(self.services, lifespan)


def _purge_jobs(
    conn: sa.Connection,
    now: dt.datetime,
    limits: tenancy.Limits,
    *,
    tenant: str | None = None,
    except_tenants: Sequence[str] = (),
) -> None:
    for kind in runs.Kind:
        before = now - dt.timedelta(seconds=policy.retention_s(limits, kind))
        runs_repo.purge(
            conn, kind, created_before=before, tenant=tenant, except_tenants=except_tenants
        )


def prepare_data_dir(settings: Settings, metadata: sa.Engine) -> None:
    """First start: the demo tenant's users, client and (when missing) its billing data."""
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    with metadata.begin() as conn:
        tenants_repo.ensure_demo(conn)
    if not _has_billing_data(settings, DEMO_TENANT):
        log.info("generating the demo tenant's data", scale=settings.demo_scale)
        # Imported here: the generator's libraries (pyarrow, mimesis) are not needed to serve.
        from aquarium import datagen

        datagen.generate_into(
            settings.data_dir,
            DEMO_TENANT,
            scale=settings.demo_scale,
            seed=DEMO_SEED,
            metadata_url=settings.metadata_url or None,
        )


def _has_billing_data(settings: Settings, tenant: str) -> bool:
    path = settings.data_dir / naming.DUCKDB_FILE
    if not path.exists():
        return False
    engine = duckdb_engine.DuckDbEngine(path, read_only=True)
    try:
        return engine.has_tenant(tenant)
    finally:
        engine.close()


def build(settings: Settings, clock: clock_port.Clock | None = None) -> Server:
    """Everything ``aquarium serve`` runs, over ``settings.data_dir``."""
    clock = clock or clock_port.SystemClock()
    metadata = database.open_metadata(settings.metadata_url or None, settings.data_dir)
    prepare_data_dir(settings, metadata)
    engine = duckdb_engine.DuckDbEngine(
        settings.data_dir / naming.DUCKDB_FILE,
        memory_limit=settings.duckdb_memory_limit or None,
        threads=settings.duckdb_threads or None,
    )
    upgraded = engine.upgrade()
    if upgraded:
        log.info("billing tables upgraded", tables=len(upgraded))
    results = local.LocalResultStore(settings.data_dir / RESULTS_DIR)
    tenants = TenantDirectory(metadata, auth.load_or_create_secret(settings.data_dir))
    catalog = model.default()
    _reconcile(engine, metadata, catalog)
    catalogs = tenant_catalogs.TenantCatalogs(catalog, tenants.tenant)
    # Embedded mode sees every change to its jobs, so polling can be served from memory.
    documents = job_cache.NoCache() if settings.no_workers else job_cache.JobDocumentCache()
    events = job_events.JobEvents(clock.now)
    changes = notifier_port.Broadcast(documents, events)
    ctx = context.ExecutionContext(
        metadata=metadata,
        engine=engine,
        results=results,
        catalogs=catalogs,
        clock=clock,
        tenant=tenants.tenant,
        notifier=changes,
    )
    runner = None
    if not settings.no_workers:
        runner = inprocess.InProcessRunner(ctx, workers=settings.workers or os.cpu_count())
    service = aqua.AquaService(
        metadata=metadata,
        catalogs=catalogs,
        runner=runner or _NoRunner(),
        results=results,
        clock=clock,
        tenant_of=tenants.tenant,
        documents=documents,
        notifier=changes,
    )
    services = deps.AppServices(
        settings=settings, aqua=service, authenticators=lambda: tenants.authenticator, clock=clock
    )
    writes = billing_writes.BillingWrites(engine, catalog, clock, catalog_of=catalogs.named)
    services.objects = objects.ObjectService(writes=writes, tenant_of=tenants.tenant)
    services.reports = reports.ReportService(metadata=metadata, catalogs=catalogs, clock=clock)
    _seed_demo_reports(settings, services.reports, tenants)
    services.report_runs = report_runs.ReportRunService(
        metadata=metadata,
        catalogs=catalogs,
        runner=runner or _NoRunner(),
        results=results,
        clock=clock,
        tenant_of=tenants.tenant,
        notifier=changes,
    )
    services.data_queries = data_queries.DataQueryService(
        metadata=metadata,
        catalogs=catalogs,
        runner=runner or _NoRunner(),
        results=results,
        clock=clock,
        tenant_of=tenants.tenant,
        links=data_file_links.DataFileLinks(tenants.secret, settings.data_file_link_s),
        notifier=changes,
    )
    services.events = events
    services.finder = job_finder.JobFinder(
        metadata, service, services.report_runs, clock, data_queries=services.data_queries
    )
    services.custom_fields = custom_fields.CustomFields(
        metadata=metadata, shipped=catalog, clock=clock, schema=engine, changed=tenants.refresh
    )
    services.local = local_ops.LocalOperations(
        engine=engine,
        metadata=metadata,
        catalog=catalog,
        clock=clock,
        data_dir=settings.data_dir,
        custom_fields=services.custom_fields,
    )
    sender = notify.NotificationSender(metadata, clock, allowed_hosts=settings.notify_allowed_hosts)
    return Server(settings, services, runner, metadata, engine, results, tenants, sender)


def _reconcile(
    engine: duckdb_engine.DuckDbEngine, metadata: sa.Engine, catalog: model.Catalog
) -> None:
    """Every tenant's billing schema gets the tables and columns of its storage view that an
    earlier release (or a field added while no engine was open) left out; no data is touched."""
    with database.read_only(metadata) as conn:
        configured = list(tenants_repo.all_tenants(conn).values())
    changed = custom_fields.reconcile_all(engine, configured, catalog, engine.tenants())
    for tenant, statements in changed.items():
        log.info("billing schema reconciled", tenant=tenant, statements=len(statements))


def _seed_demo_reports(
    settings: Settings, service: reports.ReportService, tenants: TenantDirectory
) -> None:
    """Once per data dir: the demo tenant's starter reports (deleting them later is final)."""
    marker = settings.data_dir / DEMO_REPORTS_MARKER
    if marker.exists() or tenants.tenant(DEMO_TENANT) is None:
        return
    owner = tenancy.Principal(DEMO_TENANT, DEMO_OWNER, True, tenancy.AuthMethod.BASIC)
    saved = demo_reports.ensure(service, owner)
    marker.touch()
    if saved:
        log.info("demo reports saved", reports=saved)


class _NoRunner:
    """API-only nodes (``--no-workers``): jobs wait for a worker process."""

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def wake(self) -> None: ...
    def cancel(self, job_id: str) -> None: ...
