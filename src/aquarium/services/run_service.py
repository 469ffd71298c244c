"""What the use cases of every kind of run stand on: the stores, the runner, the clock, the
caller's tenant, and the result files a run published."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import sqlalchemy as sa

from aquarium.catalog import model, views
from aquarium.domain import clock as clock_port
from aquarium.domain import tenancy, tenant_clocks
from aquarium.runner import base as runner_base
from aquarium.storage import base as storage
from aquarium.store import database, files_repo

#: How long an ``Idempotency-Key`` names what it made: Zuora removes a key 24 hours after it is
#: set (developer.zuora.com, "Idempotent requests"); the key goes sooner with its run's purge.
IDEMPOTENCY_WINDOW = dt.timedelta(hours=24)
#: Zuora: "The value should be less than 255 characters long."
MAX_IDEMPOTENCY_KEY = 255


@dataclass(frozen=True)
class FileDownload:
    """A result file to send: where it is, its type, size and checksum, and (where the sender
    suggests one) a name to save it as."""

    path: Path
    content_type: str
    size: int
    sha256: str
    filename: str | None = None


@dataclass
class RunService:
    """The dependencies every kind's service shares (``AquaService``, ``ReportRunService``)."""

    metadata: sa.Engine
    catalogs: views.Catalogs
    runner: runner_base.JobRunner
    results: storage.ResultStore
    clock: clock_port.Clock
    tenant_of: Callable[[str], tenancy.Tenant | None]

    def _tenant(self, caller: tenancy.Principal) -> tenancy.Tenant:
        return tenancy.callers_tenant(caller, self.tenant_of)

    def now(self, tenant: str) -> dt.datetime:
        """``tenant``'s now (moved by test control: domain/tenant_clocks.py): its stamps,
        retention windows, file expiries and relative dates are taken from it."""
        return tenant_clocks.clock_for(self.clock, tenant).now()

    def catalog_for(self, caller: tenancy.Principal) -> model.Catalog:
        """The catalogue of the caller's tenant (describe, the Objects pages)."""
        return self.catalogs.of(self._tenant(caller))

    def _published(self, tenant: str, file_id: str) -> FileDownload | None:
        """The tenant's published file ``file_id``; None when it is unknown, another tenant's,
        expired, withdrawn or gone from the result store."""
        with database.read_only(self.metadata) as conn:
            record = files_repo.get_file(conn, tenant, file_id, now=self.now(tenant))
        path = self.results.local_path(record.path) if record is not None else None
        if record is None or path is None:
            return None
        return FileDownload(path, record.content_type, record.size, record.sha256)
