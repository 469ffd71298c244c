"""Zuora's object CRUD use cases (``/v1/object/{object}``) over the billing write path.

Routers call one method with the authenticated principal and get Zuora's success document, or a
:class:`crud_errors.WriteError` whose ``problems`` become Zuora's ``Errors`` list.

Request values are JSON and are checked against the catalogue field by field (every problem is
reported, not just the first): text must be a string; a picklist value one of the field's options
(matched in any case, stored in the catalogue's spelling); decimals JSON numbers or numeric
strings (at most 4 decimal places); integers whole numbers; booleans ``true``/``false`` (or those
strings); dates ``YYYY-MM-DD``; datetimes ISO 8601, read in the tenant's time zone when they carry
no offset. ``null`` clears a field. Reference fields must name a live row (checked by the write
path inside its transaction). Writing ``Id``, ``CreatedDate`` and the other system fields is
refused; a PUT may repeat the row's own ``Id``.

A GET answers the row's fields by API name with nulls left out, dates as ``YYYY-MM-DD`` and
datetimes as ISO 8601 with milliseconds in the tenant's time zone, as Zuora's CRUD GET does.
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import zoneinfo
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aquarium.catalog import model
from aquarium.domain import crud_errors, errors, tenancy
from aquarium.engines import billing_writes

#: Fields Zuora's CRUD create calls insist on, for the objects where we reproduce that (others:
#: none). Source: Zuora API reference, "CRUD: Create an account / contact / payment method ...".
REQUIRED_ON_CREATE: Mapping[str, tuple[str, ...]] = {
    "Account": ("Name", "Currency", "BillCycleDay"),
    "Contact": ("AccountId", "FirstName", "LastName"),
    "PaymentMethod": ("AccountId", "Type"),
    "Product": ("Name", "EffectiveStartDate", "EffectiveEndDate"),
    "ProductRatePlan": ("ProductId", "Name"),
    "Subscription": ("AccountId", "ContractEffectiveDate"),
    "Amendment": ("SubscriptionId", "Name", "Type"),
    "Invoice": ("AccountId", "InvoiceDate"),
    "InvoiceItem": ("InvoiceId",),
    "Payment": ("AccountId", "Amount", "EffectiveDate", "Type"),
    "InvoicePayment": ("InvoiceId", "PaymentId", "Amount"),
    "Refund": ("AccountId", "Amount", "Type"),
    "Usage": ("AccountId", "Quantity", "StartDateTime", "UOM"),
}
DECIMAL_PLACES = 4
MAX_DECIMAL = decimal.Decimal(10) ** 14  # DECIMAL(18, 4) holds 14 digits before the point
INT64_RANGE = (-(2**63), 2**63 - 1)
_BOOLEANS = {"true": True, "false": False}


class _Refused(Exception):
    """One value that does not fit its field; the message says why."""


def _text(field: model.Field, value: object, tz: dt.tzinfo) -> object:
    if not isinstance(value, str):
        raise _Refused("expected a string")
    return value


def _picklist(field: model.Field, value: object, tz: dt.tzinfo) -> object:
    if isinstance(value, str):
        for option in field.options:
            if option.lower() == value.lower():
                return option
    raise _Refused(f"expected one of {', '.join(field.options)}")


def _decimal(field: model.Field, value: object, tz: dt.tzinfo) -> object:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise _Refused("expected a number")
    if isinstance(value, float) and not math.isfinite(value):
        raise _Refused("expected a finite number")
    try:
        number = decimal.Decimal(str(value).strip())
    except decimal.InvalidOperation:
        raise _Refused("expected a number") from None
    if not number.is_finite() or abs(number) >= MAX_DECIMAL:
        raise _Refused("the number is out of range")
    exponent = number.as_tuple().exponent
    if isinstance(exponent, int) and exponent < -DECIMAL_PLACES:
        raise _Refused(f"at most {DECIMAL_PLACES} decimal places are allowed")
    return number


def _integer(field: model.Field, value: object, tz: dt.tzinfo) -> object:
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise _Refused("expected a whole number")
    if not INT64_RANGE[0] <= value <= INT64_RANGE[1]:
        raise _Refused("the number is out of range")
    return value


def _boolean(field: model.Field, value: object, tz: dt.tzinfo) -> object:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in _BOOLEANS:
        return _BOOLEANS[value.lower()]
    raise _Refused("expected true or false")


def _date(field: model.Field, value: object, tz: dt.tzinfo) -> object:
    if isinstance(value, str) and len(value) == 10:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            pass
    raise _Refused("expected a date as YYYY-MM-DD")


def _datetime(field: model.Field, value: object, tz: dt.tzinfo) -> object:
    if isinstance(value, str):
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            aware = parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=tz)
            try:
                aware.astimezone(dt.UTC)  # stored in UTC: it must exist there
            except OverflowError:
                raise _Refused("the date-time falls outside years 1-9999 in UTC") from None
            return aware
    raise _Refused("expected an ISO 8601 date-time, e.g. 2026-01-31T12:00:00-08:00")


Coerce = Callable[[model.Field, object, dt.tzinfo], object]
COERCE: Mapping[model.FieldType, Coerce] = {
    model.FieldType.TEXT: _text,
    model.FieldType.PICKLIST: _picklist,
    model.FieldType.DECIMAL: _decimal,
    model.FieldType.INTEGER: _integer,
    model.FieldType.BOOLEAN: _boolean,
    model.FieldType.DATE: _date,
    model.FieldType.DATETIME: _datetime,
}


def _shown(value: object) -> str:
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _wire_value(value: object, tz: dt.tzinfo) -> object:
    if isinstance(value, dt.datetime):
        return value.astimezone(tz).isoformat(timespec="milliseconds")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


_ERROR_KINDS: Mapping[str, type[crud_errors.WriteError]] = {
    "INVALID_FIELD": crud_errors.InvalidField,
    "MISSING_REQUIRED_VALUE": crud_errors.MissingRequiredValue,
}


def _check_field(
    obj: model.ObjectDef, field: model.Field | None, name: str, raw: object, row_id: str | None
) -> crud_errors.WriteProblem | None:
    """Why ``name`` may not be written at all (unknown or system field), or ``None``."""
    if field is None:
        return crud_errors.WriteProblem(
            "INVALID_FIELD", f"Invalid field '{name}' for object {obj.name}"
        )
    if field.name not in billing_writes.SYSTEM_FIELDS:
        return None
    if field.name == "Id" and row_id is not None and raw == row_id:
        return None  # a PUT repeating the row's own id changes nothing
    return crud_errors.WriteProblem(
        "INVALID_FIELD", f"Field '{field.name}' of {obj.name} is read-only"
    )


def _missing(obj: model.ObjectDef, body: Mapping[str, object]) -> list[crud_errors.WriteProblem]:
    """A problem for each field a create must give that ``body`` leaves out or nulls."""
    offered = set()
    for name, raw in body.items():
        field = obj.field(name)
        if field is not None and raw is not None:
            offered.add(field.name)
    return [
        crud_errors.WriteProblem("MISSING_REQUIRED_VALUE", f"Missing required value: {name}")
        for name in REQUIRED_ON_CREATE.get(obj.name, ())
        if name not in offered
    ]


@dataclass
class ObjectService:
    """CRUD over the catalogue objects of the caller's tenant."""

    writes: billing_writes.BillingWrites
    tenant_of: Callable[[str], tenancy.Tenant | None]

    def _zone(self, principal: tenancy.Principal) -> dt.tzinfo:
        tenant = self.tenant_of(principal.tenant)
        if tenant is None:
            raise errors.NotAuthenticated("the tenant no longer exists")
        try:
            return zoneinfo.ZoneInfo(tenant.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            return dt.UTC

    def _values(
        self,
        obj: model.ObjectDef,
        body: object,
        tz: dt.tzinfo,
        *,
        creating: bool,
        row_id: str | None = None,
    ) -> dict[str, Any]:
        if not isinstance(body, dict):
            raise crud_errors.InvalidValue("The request body must be a JSON object")
        values: dict[str, Any] = {}
        problems: list[crud_errors.WriteProblem] = []
        for name, raw in body.items():
            field = obj.field(name)
            problem = _check_field(obj, field, name, raw, row_id)
            if problem is not None:
                problems.append(problem)
            elif field is not None and field.name not in billing_writes.SYSTEM_FIELDS:
                try:
                    values[field.name] = None if raw is None else COERCE[field.type](field, raw, tz)
                except _Refused as why:
                    message = f"Invalid value '{_shown(raw)}' for field {field.name}: {why}"
                    problems.append(crud_errors.WriteProblem("INVALID_VALUE", message))
        if creating:
            problems += _missing(obj, body)
        if problems:
            kind = _ERROR_KINDS.get(problems[0].code, crud_errors.InvalidValue)
            raise kind(problems[0].message, problems=problems)
        return values

    def _object(
        self, principal: tenancy.Principal, object_name: str, *, writing: bool
    ) -> model.ObjectDef:
        """The object of the caller's catalogue (its features, its custom fields);
        :class:`crud_errors.LegacyObject` for a write of an object a feature of the tenant
        replaced."""
        catalog = self.writes.catalog_for(principal.tenant)
        obj = self.writes.object(object_name, principal.tenant)
        if writing and catalog.read_only(obj):
            raise crud_errors.LegacyObject(
                f"{obj.name} is read-only while {obj.deprecated_by} is on: it is still exported, "
                f"but no longer created, updated or deleted"
            )
        return obj

    def create(
        self, principal: tenancy.Principal, object_name: str, body: object
    ) -> dict[str, Any]:
        """``POST /v1/object/{object}``: ``{"Success": true, "Id": ...}``."""
        obj = self._object(principal, object_name, writing=True)
        values = self._values(obj, body, self._zone(principal), creating=True)
        new_id = self.writes.create(principal.tenant, obj.name, values, actor=principal.name)
        return {"Success": True, "Id": new_id}

    def get(self, principal: tenancy.Principal, object_name: str, row_id: str) -> dict[str, Any]:
        """``GET /v1/object/{object}/{id}``: the live row's non-null fields by API name."""
        obj = self._object(principal, object_name, writing=False)
        tz = self._zone(principal)
        row = self.writes.get(principal.tenant, obj.name, row_id)
        if row is None:
            raise crud_errors.RowNotFound(f"There is no {obj.name} with id '{row_id}'")
        return {name: _wire_value(value, tz) for name, value in row.items() if value is not None}

    def update(
        self, principal: tenancy.Principal, object_name: str, row_id: str, body: object
    ) -> dict[str, Any]:
        """``PUT /v1/object/{object}/{id}``: ``{"Success": true, "Id": ...}``."""
        obj = self._object(principal, object_name, writing=True)
        values = self._values(obj, body, self._zone(principal), creating=False, row_id=row_id)
        self.writes.update(principal.tenant, obj.name, row_id, values, actor=principal.name)
        return {"Success": True, "Id": row_id}

    def delete(self, principal: tenancy.Principal, object_name: str, row_id: str) -> dict[str, Any]:
        """``DELETE /v1/object/{object}/{id}``: ``{"success": true, "id": ...}`` (lower case, as
        Zuora answers a CRUD delete)."""
        obj = self._object(principal, object_name, writing=True)
        self._zone(principal)
        self.writes.delete(principal.tenant, obj.name, row_id, actor=principal.name)
        return {"success": True, "id": row_id}
