"""What a kind's handler works with: the stores, the engine, the clock, the tenants, listeners.

:class:`ExecutionContext` is built once by the composition root (``server.py``) and handed to
every handler; :class:`Temporaries` are the files a run writes before they are published.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa

from aquarium.catalog import model, views
from aquarium.domain import clock as clock_port
from aquarium.domain import faults, ids, tenancy, tenant_clocks
from aquarium.domain import notifier as notifier_port
from aquarium.engines import base
from aquarium.storage import base as storage


class RunFaults(Protocol):
    """Failures and delays a test asked for (``--test-control``: ``services/control.py``)."""

    def run_fault(self, tenant: str, step: faults.Step) -> faults.Action | None:
        """What to do to the run about to do ``step`` (a run action: abort, fail, latency,
        hang), or ``None`` to do it as usual."""
        ...


class NoFaults:
    """Every server without ``--test-control``: nothing is failed or delayed on purpose."""

    def run_fault(self, tenant: str, step: faults.Step) -> faults.Action | None:
        return None


@dataclass(frozen=True)
class ExecutionContext:
    metadata: sa.Engine
    engine: base.QueryEngine
    results: storage.ResultStore
    #: the catalogue of each tenant (its features and custom fields: catalog/views.py)
    catalogs: views.Catalogs
    clock: clock_port.Clock
    tenant: Callable[[str], tenancy.Tenant | None]
    notifier: notifier_port.Notifier = field(default_factory=notifier_port.NullNotifier)
    faults: RunFaults = field(default_factory=NoFaults)

    @contextmanager
    def changing(self, tenant: str, run_id: str) -> Iterator[sa.Connection]:
        """A write transaction on a run; listeners hear of it once it is committed."""
        with self.metadata.begin() as conn:
            yield conn
        self.notifier.job_changed(tenant, run_id)

    def tenant_or_default(self, name: str) -> tenancy.Tenant:
        """The tenant's settings (Zuora's defaults for a tenant no longer configured)."""
        return self.tenant(name) or tenancy.Tenant(name=name, time_zone=tenancy.DEFAULT_TIME_ZONE)

    def catalog_of(self, tenant: tenancy.Tenant) -> model.Catalog:
        """The catalogue ``tenant`` sees (the one its jobs are checked and run against)."""
        return self.catalogs.of(tenant)

    def clock_of(self, tenant: str) -> clock_port.Clock:
        """The clock ``tenant``'s runs see (moved by test control: domain/tenant_clocks.py)."""
        return tenant_clocks.clock_for(self.clock, tenant)

    def now(self, tenant: str) -> dt.datetime:
        """``tenant``'s now: what its runs' stamps, windows and file expiries are taken from."""
        return self.clock_of(tenant).now()


class Temporaries:
    """The temporary paths a run writes its files to, to discard them all if it fails
    (published files have moved away: discarding them is a no-op)."""

    def __init__(self, ctx: ExecutionContext, tenant: str, run_id: str) -> None:
        self.ctx = ctx
        self.tenant = tenant
        self.run_id = run_id
        self.paths: list[Path] = []

    def new(self) -> tuple[str, Path]:
        """A new file id and the temporary path to write that file to."""
        file_id = ids.new_id()
        self.paths.append(self.ctx.results.temporary_path(self.tenant, self.run_id, file_id))
        return file_id, self.paths[-1]

    def discard(self) -> None:
        for path in self.paths:
            self.ctx.results.discard(path)
