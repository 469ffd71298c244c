"""Reporting API report definitions: create/save, update, get, search, list, copy, delete.

Wire choices where reference/reporting.md section 5 is silent (IMPL):

- Timestamps (``createdOn``/``updatedOn``) are ISO ``2018-04-13T01:52:10+0000`` in UTC, the most
  recent documented form; ``createdBy``/``updatedBy``/``userId`` are a stable 32-hex id derived
  from the tenant and user name; ``creator``/``updater`` are the user names.
- ``definition`` is accepted as the documented JSON string (or as a JSON object) and always
  answered as a string. ``viewType`` (``Detail``/``Summary``) may be sent; otherwise it is
  ``Summary`` when the definition has row, column or value fields, else ``Detail``.
- ``GET /reports`` (My Reports) answers ``{"reports": [...], "count": n}`` like search: the
  caller's own reports that carry no label or the tenant's ``My Reports`` label (a report with no
  label is in its creator's My Reports, as a copy without ``labelIds`` is [COPY]).
- ``labelIds`` (create/save body, copy's comma-separated query parameter) must name existing
  labels of the tenant, else ``Cannot find any matching label(s) for id(s) provided in request.``
  (HTTP 400) and nothing is saved. A save without ``labelIds`` keeps the report's labels; with
  ``[]`` it clears them. A copy does not inherit the source's labels. Labels themselves are
  services/report_labels.py.
- A ``labelIds`` that is not an array is unreadable JSON as Jackson words it (HTTP 500
  ``ZAN-REST-ERROR``, ``Could not read JSON: Can not deserialize instance of
  java.util.ArrayList out of VALUE_STRING token`` [LABEL]).
- Delete: only the report's creator or a tenant administrator; anyone else gets HTTP 403
  ``ZAN-USAGE-REST-ERROR`` ``Only the creator of the report or an administrator can delete it.``
  ([FOLD] says only the creator may move or delete; administrators are Aquarium's addition.)
- Unknown (or another tenant's) reports are HTTP 404; validation errors HTTP 400
  (``ZAN-USAGE-REST-ERROR``); unreadable JSON HTTP 500 (``ZAN-REST-ERROR``) as documented.
- Search: every word of 3+ letters must occur (any case) in the name, data source name or label,
  or description; 50 results from ``searchStart``; ``orderBy`` as documented (default name).
- An unknown field in the definition: ``The field {id} is not a valid field of the datasource.``
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import sqlalchemy as sa

from aquarium.catalog import model
from aquarium.domain import clock as clock_port
from aquarium.domain import errors, ids, reporting_errors, tenancy
from aquarium.services import json_input, tenant_catalogs
from aquarium.store import labels_repo, reports_repo
from aquarium.zoql import check, report_plan

SEARCH_PAGE = 50
MIN_WORD = 3
MAX_NAME_CHARS = 255  # a report name (the column holds no more; PostgreSQL enforces it)
VIEW_TYPES = ("Detail", "Summary")
NAMESPACES = ("BASIC", "ADVANCED")
#: An integer as a parameter's text: at most 18 ASCII digits, so it fits 64 bits (int() also
#: takes blanks, "_" and other scripts' digits, which Jackson and Spring refuse, and raises past
#: 4,300 digits).
DECIMAL = re.compile(r"-?[0-9]{1,18}")
SUMMARY_LISTS = report_plan.SUMMARY_LISTS
INVALID_DATASOURCE = "The datasource name is not a valid datasource."
NO_LABELS = "Cannot find any matching label(s) for id(s) provided in request."
DELETED = "The report has been successfully deleted."
NOT_CREATOR = "Only the creator of the report or an administrator can delete it."
#: Jackson's name for the first token of a JSON value, by its Python type
JSON_TOKENS: Mapping[type, str] = {
    str: "VALUE_STRING",
    int: "VALUE_NUMBER_INT",
    float: "VALUE_NUMBER_FLOAT",
    dict: "START_OBJECT",
    list: "START_ARRAY",
    type(None): "VALUE_NULL",
}


def not_found(report_id: str, *, prefix: bool = True) -> reporting_errors.ReportNotFound:
    """Zuora's two wordings of an unknown report: [DEL][COPY] and, without prefix, [BYID]."""
    if prefix:
        return reporting_errors.ReportNotFound(
            f"An error occurred. The report with ID {report_id} does not exist."
        )
    return reporting_errors.ReportNotFound(f"The report with id {report_id} does not exist.")


