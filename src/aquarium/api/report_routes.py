"""Reporting API report definitions under ``/api/rest/v1`` and ``/reporting/api/rest/v1``.

Reference reporting.md section 5. Every answer uses the Reporting envelope: success
``{"success": true, "response": ...}``, errors ``{"success": false, "response": "<JSON string>",
"links": null}`` (services/reports.py documents the choices where the reference is silent).
Authentication failures answer ``loginFailed`` with HTTP 401 in the same envelope.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from aquarium.api import body, deps
from aquarium.domain import errors, tenancy
from aquarium.services import reports

PREFIXES = ("/api/rest/v1", "/reporting/api/rest/v1")
router = APIRouter(tags=["Reporting: report definitions"])


def _service(request: Request) -> reports.ReportService:
    found = deps.services(request).reports
    if found is None:
        raise reports.ReportingError("The Reporting API is not available.", status=503)
    return found


def _caller(request: Request) -> tenancy.Principal:
    try:
        return deps.principal(request)
    except errors.NotAuthenticated:
        raise reports.ReportingError(
            "Authentication failed.", status=401, code=reports.LOGIN_FAILED
        ) from None


async def _payload(request: Request) -> object:
    try:
        return await body.json_body(request, deps.services(request).settings.max_body_bytes)
    except errors.MalformedRequest as exc:
        raise reports.ReportingError(
            f"Could not read JSON: {exc.reason}", status=500, code=reports.REST_ERROR
        ) from None


def _answer(
    work: Callable[[reports.ReportService, tenancy.Principal], Any], request: Request
) -> JSONResponse:
    try:
        caller = _caller(request)
        return JSONResponse({"success": True, "response": work(_service(request), caller)})
    except reports.ReportingError as exc:
        return JSONResponse(reports.error_document(exc), status_code=exc.status)


async def create_report(request: Request) -> JSONResponse:
    """Create (save) a report; ``namespace=ADVANCED`` is optional."""
    try:
        payload = await _payload(request)
    except reports.ReportingError as exc:
        return JSONResponse(reports.error_document(exc), status_code=exc.status)
    namespace = request.query_params.get("namespace")
    return _answer(lambda service, caller: service.create(caller, payload, namespace), request)


async def update_report(report_id: str, request: Request) -> JSONResponse:
    """Save a report: the body overwrites the whole definition."""
    try:
        payload = await _payload(request)
    except reports.ReportingError as exc:
        return JSONResponse(reports.error_document(exc), status_code=exc.status)
    return _answer(lambda service, caller: service.update(caller, report_id, payload), request)


def get_report(report_id: str, request: Request) -> JSONResponse:
    """A report definition by id."""
    return _answer(lambda service, caller: service.get(caller, report_id), request)


def search_reports(request: Request) -> JSONResponse:
    """Reports whose name, data source or description match ``query`` (50 from searchStart)."""
    params = request.query_params
    return _answer(
        lambda service, caller: service.search(
            caller, params.get("query"), params.get("searchStart"), params.get("orderBy")
        ),
        request,
    )


def list_reports(request: Request) -> JSONResponse:
    """The caller's My Reports."""
    return _answer(lambda service, caller: service.my_reports(caller), request)


def copy_report(request: Request) -> JSONResponse:
    """Copy ``from`` under an optional new ``name`` (no body)."""
    params = request.query_params
    return _answer(
        lambda service, caller: service.copy(
            caller, params.get("from"), params.get("labelIds"), params.get("name")
        ),
        request,
    )


def delete_report(report_id: str, request: Request) -> JSONResponse:
    """Delete a report."""
    return _answer(lambda service, caller: service.delete(caller, report_id), request)


ROUTES: tuple[tuple[str, Callable[..., Any], str, str], ...] = (
    ("/reports", create_report, "POST", "Create a report"),
    ("/reports", list_reports, "GET", "List My Reports"),
    ("/reports/search", search_reports, "GET", "Search reports by name"),
    ("/reports/copy", copy_report, "POST", "Copy a report"),
    ("/reports/report/{report_id}", get_report, "GET", "Get a report by id"),
    ("/reports/{report_id}", update_report, "POST", "Save (update) a report"),
    ("/reports/{report_id}", delete_report, "DELETE", "Delete a report"),
)

for prefix in PREFIXES:
    reporting = prefix.startswith("/reporting")
    for path, endpoint, method, summary in ROUTES:
        router.add_api_route(
            prefix + path,
            endpoint,
            methods=[method],
            summary=summary + (" (reporting path)" if reporting else ""),
            operation_id=endpoint.__name__ + ("_reporting" if reporting else ""),
        )
