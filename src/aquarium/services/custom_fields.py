"""A tenant's custom fields and feature switches: add, remove, list, switch.

Used by ``aquarium tenant add-field / remove-field / fields / set-invoice-settlement`` (directly,
or through the server that holds the data dir) and by the admin API
(``/aquarium/api/v1/custom-fields``, ``/aquarium/api/v1/tenant/features``).

A field is added in one metadata transaction that also holds the tenants writers' lock: the
tenant's fields are read, the new one is checked against Zuora's rules
(``catalog.views.check_new_field``) and stored, and the column is added to the tenant's billing
table (``BillingSchema.reconcile``: ``ALTER TABLE ... ADD COLUMN``, null for every existing row,
no rewrite of the data) before the transaction commits. Any refusal leaves nothing changed. A
tenant without billing data yet gets the column when its data is generated (the generator builds
the tenant's storage view) or at the next start (reconciliation). Removing a field drops its
column: its values are gone, as in Zuora.

Every change counts a tenants change, so every server and worker reloads the tenant and its
catalogue (``services/tenant_catalogs.py``); ``changed`` lets this process see it at once.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import sqlalchemy as sa

from aquarium.catalog import model, views
from aquarium.domain import clock as clock_port
from aquarium.domain import tenancy, tenancy_errors
from aquarium.store import custom_fields_repo, database, tenants_repo


class BillingSchema(Protocol):
    """The billing engine's schema changes (``DuckDbEngine``, ``PostgresEngine``)."""

    def reconcile(self, tenant: str, catalog: model.Catalog) -> list[str]: ...

    def drop_column(self, tenant: str, object_name: str, name: str) -> None: ...


def document(field: tenancy.CustomField) -> dict[str, Any]:
    """A custom field as the admin API and ``fields --json`` show it."""
    found: dict[str, Any] = {
        "object": field.object,
        "name": field.name,
        "type": field.type.value,
        "label": field.label,
    }
    if field.values:
        found["values"] = list(field.values)
    return found


