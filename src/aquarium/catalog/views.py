"""A tenant's view of the catalogue, and the rules for its custom fields.

Every tenant sees the shipped catalogue (:func:`aquarium.catalog.model.default`) through
:func:`tenant_view`, a pure function of the shipped catalogue, the tenant's features and its
custom fields:

- an object whose ``feature`` the tenant has off does not exist for it (describe does not list it,
  ZOQL calls it unknown, report data sources refuse it), and neither do the joins that reach it;
- the tenant's custom fields come after every standard field of their object (``Id`` first, the
  catalogue's fields, ``CreatedById`` ... ``UpdatedDate``, then ``Name__c`` fields in order of
  declaration), which is where Zuora's describe and ``select *`` show them;
- objects that a feature of the tenant replaces stay visible; :meth:`model.Catalog.read_only`
  says they are no longer written (the view knows the tenant's features).

The billing tables hold every object of the shipped catalogue and the tenant's custom-field
columns (:func:`storage_view`, the view with every feature on), so a feature switched on later
finds its tables, and switching it off again hides data without removing it.

:func:`check_new_field` holds Zuora's rules for a new custom field's name, type and object.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Sequence
from typing import Protocol

from aquarium.catalog import model
from aquarium.domain import tenancy, tenancy_errors

#: Zuora's suffix of a custom field's API name.
SUFFIX = "__c"
#: The longest API name, suffix included. The Zuora pages we have state no limit; 63 is
#: PostgreSQL's identifier limit, so the column is named exactly like the field on every engine.
MAX_NAME = 63
NAME_PATTERN = re.compile(r"[A-Za-z][A-Za-z0-9_]*__c")
#: The objects on which Zuora lets a tenant define custom fields ("Objects that support custom
#: fields in Zuora", docs.zuora.com ... /custom-fields/objects-that-support-custom-fields-in-zuora),
#: by object name: objects not (yet) in the catalogue are refused as unknown first.
CUSTOM_FIELD_OBJECTS: frozenset[str] = frozenset(
    {
        # Orders
        "Order",
        "OrderAction",
        "OrderLineItem",
        # Billing
        "Account",
        "Amendment",
        "Contact",
        "Subscription",
        "Product",
        "ProductRatePlan",
        "ProductRatePlanCharge",
        "RatePlan",
        "RatePlanCharge",
        "InvoiceItemAdjustment",
        "InvoiceAdjustment",
        "Invoice",
        "InvoiceItem",
        "CreditMemo",
        "DebitMemo",
        "CreditMemoItem",
        "DebitMemoItem",
        "TaxationItem",
        "CreditTaxationItem",
        "DebitTaxationItem",
        "Usage",
        # Payments
        "Refund",
        "Payment",
        "PaymentMethod",
        "CreditBalanceAdjustment",
        "PaymentSchedule",
        "PaymentScheduleItem",
        # Finance
        "AccountingPeriod",
        "AccountingCode",
        "RevenueSchedule",
        "RevenueEvent",
        "JournalEntry",
    }
)
#: How each custom field type is held (``number`` is Zuora's decimal Number type).
FIELD_TYPES: dict[tenancy.CustomFieldType, model.FieldType] = {
    tenancy.CustomFieldType.TEXT: model.FieldType.TEXT,
    tenancy.CustomFieldType.PICKLIST: model.FieldType.PICKLIST,
    tenancy.CustomFieldType.NUMBER: model.FieldType.DECIMAL,
    tenancy.CustomFieldType.DATE: model.FieldType.DATE,
    tenancy.CustomFieldType.DATETIME: model.FieldType.DATETIME,
    tenancy.CustomFieldType.BOOLEAN: model.FieldType.BOOLEAN,
}
MAX_LABEL = 255
MAX_VALUE = 255  # characters of one picklist value


class Catalogs(Protocol):
    """Where a use case gets the catalogue of the tenant it acts for (the port; the caching
    adapter is ``services/tenant_catalogs.TenantCatalogs``)."""

    def of(self, tenant: tenancy.Tenant) -> model.Catalog:
        """The catalogue ``tenant`` sees (:func:`for_tenant`)."""
        ...  # pragma: no cover - a protocol

    @property
    def shipped(self) -> model.Catalog:
        """The catalogue that ships (every object, no custom fields)."""
        ...  # pragma: no cover - a protocol


def catalog_field(custom: tenancy.CustomField) -> model.Field:
    """The catalogue field of a custom field (exportable, never required)."""
    return model.Field(
        name=custom.name,
        label=custom.label,
        type=FIELD_TYPES[custom.type],
        options=custom.values,
        custom=True,
    )


def tenant_view(
    shipped: model.Catalog,
    *,
    features: frozenset[str] | None,
    fields: Sequence[tenancy.CustomField] = (),
) -> model.Catalog:
    """The catalogue a tenant sees (module docstring); ``features`` ``None``: every feature on.

    Custom fields of objects the view lacks are left out (a hidden object, or one a later release
    no longer ships); the view is checked like a shipped catalogue (its joins resolve).
    """
    visible = {
        key: obj
        for key, obj in shipped.objects.items()
        if obj.feature is None or features is None or obj.feature in features
    }
    by_object: dict[str, list[model.Field]] = {}
    for custom in fields:
        by_object.setdefault(custom.object.lower(), []).append(catalog_field(custom))
    objects = {key: _with(obj, by_object.get(key, ()), visible) for key, obj in visible.items()}
    return model.Catalog(objects=objects, features=_all_features(shipped, features))


def storage_view(
    shipped: model.Catalog, fields: Sequence[tenancy.CustomField] = ()
) -> model.Catalog:
    """What a tenant's billing schema holds: every object, with the tenant's custom fields."""
    return tenant_view(shipped, features=None, fields=fields)


def for_tenant(shipped: model.Catalog, tenant: tenancy.Tenant) -> model.Catalog:
    """:func:`tenant_view` of ``tenant`` (its features and custom fields)."""
    return tenant_view(shipped, features=tenant.features, fields=tenant.custom_fields)


def _all_features(shipped: model.Catalog, features: frozenset[str] | None) -> frozenset[str]:
    if features is not None:
        return features
    return frozenset(obj.feature for obj in shipped if obj.feature is not None)


def _with(
    obj: model.ObjectDef, extra: Iterable[model.Field], visible: dict[str, model.ObjectDef]
) -> model.ObjectDef:
    added = [f for f in extra if obj.field(f.name) is None]
    related = _reachable(obj, visible)
    if not added and len(related) == len(obj.related):
        return obj
    fields = (*obj.fields, *added)
    return dataclasses.replace(
        obj,
        fields=fields,
        related=related,
        _fields_by_key={f.name.lower(): f for f in fields},
        _related_by_key={r.name.lower(): r for r in related},
    )


def _reachable(
    obj: model.ObjectDef, visible: dict[str, model.ObjectDef]
) -> tuple[model.Relation, ...]:
    """The joins of ``obj`` whose target (and every hop before it) the view keeps."""
    kept: list[model.Relation] = []
    names = {obj.name}
    for relation in obj.related:
        if relation.object.lower() in visible and relation.via in names:
            kept.append(relation)
            names.add(relation.name)
    return tuple(kept)


# -- rules for a new custom field ---------------------------------------------------------------


def check_new_field(
    shipped: model.Catalog,
    existing: Sequence[tenancy.CustomField],
    *,
    object_name: str,
    name: str,
    field_type: str,
    label: str | None = None,
    values: Sequence[str] = (),
) -> tenancy.CustomField:
    """The custom field to add, spelt as the catalogue spells its object; a
    :class:`tenancy_errors.CustomFieldError` saying exactly what is wrong otherwise.

    Zuora's rules: the API name ends in ``__c``, starts with a letter, holds letters, digits and
    ``_`` only, is at most :data:`MAX_NAME` characters, differs (in any letter case) from every
    field of the object, standard or custom; the object is one Zuora allows custom fields on; a
    picklist has at least one value, values unique in any case (Zuora's rule too) and non-empty;
    only a picklist takes values.
    """
    obj = shipped.object(object_name)
    if obj is None:
        raise tenancy_errors.CustomFieldError(f"there is no object {object_name!r}")
    if obj.name not in CUSTOM_FIELD_OBJECTS:
        raise tenancy_errors.CustomFieldError(
            f"{obj.name} takes no custom fields; Zuora allows them on "
            f"{', '.join(sorted(n for n in CUSTOM_FIELD_OBJECTS if shipped.object(n)))}"
        )
    _check_name(name)
    if obj.field(name) is not None:
        raise tenancy_errors.CustomFieldError(f"{obj.name} already has a standard field {name!r}")
    taken = next(
        (
            f
            for f in existing
            if f.object.lower() == obj.name.lower() and f.name.lower() == name.lower()
        ),
        None,
    )
    if taken is not None:
        raise tenancy_errors.CustomFieldError(
            f"{obj.name} already has a custom field {taken.name!r}"
        )
    kind = _type(field_type)
    return tenancy.CustomField(
        object=obj.name,
        name=name,
        type=kind,
        label=_label(label, name),
        values=_values(kind, values),
    )


def _check_name(name: str) -> None:
    if not name.endswith(SUFFIX):
        raise tenancy_errors.CustomFieldError(f"the name {name!r} must end in {SUFFIX!r}")
    if len(name) > MAX_NAME:
        raise tenancy_errors.CustomFieldError(
            f"the name {name!r} is {len(name)} characters; at most {MAX_NAME} are allowed"
        )
    if len(name) == len(SUFFIX) or not name[0].isascii() or not name[0].isalpha():
        raise tenancy_errors.CustomFieldError(f"the name {name!r} must start with a letter")
    if NAME_PATTERN.fullmatch(name) is None:
        raise tenancy_errors.CustomFieldError(
            f"the name {name!r} may hold letters, digits and '_' only (no spaces)"
        )


def _type(field_type: str) -> tenancy.CustomFieldType:
    try:
        return tenancy.CustomFieldType(field_type.lower())
    except ValueError:
        known = ", ".join(t.value for t in tenancy.CustomFieldType)
        raise tenancy_errors.CustomFieldError(
            f"unknown type {field_type!r}; use one of {known}"
        ) from None


def _label(label: str | None, name: str) -> str:
    if label is None or not label.strip():
        return name.removesuffix(SUFFIX).replace("_", " ")
    if len(label) > MAX_LABEL:
        raise tenancy_errors.CustomFieldError(f"the label is longer than {MAX_LABEL} characters")
    return label.strip()


def _values(kind: tenancy.CustomFieldType, values: Sequence[str]) -> tuple[str, ...]:
    if kind is not tenancy.CustomFieldType.PICKLIST:
        if values:
            raise tenancy_errors.CustomFieldError(
                f"only a picklist takes values, not a {kind.value}"
            )
        return ()
    cleaned = tuple(value.strip() for value in values)
    if not cleaned:
        raise tenancy_errors.CustomFieldError("a picklist needs its values (--values a,b,c)")
    if any(not value for value in cleaned):
        raise tenancy_errors.CustomFieldError("a picklist value may not be empty")
    if any(len(value) > MAX_VALUE for value in cleaned):
        raise tenancy_errors.CustomFieldError(
            f"a picklist value is longer than {MAX_VALUE} characters"
        )
    seen: set[str] = set()
    for value in cleaned:
        if value.lower() in seen:
            raise tenancy_errors.CustomFieldError(
                f"the picklist value {value!r} is given twice (values are unique in any case)"
            )
        seen.add(value.lower())
    return cleaned
