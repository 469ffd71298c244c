"""What routes get from the application: services and the authenticated principal."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import Request

from aquarium.domain import clock as clock_port
from aquarium.domain import errors, tenancy
from aquarium.services import (
    aqua,
    auth,
    clock_control,
    control,
    custom_fields,
    data_queries,
    job_events,
    job_finder,
    local_ops,
    objects,
    report_runs,
    reports,
    tenant_snapshots,
)
from aquarium.settings import Settings


def _utc() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class AppServices:
    """Everything the routers use, built once by :mod:`aquarium.server`."""

    settings: Settings
    aqua: aqua.AquaService
    #: the current authenticator (rebuilt when the tenants file changes)
    authenticators: Callable[[], auth.Authenticator]
    clock: clock_port.Clock
    ready: bool = False
    #: object CRUD (``/v1/object/...``); ``None`` where the server writes no billing data
    objects: objects.ObjectService | None = None
    #: Reporting API report definitions (``/api/rest/v1/reports...``)
    reports: reports.ReportService | None = None
    #: Reporting API report runs (``/api/rest/v1/reportruns...``)
    report_runs: report_runs.ReportRunService | None = None
    #: Data Query jobs (``/query/jobs...``)
    data_queries: data_queries.DataQueryService | None = None
    #: Aquarium's own job API (``/aquarium/api/v1/jobs``)
    finder: job_finder.JobFinder | None = None
    #: live job events (``/aquarium/api/v1/events``); told of every committed job change
    events: job_events.JobEvents = field(default_factory=lambda: job_events.JobEvents(_utc))
    #: the CLI's data commands run here (``/aquarium/api/v1/local``); ``None``: not taken
    local: local_ops.LocalOperations | None = None
    #: tenants' custom fields and feature switches (``/aquarium/api/v1/custom-fields``)
    custom_fields: custom_fields.CustomFields | None = None
    #: the test-control API's state (``--test-control``); ``None``: switched off, and then the
    #: control routes and the recording middleware are not even installed
    control: control.ControlService | None = None
    #: test control's per-tenant clock (``/aquarium/api/v1/control/clock``); ``None``: off
    clock_control: clock_control.ClockControl | None = None
    #: test control's tenant snapshots (``/aquarium/api/v1/control/snapshots``); ``None``: off
    snapshots: tenant_snapshots.TenantSnapshots | None = None


def services(request: Request) -> AppServices:
    found: AppServices = request.app.state.services
    return found


def principal(request: Request) -> tenancy.Principal:
    """The caller, from Basic, ``apiAccessKeyId``/``apiSecretAccessKey`` or Bearer; else 401."""
    app_services = services(request)
    headers = request.headers
    found = app_services.authenticators().from_authorization(
        headers.get("authorization"),
        headers.get("apiaccesskeyid"),
        headers.get("apisecretaccesskey"),
        now=app_services.clock.now(),
    )
    if found is None:
        raise errors.NotAuthenticated()
    return found
