"""Reporting API report definitions and labels under ``/api/rest/v1`` and
``/reporting/api/rest/v1``.

Reference reporting.md section 5. Every answer uses the Reporting envelope: success
``{"success": true, "response": ...}``, errors ``{"success": false, "response": "<JSON string>",
"links": null}`` (services/reports.py and services/report_labels.py document the choices where
the reference is silent).
Authentication failures answer ``loginFailed`` with HTTP 401 in the same envelope. Errors are
raised, and ``api/errors.py`` states them in this envelope for these paths.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse

from aquarium.api import body, deps, envelopes
from aquarium.domain import errors, tenancy
from aquarium.services import report_admin, report_labels, reports

PREFIXES = ("/api/rest/v1", "/reporting/api/rest/v1")
router = APIRouter(tags=["Reporting: report definitions"])


def reporting_caller(request: Request) -> tenancy.Principal:
    """The caller (HTTP 401 first), then Zuora's entity headers: ``entityId`` or
    ``entityName``, not both (HTTP 400)."""
    caller = deps.principal(request)
    headers = request.headers
    reports.check_entity_headers(headers.get("entityid"), headers.get("entityname"))
    return caller


Caller = Annotated[tenancy.Principal, Depends(reporting_caller)]


def _service(request: Request) -> reports.ReportService:
    found = deps.services(request).reports
    if found is None:
        raise errors.ApiUnavailable(message="The Reporting API is not available.")
    return found


def _labels(request: Request) -> report_labels.ReportLabelService:
    return report_labels.ReportLabelService(_service(request))


def _admin(request: Request) -> report_admin.ReportAdminService:
    return report_admin.ReportAdminService(_service(request))


async def _body_or_none(request: Request) -> object:
    return await body.json_body_or_none(request, deps.services(request).settings.max_body_bytes)


_ok = envelopes.reporting_ok


async def create_report(request: Request, caller: Caller) -> JSONResponse:
    """Create (save) a report; ``namespace=ADVANCED`` is optional."""
    payload = await body.json_body(request, deps.services(request).settings.max_body_bytes)
    namespace = request.query_params.get("namespace")
    return _ok(_service(request).create(caller, payload, namespace))


async def update_report(report_id: str, request: Request, caller: Caller) -> JSONResponse:
    """Save a report: the body overwrites the whole definition."""
    payload = await body.json_body(request, deps.services(request).settings.max_body_bytes)
    return _ok(_service(request).update(caller, report_id, payload))


def get_report(report_id: str, request: Request, caller: Caller) -> JSONResponse:
    """A report definition by id."""
    return _ok(_service(request).get(caller, report_id))


def search_reports(request: Request, caller: Caller) -> JSONResponse:
    """Reports whose name, data source or description match ``query`` (50 from searchStart)."""
    params = request.query_params
    return _ok(
        _service(request).search(
            caller, params.get("query"), params.get("searchStart"), params.get("orderBy")
        )
    )


def list_reports(request: Request, caller: Caller) -> JSONResponse:
    """The caller's My Reports."""
    return _ok(_service(request).my_reports(caller))


def copy_report(request: Request, caller: Caller) -> JSONResponse:
    """Copy ``from`` under an optional new ``name`` (no body)."""
    params = request.query_params
    return _ok(
        _service(request).copy(
            caller, params.get("from"), params.get("labelIds"), params.get("name")
        )
    )


def delete_report(report_id: str, request: Request, caller: Caller) -> JSONResponse:
    """Delete a report."""
    return _ok(_service(request).delete(caller, report_id))


def list_root_labels(request: Request, caller: Caller) -> JSONResponse:
    """The root labels (folders): My Reports and Shared Reports."""
    return _ok(_labels(request).roots(caller))


def list_sub_labels(label_id: str, request: Request, caller: Caller) -> JSONResponse:
    """The labels directly under a label."""
    return _ok(_labels(request).children(caller, label_id))


async def create_label(request: Request, caller: Caller) -> JSONResponse:
    """Create a label ``{"name", "parentId"?}`` (Aquarium's addition: Zuora's UI only)."""
    return _ok(_labels(request).create(caller, await _body_or_none(request)))