def user_id(tenant: str, user: str) -> str:
    """The stable 32-hex id of ``user`` of ``tenant`` (``createdBy``, ``userId``...)."""
    return hashlib.md5(f"{tenant}/{user}".encode(), usedforsecurity=False).hexdigest()


def timestamp(value: dt.datetime) -> str:
    """``2018-04-13T01:52:10+0000``: the most recent documented form (reference 3.4)."""
    return value.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S+0000")


class ReportService:
    """Report definitions of each tenant, over the metadata store and the catalogue."""

    def __init__(
        self,
        *,
        metadata: sa.Engine,
        catalogs: tenant_catalogs.TenantCatalogs,
        clock: clock_port.Clock,
    ) -> None:
        self.metadata = metadata
        #: each tenant's catalogue: its data sources and their fields (custom ones included)
        self.catalogs = catalogs
        self.clock = clock

    # -- wire form -------------------------------------------------------------------------

    def document(self, record: reports_repo.ReportRecord) -> dict[str, Any]:
        source = self.catalogs.shipped.object(record.ds_name)
        creator = user_id(record.tenant, record.created_by)
        found: dict[str, Any] = {
            "createdBy": creator,
            "updatedBy": user_id(record.tenant, record.updated_by),
            "createdOn": timestamp(record.created_at),
            "updatedOn": timestamp(record.updated_at),
            "id": record.id,
            "deleted": False,
            "name": record.name,
            "number": f"REP{record.number:07d}",
            "type": "Common",
            "datasource": source.label if source else record.ds_name,
            "dsName": record.ds_name,
            "namespace": record.namespace,
            "description": record.description,
            "definition": record.definition,
            "viewType": record.view_type,
            "version": record.version,
            "userId": creator,
            "creator": record.created_by,
            "updater": record.updated_by,
            "labelIds": list(record.label_ids),
            "favorite": False,
            "shared": False,
            "zuora": False,
            "hidden": False,
        }
        if record.prototype_id is not None:
            found["prototypeId"] = record.prototype_id
        return found

    # -- operations ------------------------------------------------------------------------

    def create(
        self, caller: tenancy.Principal, payload: object, namespace: str | None = None
    ) -> dict[str, Any]:
        fields = self._validated(payload, namespace, self.catalogs.named(caller.tenant))
        label_ids = fields.pop("label_ids") or ()
        now = self.clock.now()
        with self.metadata.begin() as conn:
            self.check_labels(conn, caller.tenant, label_ids)
            record = reports_repo.ReportRecord(
                id=ids.new_id(),
                tenant=caller.tenant,
                number=reports_repo.next_number(conn, caller.tenant),
                prototype_id=None,
                version=1,
                created_by=caller.name,
                updated_by=caller.name,
                created_at=now,
                updated_at=now,
                label_ids=label_ids,
                **fields,
            )
            reports_repo.insert(conn, record)
        return self.document(record)

    def update(self, caller: tenancy.Principal, report_id: str, payload: object) -> dict[str, Any]:
        """Overwrite the whole definition (reference 5.4); labels only when ``labelIds`` is sent."""
        with self.metadata.begin() as conn:
            found = self._require(conn, caller, report_id)
            catalog = self.catalogs.named(caller.tenant)
            fields = self._validated(payload, found.namespace, catalog)
            label_ids = fields.pop("label_ids")
            if label_ids is None:
                label_ids = found.label_ids
            else:
                self.check_labels(conn, caller.tenant, label_ids)
            record = dataclasses.replace(
                found,
                version=found.version + 1,
                updated_by=caller.name,
                updated_at=self.clock.now(),
                label_ids=label_ids,
                **fields,
            )
            reports_repo.update(conn, record)
        return self.document(record)

    def get(self, caller: tenancy.Principal, report_id: str) -> dict[str, Any]:
        with self.metadata.connect() as conn:
            found = reports_repo.get(conn, caller.tenant, report_id)
        if found is None:
            raise not_found(report_id, prefix=False)
        return self.document(found)

    def search(
        self,
        caller: tenancy.Principal,
        query: str | None,
        search_start: str | None = None,
        order_by: str | None = None,
    ) -> dict[str, Any]:
        if query is None:
            raise reporting_errors.MissingParameter(
                "Required String parameter 'query' is not present."
            )
        start = _non_negative("searchStart", search_start)
        words = [word.lower() for word in query.split() if len(word) >= MIN_WORD]
        with self.metadata.connect() as conn:
            records = reports_repo.list_for_tenant(conn, caller.tenant)
        documents = [self.document(record) for record in records]
        matching = [doc for doc in documents if all(_matches(doc, word) for word in words)]
        sort_reports(matching, order_by)
        return {"reports": matching[start : start + SEARCH_PAGE], "count": len(matching)}

    def has_reports(self, tenant: str) -> bool:
        """Whether the tenant has saved any report."""
        with self.metadata.connect() as conn:
            return bool(reports_repo.list_for_tenant(conn, tenant))

    def my_reports(self, caller: tenancy.Principal) -> dict[str, Any]:
        """The caller's reports that have no label or the My Reports label, by name."""
        with self.metadata.connect() as conn:
            records = reports_repo.list_for_tenant(conn, caller.tenant)
        mine = [self.document(record) for record in records if in_my_reports(caller, record)]
        return {"reports": mine, "count": len(mine)}

    def copy(
        self,
        caller: tenancy.Principal,
        source_id: str | None,
        label_ids: str | None,
        name: str | None,
    ) -> dict[str, Any]:
        if source_id is None:
            raise reporting_errors.MissingParameter(
                "Required String parameter 'from' is not present."
            )
        labels = tuple(dict.fromkeys(i.strip() for i in (label_ids or "").split(",") if i.strip()))
        _check_name(name)
        now = self.clock.now()
        with self.metadata.begin() as conn:
            found = reports_repo.get(conn, caller.tenant, source_id)
            if found is None:
                raise not_found(source_id)
            self.check_labels(conn, caller.tenant, labels)
            record = dataclasses.replace(
                found,
                id=ids.new_id(),
                number=reports_repo.next_number(conn, caller.tenant),
                name=name if name else found.name,
                label_ids=labels,
                prototype_id=found.id,
                version=1,
                created_by=caller.name,
                updated_by=caller.name,
                created_at=now,
                updated_at=now,
            )
            reports_repo.insert(conn, record)
        return self.document(record)

    def delete(self, caller: tenancy.Principal, report_id: str) -> str:
        """Delete a report of the caller's, or any report of the tenant for an administrator."""
        with self.metadata.begin() as conn:
            found = self._require(conn, caller, report_id)
            if found.created_by != caller.name and not caller.admin:
                raise reporting_errors.ReportDeleteNotAllowed(NOT_CREATOR)
            reports_repo.delete(conn, caller.tenant, report_id)
        return DELETED

    def check_labels(self, conn: sa.Connection, tenant: str, label_ids: Sequence[str]) -> None:
        """Refuse ``label_ids`` unless every one is a label of ``tenant`` (none is fine)."""
        if not label_ids:
            return
        labels_repo.ensure_roots(conn, tenant, self.clock.now())
        if labels_repo.missing(conn, tenant, label_ids):
            raise reporting_errors.InvalidReportingRequest(NO_LABELS)

    # -- validation ------------------------------------------------------------------------

    def _require(
        self, conn: sa.Connection, caller: tenancy.Principal, report_id: str
    ) -> reports_repo.ReportRecord:
        found = reports_repo.get(conn, caller.tenant, report_id)
        if found is None:
            raise not_found(report_id)
        return found

    def _validated(
        self, payload: object, namespace: str | None, catalog: model.Catalog
    ) -> dict[str, Any]:
        """The stored columns of a create/save body; a ``reporting_errors.ReportingError``
        when it is invalid."""
        if not isinstance(payload, Mapping):
            raise reporting_errors.UnreadableJson(
                "Could not read JSON: the request body must be a JSON object."
            )
        name = _text(payload, "name", required=True)
        _check_name(name)
        ds_name = _text(payload, "dsName") or _text(payload, "datasource")
        source = self._source(catalog, ds_name, _text(payload, "datasource"))
        definition = _definition(payload.get("definition"))
        self._check_definition(catalog, source, definition)
        view_type = payload.get("viewType")
        if view_type is None:
            summary = any(definition.get(key) for key in SUMMARY_LISTS)
            view_type = "Summary" if summary else "Detail"
        if view_type not in VIEW_TYPES:
            raise reporting_errors.InvalidReportingRequest(
                f"The viewType {view_type} is not valid: use Detail or Summary."
            )
        labels = label_ids_of(payload.get("labelIds"))
        chosen = (namespace or "BASIC").upper()
        if chosen not in NAMESPACES:
            raise reporting_errors.InvalidReportingRequest(
                f"The namespace {namespace} is not valid."
            )
        return {
            "name": name,
            "description": _text(payload, "description") or "",
            "ds_name": source.name,
            "namespace": chosen,
            "view_type": view_type,
            "definition": json.dumps(definition, separators=(",", ":")),
            "label_ids": labels,  # None when absent; their existence is checked by the caller
        }

    def _source(
        self, catalog: model.Catalog, ds_name: str | None, label: str | None
    ) -> model.ObjectDef:
        for candidate in (ds_name, label):
            if candidate:
                found = catalog.object(candidate.replace(" ", ""))
                if found is not None:
                    return found
        raise reporting_errors.InvalidReportingRequest(INVALID_DATASOURCE)

    def _check_definition(
        self, catalog: model.Catalog, source: model.ObjectDef, definition: Mapping[str, Any]
    ) -> None:
        """Every view the definition serves must plan (fields, groups, aggregations, filters
        and sorts), the way a run will plan it (``zoql/report_plan.py``)."""
        context = check.Context(catalog=catalog, time_zone="UTC", now=self.clock.now())
        try:
            report_plan.validate(definition, ds_name=source.name, context=context)
        except errors.ReportDefinitionError as exc:
            raise reporting_errors.InvalidReportingRequest(exc.describe()) from None