class CustomFields:
    """Custom fields and feature switches of tenants (see the module docstring)."""

    def __init__(
        self,
        *,
        metadata: sa.Engine,
        shipped: model.Catalog,
        clock: clock_port.Clock,
        schema: BillingSchema | None = None,
        changed: Callable[[], object] = lambda: None,
    ) -> None:
        self.metadata = metadata
        self.shipped = shipped
        self.clock = clock
        self.schema = schema
        self.changed = changed

    # -- the admin API's callers --------------------------------------------------------------
    @staticmethod
    def admin_tenant(caller: tenancy.Principal) -> str:
        """The caller's tenant; :class:`tenancy_errors.AdminRequired` unless the caller is one
        of its administrators."""
        if not caller.admin:
            raise tenancy_errors.AdminRequired("custom fields and features are for administrators")
        return caller.tenant

    # -- reads ------------------------------------------------------------------------------
    def declared(
        self, tenant: str, object_name: str | None = None
    ) -> tuple[tenancy.CustomField, ...]:
        """The tenant's custom fields (of ``object_name`` only, in any case, when given), in
        order of declaration; a TenancyError for an unknown tenant or object."""
        with database.read_only(self.metadata) as conn:
            found = tenants_repo.required_tenant(conn, tenant)
        if object_name is None:
            return found.custom_fields
        obj = self.shipped.object(object_name)
        if obj is None:
            raise tenancy_errors.CustomFieldError(f"there is no object {object_name!r}")
        return tuple(f for f in found.custom_fields if f.object == obj.name)

    def features(self, tenant: str) -> dict[str, bool]:
        """The tenant's feature switches by wire name (``invoiceSettlement``)."""
        with database.read_only(self.metadata) as conn:
            found = tenants_repo.required_tenant(conn, tenant)
        return {"invoiceSettlement": found.invoice_settlement}

    # -- changes ----------------------------------------------------------------------------
    def add(
        self,
        tenant: str,
        object_name: str,
        name: str,
        field_type: str,
        *,
        label: str | None = None,
        values: Sequence[str] = (),
    ) -> tenancy.CustomField:
        """Declare a custom field and add its column (null for existing rows); the field.

        :class:`tenancy_errors.CustomFieldError` says what breaks Zuora's rules; nothing is
        changed then.
        """
        with self.metadata.begin() as conn:
            at = custom_fields_repo.lock(conn, tenant, self.clock.now())
            existing = custom_fields_repo.fields(conn, tenant).get(tenant, ())
            field = views.check_new_field(
                self.shipped,
                existing,
                object_name=object_name,
                name=name,
                field_type=field_type,
                label=label,
                values=values,
            )
            custom_fields_repo.insert(conn, tenant, field, at)
            if self.schema is not None:
                self.schema.reconcile(tenant, views.storage_view(self.shipped, (*existing, field)))
        self.changed()
        return field

    def remove(self, tenant: str, object_name: str, name: str) -> tenancy.CustomField:
        """Remove a custom field and drop its column (its values are gone); the field as it was.
        :class:`tenancy_errors.CustomFieldNotFound` when the object has no such custom field."""
        with self.metadata.begin() as conn:
            removed = custom_fields_repo.delete(conn, tenant, object_name, name, self.clock.now())
            if self.schema is not None:
                self.schema.drop_column(tenant, removed.object, removed.name)
        self.changed()
        return removed

    def add_document(self, tenant: str, body: object) -> dict[str, Any]:
        """The admin API's ``POST``: ``{object, name, type, label?, values?}``; the field."""
        if not isinstance(body, dict):
            raise tenancy_errors.CustomFieldError("the body must be a JSON object")
        unknown = sorted(set(body) - {"object", "name", "type", "label", "values"})
        if unknown:
            raise tenancy_errors.CustomFieldError(f"unknown members {', '.join(unknown)}")
        text = {
            key: _text(body, key, required=key != "label")
            for key in ("object", "name", "type", "label")
        }
        values = body.get("values") or []
        if not isinstance(values, list) or not all(isinstance(v, str) for v in values):
            raise tenancy_errors.CustomFieldError("values must be a list of strings")
        field = self.add(
            tenant,
            text["object"] or "",
            text["name"] or "",
            text["type"] or "",
            label=text["label"],
            values=values,
        )
        return document(field)

    def features_document(self, tenant: str, body: object) -> dict[str, bool]:
        """The admin API's ``PUT`` of features: ``{"invoiceSettlement": bool}``; all of them."""
        if not isinstance(body, dict) or set(body) - {"invoiceSettlement"}:
            raise tenancy_errors.CustomFieldError(
                'the body must be {"invoiceSettlement": true|false}'
            )
        enabled = body.get("invoiceSettlement")
        if enabled is None:
            return self.features(tenant)
        if not isinstance(enabled, bool):
            raise tenancy_errors.CustomFieldError("invoiceSettlement must be true or false")
        return self.set_invoice_settlement(tenant, enabled)

    def set_invoice_settlement(self, tenant: str, enabled: bool) -> dict[str, bool]:
        """Switch Invoice Settlement; the tenant's feature switches now."""
        with self.metadata.begin() as conn:
            custom_fields_repo.set_invoice_settlement(conn, tenant, enabled, at=self.clock.now())
        self.changed()
        return self.features(tenant)


def _text(body: dict[str, Any], key: str, *, required: bool) -> str | None:
    value = body.get(key)
    if value is None and not required:
        return None
    if not isinstance(value, str) or not value:
        raise tenancy_errors.CustomFieldError(f"{key} must be a non-empty string")
    return value


def reconcile_all(
    schema: BillingSchema,
    tenants: Sequence[tenancy.Tenant],
    shipped: model.Catalog,
    names: Sequence[str],
) -> dict[str, list[str]]:
    """Give every tenant with billing data (``names``) every table and column of its storage
    view (``engines/reconcile.py``); the statements run, by tenant (only tenants changed).

    A schema whose tenant is no longer configured gets the shipped tables and columns.
    """
    by_name = {tenant.name: tenant for tenant in tenants}
    changed: dict[str, list[str]] = {}
    for name in names:
        found = by_name.get(name)
        fields = found.custom_fields if found is not None else ()
        ran = schema.reconcile(name, views.storage_view(shipped, fields))
        if ran:
            changed[name] = ran
    return changed
