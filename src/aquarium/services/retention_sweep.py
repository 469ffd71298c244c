"""The retention sweep: result files past their expiry, runs past their tenant's retention, and
billing rows deleted long enough ago, removed.

The server runs :meth:`RetentionSweep.sweep` every ``purge_interval_s``; test control runs
:meth:`RetentionSweep.sweep_tenant` right after it advances a tenant's clock, so what would have
expired meanwhile is gone when the advance returns. Each tenant is judged by its own clock
(``domain/tenant_clocks.py``); a tenant nobody moved, and one no longer configured, by the
server's.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa

from aquarium.catalog import model
from aquarium.domain import clock as clock_port
from aquarium.domain import runs, tenancy, tenant_clocks
from aquarium.engines import billing_writes, writes_port
from aquarium.runner import policy
from aquarium.storage import base as storage_base
from aquarium.store import files_repo, runs_repo, tenants_repo


@dataclass
class RetentionSweep:
    metadata: sa.Engine
    results: storage_base.ResultStore
    engine: writes_port.BillingEngine
    #: the settings of a configured tenant (None: no longer configured)
    tenant_of: Callable[[str], tenancy.Tenant | None]
    clock: clock_port.Clock

    def sweep(self) -> None:
        """Every tenant's expired files, runs and deleted rows (the default retention for
        tenants no longer configured)."""
        now = self.clock.now()
        moved = tenant_clocks.moved_tenants(self.clock)
        with self.metadata.begin() as conn:
            tenant_names = tenants_repo.names(conn)
            self._delete_files(conn, files_repo.expired_files(conn, now, except_tenants=moved))
            for name in moved:
                self._delete_files(
                    conn, files_repo.expired_files(conn, self._now(name), tenant=name)
                )
            for name in tenant_names:
                self._purge_runs(conn, name)
            _purge_runs(conn, now, tenancy.Limits(), except_tenants=tenant_names)
        for name in tenant_names:
            self._purge_deleted_rows(name)

    def sweep_tenant(self, tenant: str) -> None:
        """``tenant``'s expired files, runs and deleted rows, by its clock."""
        with self.metadata.begin() as conn:
            self._delete_files(
                conn, files_repo.expired_files(conn, self._now(tenant), tenant=tenant)
            )
            self._purge_runs(conn, tenant)
        self._purge_deleted_rows(tenant)

    def _now(self, tenant: str) -> dt.datetime:
        return tenant_clocks.clock_for(self.clock, tenant).now()

    def _delete_files(self, conn: sa.Connection, expired: list[files_repo.FileRecord]) -> None:
        for record in expired:
            self.results.delete(record.path)
            files_repo.mark_deleted(conn, record.id, self._now(record.tenant))

    def _purge_runs(self, conn: sa.Connection, tenant: str) -> None:
        found = self.tenant_of(tenant)
        limits = found.limits if found else tenancy.Limits()
        _purge_runs(conn, self._now(tenant), limits, tenant=tenant)

    def _purge_deleted_rows(self, tenant: str) -> None:
        clock = tenant_clocks.clock_for(self.clock, tenant)
        billing_writes.purge_deleted(self.engine, model.default(), [tenant], clock.now)


def _purge_runs(
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
