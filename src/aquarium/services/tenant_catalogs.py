"""The catalogue each tenant sees, built once per change and shared by every use case.

A tenant's catalogue is :func:`aquarium.catalog.views.for_tenant` of the shipped catalogue and
the tenant's settings (its Invoice Settlement switch and custom fields). Those settings are part
of :class:`~aquarium.domain.tenancy.Tenant`, which every process reads from the metadata store
and reloads when the tenants generation moves (``services.tenant_directory``: a change made by any
node, worker or CLI is seen within a fraction of a second). So the "catalogue version" of a
tenant is simply its settings: :meth:`TenantCatalogs.of` compares them with those of the view it
built last (a tuple comparison, no query), and builds a new view only when they differ.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from aquarium.catalog import model, views
from aquarium.domain import tenancy

_Key = tuple[bool, tuple[tenancy.CustomField, ...]]


def _key(tenant: tenancy.Tenant) -> _Key:
    return (tenant.invoice_settlement, tenant.custom_fields)


class TenantCatalogs:
    """Tenants' catalogues, cached per tenant until its settings change."""

    def __init__(
        self,
        shipped: model.Catalog,
        tenant_of: Callable[[str], tenancy.Tenant | None] = lambda name: None,
    ) -> None:
        self._shipped = shipped
        self._tenant_of = tenant_of
        self._views: dict[str, tuple[_Key, model.Catalog]] = {}
        self._lock = threading.Lock()

    @property
    def shipped(self) -> model.Catalog:
        return self._shipped

    def of(self, tenant: tenancy.Tenant) -> model.Catalog:
        """The catalogue ``tenant`` sees now."""
        key = _key(tenant)
        found = self._views.get(tenant.name)
        if found is not None and found[0] == key:
            return found[1]
        built = views.for_tenant(self._shipped, tenant)
        with self._lock:
            self._views[tenant.name] = (key, built)
        return built

    def named(self, name: str) -> model.Catalog:
        """The catalogue of the tenant called ``name``; a tenant no longer configured sees the
        default one (Invoice Settlement on, no custom fields)."""
        found = self._tenant_of(name)
        return self.of(found or tenancy.Tenant(name, tenancy.DEFAULT_TIME_ZONE))
