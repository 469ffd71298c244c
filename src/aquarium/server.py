"""The composition root of ``aquarium serve``: builds stores, engine, runner and services.

Two shapes from one graph (ARCHITECTURE.md): **embedded** (SQLite metadata, DuckDB billing data,
in-process workers) and, with ``database_url``, a **scale-out API node** (metadata, billing
data and the job queue in PostgreSQL; runs delivered to ``aquarium worker`` processes through
Procrastinate, ``runner/queue.py``; changes heard from other processes on the change feed,
``store/change_feed.py``). ``worker.py`` builds a worker process from the same parts.

Nothing else wires concrete adapters together; tests build the same graph with fakes or with
their own data directory.
"""

from __future__ import annotations

import os
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import sqlalchemy as sa
from fastapi import FastAPI

from aquarium import deployment, observability
from aquarium.api import app as api_app
from aquarium.api import deps
from aquarium.domain import clock as clock_port
from aquarium.domain import notifier as notifier_port
from aquarium.domain import tenancy, tenant_clocks
from aquarium.engines import billing_writes, duckdb_engine
from aquarium.runner import base as runner_base
from aquarium.runner import inprocess, notify, policy, queue
from aquarium.services import (
    aqua,
    clock_control,
    control,
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
    retention_sweep,
    tenant_snapshots,
)
from aquarium.services.tenant_directory import TENANTS_POLL_S, TenantDirectory
from aquarium.settings import Settings
from aquarium.storage import base as storage_base
from aquarium.storage import local as local_storage
from aquarium.store import change_feed, tenants_repo

if TYPE_CHECKING:
    from aquarium.worker import QueueWorkerProcess

DEMO_TENANT = deployment.DEMO_TENANT
DEMO_SEED = deployment.DEMO_SEED
DEMO_OWNER = tenants_repo.DEMO_USER  # who the demo tenant's starter reports belong to
DEMO_REPORTS_MARKER = "demo-reports.saved"  # in the data dir, once the starter reports exist
RESULTS_DIR = deployment.RESULTS_DIR
TEST_CONTROL_WARNING = (
    "TEST CONTROL IS ON (--test-control): any tenant administrator can make this server fail "
    "requests, read the requests it received and move the clocks of its tenant; never run it "
    "so with real data"
)

__all__ = ["TENANTS_POLL_S", "Server", "TenantDirectory", "build"]

log = observability.logger(__name__)


@dataclass
class Server:
    settings: Settings
    services: deps.AppServices
    #: the in-process runner (embedded), the job-queue dispatcher (scale-out API node), or
    #: None (embedded ``--no-workers``: jobs wait)
    runner: runner_base.JobRunner | None
    metadata: sa.Engine
    engine: deployment.BillingEngine
    results: storage_base.ResultStore
    tenants: TenantDirectory
    #: calls the notifyUrl of finished jobs (every node runs one; attempts are claimed)
    notifications: notify.NotificationSender | None = None
    #: scale-out: hears the changes other processes make to runs
    changes: change_feed.ChangeListener | None = None
    #: scale-out with workers in this process too (``serve --database-url`` without
    #: ``--no-workers``)
    worker: QueueWorkerProcess | None = None
    _stop: threading.Event = field(default_factory=threading.Event)

    def start(self) -> None:
        self.tenants.start()
        if self.changes is not None:
            self.changes.start()
        if self.runner is not None:
            self.runner.start()
        if self.worker is not None:
            self.worker.start()
        threading.Thread(target=self._purge_loop, name="aquarium-purge", daemon=True).start()
        if self.notifications is not None:
            self.notifications.start()
        self.services.ready = True
        log.info("server ready", data_dir=str(self.settings.data_dir))

    def stop(self) -> None:
        self.services.ready = False
        self._stop.set()
        if self.worker is not None:
            self.worker.stop()
        if self.runner is not None:
            self.runner.stop()
        if self.notifications is not None:
            self.notifications.stop()
        if self.changes is not None:
            self.changes.stop()
        self.tenants.stop()
        self.engine.close()
        self.metadata.dispose()

    def purge_once(self) -> None:
        """Delete files past retention, and jobs and report runs past the retention of their
        tenant (the default retention for tenants no longer configured)."""
        _sweep(self.metadata, self.results, self.engine, self.tenants, self.services.clock).sweep()

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