ENTITY_CONFLICT = "Send either the entityId or the entityName header, not both."


def check_entity_headers(entity_id: str | None, entity_name: str | None) -> None:
    """Zuora picks a multi-entity tenant's entity from ``entityId`` *or* ``entityName``; both
    at once is an error [OVR] (its words are not documented: these are Aquarium's). A tenant
    here is one entity, so either header alone is accepted and changes nothing."""
    if (entity_id or "").strip() and (entity_name or "").strip():
        raise reporting_errors.EntityConflict(ENTITY_CONFLICT)


def in_my_reports(caller: tenancy.Principal, record: reports_repo.ReportRecord) -> bool:
    """Whether ``record`` is in the caller's My Reports: theirs, with no label or that label."""
    home = labels_repo.root_id(caller.tenant, labels_repo.MY_REPORTS)
    return record.created_by == caller.name and (not record.label_ids or home in record.label_ids)


def label_ids_of(value: object) -> tuple[str, ...] | None:
    """The ``labelIds`` of a body, in order without repeats; ``None`` when absent.

    Read as Jackson reads a ``List<String>`` [LABEL]: anything but an array, or an array or
    object inside it, cannot be read (HTTP 500); numbers, booleans and nulls inside become text
    (and so match no label).
    """
    if value is None:
        return None
    if not isinstance(value, list):
        raise unreadable("java.util.ArrayList", value)
    for item in value:
        if isinstance(item, list | dict):
            raise unreadable("java.lang.String", item)
    return tuple(dict.fromkeys(i if isinstance(i, str) else json.dumps(i) for i in value))


