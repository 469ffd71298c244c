"""A tenant's limits as they apply to each kind of run: how many execute at once, how long
finished runs are kept."""

from __future__ import annotations

from collections.abc import Callable

from aquarium.domain import runs, tenancy

UNLIMITED = 1 << 30  # an admission limit nothing reaches


def executing_limit(tenant: tenancy.Tenant | None, kind: runs.Kind) -> int:
    """How many runs of ``kind`` the tenant may have executing at once.

    Report runs: the tenant's ``max_report_runs`` (the rest wait in STARTED); Data Query jobs:
    ``max_data_queries`` (the rest wait in accepted). AQuA jobs are
    bounded at submit instead (Zuora's concurrent-job limits, 90028), so any submitted job may
    start when a worker is free.
    """
    limits = tenant.limits if tenant else tenancy.Limits()
    if kind is runs.Kind.REPORT:
        return limits.max_report_runs
    if kind is runs.Kind.DATAQUERY:
        return limits.max_data_queries
    return UNLIMITED


def executing_limits(
    tenant_of: Callable[[str], tenancy.Tenant | None],
) -> Callable[[str, runs.Kind], int]:
    """:func:`executing_limit` of tenants named, as a claim takes its limit (the tenant's
    settings looked up at each call, so a changed limit applies to the next claim)."""
    return lambda tenant, kind: executing_limit(tenant_of(tenant), kind)


def retention_s(limits: tenancy.Limits, kind: runs.Kind) -> int:
    """Seconds a finished run of ``kind`` is kept (its result files: ``file_retention_s``)."""
    if kind is runs.Kind.REPORT:
        return limits.report_run_retention_s
    if kind is runs.Kind.DATAQUERY:
        return limits.data_query_retention_s
    return limits.job_retention_s