def _sweep(
    metadata: sa.Engine,
    results: storage_base.ResultStore,
    engine: deployment.BillingEngine,
    tenants: TenantDirectory,
    clock: clock_port.Clock,
) -> retention_sweep.RetentionSweep:
    return retention_sweep.RetentionSweep(metadata, results, engine, tenants.tenant, clock)


def build(settings: Settings, clock: clock_port.Clock | None = None) -> Server:
    """Everything ``aquarium serve`` runs, over ``settings.data_dir`` (and, scale-out, the
    PostgreSQL database at ``settings.database_url``). With ``settings.test_control`` every
    tenant gets a clock of its own, moved through the control API (domain/tenant_clocks.py)."""
    clock = clock or clock_port.SystemClock()
    if settings.test_control:
        clock = tenant_clocks.TenantClocks(clock)  # TEST_CONTROL_WARNING, logged below, says so
        if settings.scale_out:
            log.warning("test control's clocks live in this process: other workers keep real time")
    stores = deployment.open_stores(settings)
    # --test-control: the in-process runner asks it before each batch (an 'abort' rule).
    testing = control.ControlService(clock.now) if settings.test_control else None
    events = job_events.JobEvents(clock.now)
    listener: change_feed.ChangeListener | None = None
    worker: QueueWorkerProcess | None = None
    runner: runner_base.JobRunner | None = None
    if settings.scale_out:
        shared = job_cache.JobDocumentCache()
        documents: job_cache.JobDocumentCache | job_cache.NoCache = shared
        local_views = notifier_port.Broadcast(documents, events)
        origin = change_feed.new_origin()
        changes: notifier_port.Notifier = notifier_port.Broadcast(
            local_views, change_feed.PgChangeNotifier(stores.metadata, origin)
        )
        listener = change_feed.ChangeListener(
            settings.database_url, origin, local_views.job_changed, shared.listening
        )
        shared.listening(False)  # until the listener listens: nothing missed is cached
        runner = queue.QueueDispatcher(
            change_feed.psycopg_dsn(settings.database_url),
            stores.metadata,
            policy.executing_limits(stores.tenants.tenant),
        )
        if not settings.no_workers:
            from aquarium.worker import QueueWorkerProcess  # procrastinate's worker loop

            worker = QueueWorkerProcess(stores, clock, changes, settings)
    else:
        # Embedded mode sees every change to its jobs, so polling can be served from memory.
        documents = job_cache.NoCache() if settings.no_workers else job_cache.JobDocumentCache()
        changes = notifier_port.Broadcast(documents, events)
        if not settings.no_workers:
            runner = inprocess.InProcessRunner(
                stores.context(clock, changes, testing),
                workers=settings.workers or os.cpu_count(),
            )
    services = _services(settings, stores, clock, runner or _NoRunner(), documents, changes)
    services.events = events
    if testing is not None:
        services.control = testing
        services.snapshots = _snapshots(settings, stores, clock, changes)
        log.warning(TEST_CONTROL_WARNING)
    if isinstance(clock, tenant_clocks.TenantClocks):
        sweep = _sweep(stores.metadata, stores.results, stores.engine, stores.tenants, clock)
        services.clock_control = clock_control.ClockControl(clock, sweep.sweep_tenant)
    sender = notify.NotificationSender(
        stores.metadata, clock, allowed_hosts=settings.notify_allowed_hosts
    )
    return Server(
        settings,
        services,
        runner,
        stores.metadata,
        stores.engine,
        stores.results,
        stores.tenants,
        sender,
        changes=listener,
        worker=worker,
    )