def unreadable(java_type: str, value: object) -> reporting_errors.UnreadableJson:
    """Jackson's refusal to read ``value`` as ``java_type`` (reference 3.3 [LABEL])."""
    token = JSON_TOKENS.get(type(value), "START_ARRAY")
    if isinstance(value, bool):
        token = "VALUE_TRUE" if value else "VALUE_FALSE"
    return reporting_errors.UnreadableJson(
        f"Could not read JSON: Can not deserialize instance of {java_type} out of {token} token"
    )


def _text(payload: Mapping[str, Any], key: str, *, required: bool = False) -> str | None:
    value = payload.get(key)
    if value is None or value == "":
        if required:
            raise reporting_errors.InvalidReportingRequest(f"The report {key} is required.")
        return None
    if not isinstance(value, str):
        raise reporting_errors.InvalidReportingRequest(f"The report {key} must be a string.")
    return value


def _check_name(name: str | None) -> None:
    if name is not None and len(name) > MAX_NAME_CHARS:
        raise reporting_errors.InvalidReportingRequest(
            f"The report name is longer than {MAX_NAME_CHARS} characters."
        )


def _definition(value: object) -> dict[str, Any]:
    if value is None or value == "":
        raise reporting_errors.InvalidReportingRequest("The report definition is required.")
    if isinstance(value, str):
        try:
            value = json_input.loads(value, what="the report definition")
        except errors.UnacceptableJson:
            raise
        except errors.MalformedRequest as exc:
            raise reporting_errors.UnreadableJson(f"Could not read JSON: {exc.reason}") from None
    if not isinstance(value, dict):
        raise reporting_errors.InvalidReportingRequest(
            "The report definition must be a JSON object."
        )
    return value


