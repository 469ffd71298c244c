"""Reporting API report labels (folders): list and create labels, label and unlabel reports,
list the reports of a label.

Reference reporting.md sections 5.2 and 5.5 ("folders and labels are the same thing" [BYLBL]).
Wire choices where the reference is silent (IMPL):

- Every tenant has two root labels, made on first use: ``My Reports`` (type ``Private``,
  ``home: true``) and ``Shared Reports`` (type ``Shared``). Zuora keeps a My Reports per user;
  Aquarium keeps one per tenant and shows in it, to each user, only that user's reports (those
  with no label or this one, as ``GET /reports``). Every other label is the whole tenant's:
  anyone in the tenant sees it, uses it and labels reports with it.
- A sub-label has the type of its root. ``labelNamePath`` is ``/1`` followed by the names from
  the root down (``/1/Shared Reports/Finance``), after the one example [LBLS]. Label fields
  Aquarium has no use for are constant: ``deleted``, ``favorite`` and ``zuora`` false,
  ``pshareId`` null. Ids, user ids, names and timestamps are made as for reports
  (services/reports.py); root labels are created by ``system``.
- ``POST /reportlabels`` ``{"name": ..., "parentId": ...}`` creates a label and answers it.
  Zuora does this in its UI only: the endpoint is Aquarium's. Without ``parentId`` the label goes
  under My Reports. The name is 1 to 255 characters without ``/`` (the path separator) and
  unique among its siblings; an unknown ``parentId`` is HTTP 400 with the label message below.
  Labels cannot be renamed, moved or deleted.
- Label and unlabel (``POST``/``DELETE /reports/{id}/reportlabels``, ``{"labelIds": [...]}``)
  change nothing unless every id is a label of the tenant: otherwise HTTP 400 ``Cannot find any
  matching label(s) for id(s) provided in request.`` [LABEL], also for an empty or absent
  ``labelIds``. Adding a label the report has, or removing one it has not, is no error. Anyone
  in the tenant may label any report of it (only deleting is kept to the creator).
- An unknown label in a path is HTTP 404 ``An error occurred. The label with ID {id} does not
  exist.`` The reference prints that message for a bad *report* id on Get Report Labels [LBLS],
  which reads as a slip: that page answers an unknown report with the report message of [DEL].
- Report details by label: with ``paging`` the paged object of [BYLBL]; without it the plain
  array of [DETLBL] (the two pages contradict each other; section 5.2). ``pageNo`` is 0-based,
  ``pageSize`` 1 to 1000 (defaults 0 and 20); integers written as JSON strings are read as
  Jackson would. ``orderBy`` as for search, by name by default. Only reports labelled with that
  very label are listed, not those of its sub-labels.
- ``GET /reports/reportlabels`` without a label id is HTTP 405 [BYLBL], in the error envelope.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Mapping
from typing import Any

from aquarium.domain import errors, ids, reporting_errors, tenancy
from aquarium.services import json_input, reports
from aquarium.store import labels_repo, reports_repo

LABEL_CHANGED = "The reports label status has successfully been changed."
# Spring's message goes on with ": org.springframework...HandlerMethodParameter@49d1be25" [LABEL],
# the address of a Java object: only the meaningful part is kept.
BODY_MISSING = "Required request body content is missing"
PATH_ROOT = "/1"  # what labelNamePath starts with [LBLS]
PATH_SEPARATOR = "/"
MAX_NAME = 255  # characters
DEFAULT_PAGE_SIZE = 20  # reports
MAX_PAGE_SIZE = 1000  # reports


def label_not_found(label_id: str) -> reporting_errors.LabelNotFound:
    return reporting_errors.LabelNotFound(label_message(label_id))


def label_message(label_id: str) -> str:
    return f"An error occurred. The label with ID {label_id} does not exist."


def method_not_allowed() -> errors.MethodNotAllowed:
    """``GET /reports/reportlabels`` without a label id [BYLBL]."""
    return errors.MethodNotAllowed()


class ReportLabelService:
    """Labels of each tenant and the reports they hold, over the report service's store.

    Holds no state of its own, so a route may make one per request.
    """

    def __init__(self, report_service: reports.ReportService) -> None:
        self.report_service = report_service
        self.metadata = report_service.metadata
        self.clock = report_service.clock

    # -- labels ----------------------------------------------------------------------------

    def roots(self, caller: tenancy.Principal) -> list[dict[str, Any]]:
        """The tenant's root labels: My Reports, Shared Reports."""
        return self.children(caller, None)

    def children(self, caller: tenancy.Principal, label_id: str | None) -> list[dict[str, Any]]:
        """The labels directly under ``label_id``; HTTP 404 for a label of no tenant's."""
        with self.metadata.begin() as conn:
            labels_repo.ensure_roots(conn, caller.tenant, self.clock.now())
            if label_id is not None and labels_repo.get(conn, caller.tenant, label_id) is None:
                raise label_not_found(label_id)
            found = labels_repo.list_for_tenant(conn, caller.tenant)
        by_id = {label.id: label for label in found}
        return [_document(label, by_id) for label in found if label.parent_id == label_id]

    def create(self, caller: tenancy.Principal, payload: object) -> dict[str, Any]:
        """A new label under ``parentId`` (My Reports without one)."""
        fields = _body(payload)
        name = _label_name(fields.get("name"))
        parent_id = fields.get("parentId")
        if parent_id is not None and not isinstance(parent_id, str):
            raise reporting_errors.InvalidReportingRequest("The label parentId must be a string.")
        now = self.clock.now()
        with self.metadata.begin() as conn:
            labels_repo.ensure_roots(conn, caller.tenant, now)
            parent_id = parent_id or labels_repo.root_id(caller.tenant, labels_repo.MY_REPORTS)
            by_id = {label.id: label for label in labels_repo.list_for_tenant(conn, caller.tenant)}
            parent = by_id.get(parent_id)
            if parent is None:
                raise reporting_errors.ParentLabelNotFound(label_message(parent_id))
            siblings = [label for label in by_id.values() if label.parent_id == parent.id]
            if any(label.name == name for label in siblings):
                path = _path(parent, by_id)
                raise reporting_errors.InvalidReportingRequest(
                    f"A label named {name} already exists in {path}."
                )
            record = labels_repo.LabelRecord(
                id=ids.new_id(),
                tenant=caller.tenant,
                name=name,
                parent_id=parent.id,
                type=parent.type,
                created_by=caller.name,
                updated_by=caller.name,
                created_at=now,
                updated_at=now,
                order=max((label.order for label in siblings), default=-1) + 1,
            )
            labels_repo.insert(conn, record)
        return _document(record, by_id)

    # -- reports and labels ----------------------------------------------------------------

    def of_report(self, caller: tenancy.Principal, report_id: str) -> list[dict[str, Any]]:
        """The labels of a report, in the order they were given; HTTP 404 for no report."""
        with self.metadata.connect() as conn:
            found = reports_repo.get(conn, caller.tenant, report_id)
            if found is None:
                raise reports.not_found(report_id)
            by_id = {label.id: label for label in labels_repo.list_for_tenant(conn, caller.tenant)}
        return [_document(by_id[i], by_id) for i in found.label_ids if i in by_id]

    def label(self, caller: tenancy.Principal, report_id: str, payload: object) -> str:
        """Add the body's ``labelIds`` to a report."""
        return self._change(caller, report_id, payload, add=True)

    def unlabel(self, caller: tenancy.Principal, report_id: str, payload: object) -> str:
        """Take the body's ``labelIds`` off a report."""
        return self._change(caller, report_id, payload, add=False)

    def _change(
        self, caller: tenancy.Principal, report_id: str, payload: object, *, add: bool
    ) -> str:
        # The body is read before the report is looked up, as Spring does before the handler.
        label_ids = reports.label_ids_of(_body(payload).get("labelIds")) or ()
        with self.metadata.begin() as conn:
            found = reports_repo.get(conn, caller.tenant, report_id, lock=True)
            if found is None:
                raise reports.not_found(report_id)
            if not label_ids:
                raise reporting_errors.InvalidReportingRequest(reports.NO_LABELS)
            self.report_service.check_labels(conn, caller.tenant, label_ids)
            if add:
                changed = tuple(dict.fromkeys((*found.label_ids, *label_ids)))
            else:
                changed = tuple(i for i in found.label_ids if i not in label_ids)
            if changed != found.label_ids:
                reports_repo.update(conn, dataclasses.replace(found, label_ids=changed))
        return LABEL_CHANGED

    def report_details(
        self,
        caller: tenancy.Principal,
        label_id: str,
        paging: str | None = None,
        order_by: str | None = None,
    ) -> list[dict[str, Any]] | dict[str, Any]:
        """The reports with label ``label_id``: a page with ``paging``, else all of them."""
        page = _paging(paging)
        with self.metadata.begin() as conn:
            labels_repo.ensure_roots(conn, caller.tenant, self.clock.now())
            if labels_repo.get(conn, caller.tenant, label_id) is None:
                raise label_not_found(label_id)
            records = reports_repo.list_for_tenant(conn, caller.tenant)
        if label_id == labels_repo.root_id(caller.tenant, labels_repo.MY_REPORTS):
            chosen = [record for record in records if reports.in_my_reports(caller, record)]
        else:
            chosen = [record for record in records if label_id in record.label_ids]
        documents = [self.report_service.document(record) for record in chosen]
        reports.sort_reports(documents, order_by)
        if page is None:
            return documents
        number, size = page
        return {
            "totalCount": len(documents),
            "totalPage": -(-len(documents) // size),
            "pageNo": number,
            "pageSize": size,
            "elements": documents[number * size : (number + 1) * size],
        }


def _document(
    label: labels_repo.LabelRecord, by_id: Mapping[str, labels_repo.LabelRecord]
) -> dict[str, Any]:
    """The label object of reference 5.5 [LBLS]."""
    creator = reports.user_id(label.tenant, label.created_by)
    return {
        "createdBy": creator,
        "updatedBy": reports.user_id(label.tenant, label.updated_by),
        "createdOn": reports.timestamp(label.created_at),
        "updatedOn": reports.timestamp(label.updated_at),
        "id": label.id,
        "deleted": False,
        "name": label.name,
        "type": label.type,
        "parentId": label.parent_id,
        "pshareId": None,
        "order": label.order,
        "userId": creator,
        "creator": label.created_by,
        "updater": label.updated_by,
        "favorite": False,
        "shared": label.type == labels_repo.SHARED,
        "zuora": False,
        "home": label.id == labels_repo.root_id(label.tenant, labels_repo.MY_REPORTS),
        "root": label.parent_id is None,
        "labelNamePath": _path(label, by_id),
    }


def _path(label: labels_repo.LabelRecord, by_id: Mapping[str, labels_repo.LabelRecord]) -> str:
    names = [label.name]
    parent = by_id.get(label.parent_id or "")
    while parent is not None:
        names.append(parent.name)
        parent = by_id.get(parent.parent_id or "")
    return PATH_SEPARATOR.join((PATH_ROOT, *reversed(names)))


def _body(payload: object) -> Mapping[str, Any]:
    """A request body that must be a JSON object; ``None`` is a request without one."""
    if payload is None:
        raise reporting_errors.RequestBodyMissing(BODY_MISSING)
    if not isinstance(payload, Mapping):
        raise reporting_errors.UnreadableJson(
            "Could not read JSON: the request body must be a JSON object."
        )
    return payload


def _label_name(value: object) -> str:
    if value is not None and not isinstance(value, str):
        raise reporting_errors.InvalidReportingRequest("The label name must be a string.")
    if value is None or not value.strip():
        raise reporting_errors.InvalidReportingRequest("The label name is required.")
    if len(value) > MAX_NAME:
        raise reporting_errors.InvalidReportingRequest(
            f"The label name is longer than {MAX_NAME} characters."
        )
    if PATH_SEPARATOR in value:
        raise reporting_errors.InvalidReportingRequest(
            f"The label name cannot contain {PATH_SEPARATOR}."
        )
    return value


def _paging(text: str | None) -> tuple[int, int] | None:
    """``(pageNo, pageSize)`` of a ``paging`` parameter; ``None`` without one."""
    if text is None or not text.strip():
        return None
    try:
        paging = json_input.loads(text, what="paging")
    except errors.UnacceptableJson:
        raise
    except errors.MalformedRequest:
        paging = None
    if not isinstance(paging, dict):
        raise reporting_errors.InvalidReportingRequest(
            'paging must be a JSON object such as {"pageNo": 0, "pageSize": 20}.'
        )
    number = _integer(paging, "pageNo", 0)
    size = _integer(paging, "pageSize", DEFAULT_PAGE_SIZE)
    if number < 0:
        raise reporting_errors.InvalidReportingRequest(f"pageNo must be 0 or more, not {number}.")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise reporting_errors.InvalidReportingRequest(
            f"pageSize must be from 1 to {MAX_PAGE_SIZE}, not {size}."
        )
    return number, size


def _integer(paging: Mapping[str, Any], key: str, default: int) -> int:
    value = paging.get(key, default)
    if isinstance(value, str) and reports.DECIMAL.fullmatch(value.strip()):
        value = int(value)  # Jackson reads "2" as 2 for an int
    if isinstance(value, bool) or not isinstance(value, int):
        raise reporting_errors.InvalidReportingRequest(
            f"{key} must be an integer, not {json.dumps(value)}."
        )
    return value