def _snapshots(
    settings: Settings,
    stores: deployment.Stores,
    clock: clock_port.Clock,
    changes: notifier_port.Notifier,
) -> tenant_snapshots.TenantSnapshots:
    """Test control's reset; refusing every call where the data is not in this process's
    DuckDB file and a local results directory (scale-out)."""
    engine = stores.engine if isinstance(stores.engine, duckdb_engine.DuckDbEngine) else None
    results = stores.results
    root = results.root if isinstance(results, local_storage.LocalResultStore) else None

    def reconcile(tenant: str) -> None:
        # Custom fields declared after the save: their columns come back, empty.
        found = stores.tenants.tenant(tenant)
        configured = [found] if found is not None else []
        custom_fields.reconcile_all(stores.engine, configured, stores.catalog, [tenant])

    return tenant_snapshots.TenantSnapshots(
        metadata=stores.metadata,
        engine=engine,
        results_root=root,
        root=settings.data_dir / tenant_snapshots.DIRECTORY,
        clock=clock,
        changes=changes,
        reconcile=reconcile,
    )


def _services(
    settings: Settings,
    stores: deployment.Stores,
    clock: clock_port.Clock,
    runner: runner_base.JobRunner,
    documents: job_cache.JobDocumentCache | job_cache.NoCache,
    changes: notifier_port.Notifier,
) -> deps.AppServices:
    tenants, catalogs, metadata = stores.tenants, stores.catalogs, stores.metadata
    service = aqua.AquaService(
        metadata=metadata,
        catalogs=catalogs,
        runner=runner,
        results=stores.results,
        clock=clock,
        tenant_of=tenants.tenant,
        documents=documents,
        notifier=changes,
    )
    services = deps.AppServices(
        settings=settings, aqua=service, authenticators=lambda: tenants.authenticator, clock=clock
    )
    writes = billing_writes.BillingWrites(
        stores.engine, stores.catalog, clock, catalog_of=catalogs.named
    )
    services.objects = objects.ObjectService(writes=writes, tenant_of=tenants.tenant)
    services.reports = reports.ReportService(metadata=metadata, catalogs=catalogs, clock=clock)
    _seed_demo_reports(settings, services.reports, tenants)
    services.report_runs = report_runs.ReportRunService(
        metadata=metadata,
        catalogs=catalogs,
        runner=runner,
        results=stores.results,
        clock=clock,
        tenant_of=tenants.tenant,
        notifier=changes,
    )
    services.data_queries = data_queries.DataQueryService(
        metadata=metadata,
        catalogs=catalogs,
        runner=runner,
        results=stores.results,
        clock=clock,
        tenant_of=tenants.tenant,
        links=data_file_links.DataFileLinks(tenants.secret, settings.data_file_link_s),
        notifier=changes,
    )
    services.finder = job_finder.JobFinder(
        metadata, service, services.report_runs, clock, data_queries=services.data_queries
    )
    services.custom_fields = custom_fields.CustomFields(
        metadata=metadata,
        shipped=stores.catalog,
        clock=clock,
        schema=stores.engine,
        changed=tenants.refresh,
    )
    if isinstance(stores.engine, duckdb_engine.DuckDbEngine):
        # The data commands' way into a running embedded server (scale-out: they connect to
        # PostgreSQL themselves).
        services.local = local_ops.LocalOperations(
            engine=stores.engine,
            metadata=metadata,
            catalog=stores.catalog,
            clock=clock,
            data_dir=settings.data_dir,
            custom_fields=services.custom_fields,
        )
    return services


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
    """API-only embedded nodes (``--no-workers``): jobs wait for a worker."""

    def start(self) -> None: ...
    def stop(self) -> None: ...
    def wake(self, run_id: str | None = None) -> None: ...
    def cancel(self, job_id: str) -> None: ...