def _list(definition: Mapping[str, Any], key: str) -> Sequence[Any]:
    # Only a missing (or null) member is absent: false, 0, "" or {} is a wrong type.
    value = definition.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise reporting_errors.InvalidReportingRequest(f"{key} must be an array.")
    return value


def _matches(document: Mapping[str, Any], word: str) -> bool:
    haystack = (
        document["name"],
        document["dsName"],
        document["datasource"],
        document["description"],
    )
    return any(word in str(text).lower() for text in haystack)


def _non_negative(name: str, value: str | None) -> int:
    if value is None or value == "":
        return 0  # Spring reads an empty parameter as an absent one
    # Decimal digits only: int() would also take " 5", "5_0" and other scripts' digits.
    number = int(value) if DECIMAL.fullmatch(value) else -1
    if number < 0:
        raise reporting_errors.InvalidReportingRequest(f"{name} must be a non-negative integer.")
    return number


SORT_FIELDS: Mapping[str, Callable[[Mapping[str, Any]], str]] = {
    "name": lambda doc: str(doc["name"]).lower(),
    "updated_on": lambda doc: str(doc["updatedOn"]),
}


def sort_reports(documents: list[dict[str, Any]], order_by: str | None) -> None:
    """Sort report documents in place by ``orderBy`` (reference 5.1); by name without one.

    ``orderBy`` is ``[{"field": "name"|"updated_on", "ascend": "true"|"false"}, ...]``, the first
    entry the major key; anything else is refused (HTTP 400).
    """
    if not order_by:
        documents.sort(key=SORT_FIELDS["name"])
        return
    try:
        orders = json_input.loads(order_by, what="orderBy")
    except errors.UnacceptableJson:
        raise
    except errors.MalformedRequest:
        orders = None
    if not isinstance(orders, list) or not all(isinstance(o, Mapping) for o in orders):
        raise reporting_errors.InvalidReportingRequest(
            "orderBy must be a JSON array of {field, ascend}."
        )
    for order in reversed(orders):
        key = SORT_FIELDS.get(str(order.get("field")))
        if key is None:
            raise reporting_errors.InvalidReportingRequest(
                f"Cannot sort by {order.get('field')}: use name or updated_on."
            )
        descending = str(order.get("ascend", "true")).lower() == "false"
        documents.sort(key=key, reverse=descending)