def list_report_labels(report_id: str, request: Request, caller: Caller) -> JSONResponse:
    """The labels of a report."""
    return _ok(_labels(request).of_report(caller, report_id))


async def label_report(report_id: str, request: Request, caller: Caller) -> JSONResponse:
    """Add labels ``{"labelIds": [...]}`` to a report."""
    return _ok(_labels(request).label(caller, report_id, await _body_or_none(request)))


async def unlabel_report(report_id: str, request: Request, caller: Caller) -> JSONResponse:
    """Take labels ``{"labelIds": [...]}`` off a report."""
    return _ok(_labels(request).unlabel(caller, report_id, await _body_or_none(request)))


def reports_by_label(label_id: str, request: Request, caller: Caller) -> JSONResponse:
    """The reports of a label: paged with ``paging``, else a plain array; ``orderBy``."""
    params = request.query_params
    return _ok(
        _labels(request).report_details(
            caller, label_id, params.get("paging"), params.get("orderBy")
        )
    )


def get_settings(request: Request, caller: Caller) -> JSONResponse:
    """The tenant's Reporting settings: ``{"emailDomains": [...]}`` (empty: any domain)."""
    return _ok(_admin(request).settings(caller))


async def update_settings(request: Request, caller: Caller) -> JSONResponse:
    """Replace the tenant's ``emailDomains`` (administrators)."""
    return _ok(_admin(request).update_settings(caller, await _body_or_none(request)))


async def transfer_ownership(request: Request, caller: Caller) -> JSONResponse:
    """Give ``reportIds`` or ``reportNames`` to ``newOwnerUserId`` (administrators)."""
    return _ok(_admin(request).transfer(caller, await _body_or_none(request)))


def reports_by_no_label() -> JSONResponse:
    """Without a label id: HTTP 405, as Zuora answers."""
    raise report_labels.method_not_allowed()


ROUTES: tuple[tuple[str, Callable[..., Any], str, str], ...] = (
    ("/reports", create_report, "POST", "Create a report"),
    ("/reports", list_reports, "GET", "List My Reports"),
    ("/reports/search", search_reports, "GET", "Search reports by name"),
    ("/reports/copy", copy_report, "POST", "Copy a report"),
    # Before /reports/{report_id}, whose Save would take it for a report id.
    ("/reports/transfer-ownership", transfer_ownership, "POST", "Transfer report ownership"),
    ("/reports/report/{report_id}", get_report, "GET", "Get a report by id"),
    ("/reports/{report_id}", update_report, "POST", "Save (update) a report"),
    ("/reports/{report_id}", delete_report, "DELETE", "Delete a report"),
    ("/reportlabels", list_root_labels, "GET", "List the root labels"),
    ("/reportlabels", create_label, "POST", "Create a label"),
    ("/reportlabels/{label_id}/reportlabels", list_sub_labels, "GET", "List sub-labels"),
    ("/reports/{report_id}/reportlabels", list_report_labels, "GET", "Get the labels of a report"),
    ("/reports/{report_id}/reportlabels", label_report, "POST", "Label a report"),
    ("/reports/{report_id}/reportlabels", unlabel_report, "DELETE", "Unlabel a report"),
    (
        "/reports/reportlabels/{label_id}/report-details",
        reports_by_label,
        "GET",
        "Get reports by label",
    ),
    ("/reports/reportlabels", reports_by_no_label, "GET", "Get reports by label (no label id)"),
    ("/settings", get_settings, "GET", "Get tenant settings"),
    ("/settings", update_settings, "POST", "Update tenant settings"),
)

Route = tuple[str, Callable[..., Any], str, str]


def register(target: APIRouter, routes: tuple[Route, ...]) -> None:
    """Add ``(path, endpoint, method, summary)`` routes under both Reporting path families."""
    for prefix in PREFIXES:
        reporting = prefix.startswith("/reporting")
        for path, endpoint, method, summary in routes:
            target.add_api_route(
                prefix + path,
                endpoint,
                methods=[method],
                summary=summary + (" (reporting path)" if reporting else ""),
                operation_id=endpoint.__name__ + ("_reporting" if reporting else ""),
                # Not an operation but Zuora's refusal of one (a label id missing): undocumented.
                include_in_schema=endpoint is not reports_by_no_label,
            )


register(router, ROUTES)
