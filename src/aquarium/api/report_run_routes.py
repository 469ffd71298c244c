"""Reporting API report runs under ``/api/rest/v1`` and ``/reporting/api/rest/v1``.

Reference reporting.md section 4 and CONTRACT.md "Reporting": run a report, get a run, the last
completed run, report data pages, the UTF-16 export, the run list and cancel. Every answer but
the export uses the Reporting envelope; errors are raised and ``api/errors.py`` states them.
"""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse

from aquarium.api import body, deps, envelopes, report_routes
from aquarium.domain import errors
from aquarium.services import report_runs

router = APIRouter(tags=["Reporting: report runs"])
Caller = report_routes.Caller


def _service(request: Request) -> report_runs.ReportRunService:
    found = deps.services(request).report_runs
    if found is None:
        raise errors.ApiUnavailable(message="Report runs are not available on this server.")
    return found


_ok = envelopes.reporting_ok


async def _optional_json(request: Request) -> object:
    return await body.json_body_or_none(request, deps.services(request).settings.max_body_bytes)


async def run_report(report_id: str, request: Request, caller: Caller) -> JSONResponse:
    """Run the report in ``viewType`` (Detail or Summary); the body may override its filters.
    An ``Idempotency-Key`` sent again within 24 hours answers the run it started."""
    payload = await _optional_json(request)
    view_type = request.query_params.get("viewType")
    key = request.headers.get("idempotency-key")
    return _ok(_service(request).run(caller, report_id, view_type, payload, key))


def get_run(run_id: str, request: Request, caller: Caller) -> JSONResponse:
    """A report run: status (STARTED, QUERYDATA, PROCESSINGDATA, COMPLETED, ...) and details."""
    return _ok(_service(request).get(caller, run_id))


def latest_run(report_id: str, request: Request, caller: Caller) -> JSONResponse:
    """The caller's last completed run of the report (60 days)."""
    return _ok(_service(request).latest(caller, report_id))


def report_data(run_id: str, request: Request, caller: Caller) -> JSONResponse:
    """A page of a completed run's rows (``offset``, ``pageSize``), display-formatted."""
    params = request.query_params
    return _ok(_service(request).data(caller, run_id, params.get("offset"), params.get("pageSize")))


def export_run(run_id: str, request: Request, caller: Caller) -> FileResponse:
    """The run's results as UTF-16LE tab-separated text (``pivoted=true``: summary crosstab)."""
    found = _service(request).export(caller, run_id, request.query_params.get("pivoted"))
    return FileResponse(
        found.path,
        media_type=found.content_type,
        filename=found.filename,
        headers={"X-Aquarium-SHA256": found.sha256},
    )


async def list_runs(request: Request, caller: Caller) -> JSONResponse:
    """Runs of the last 60 days; ``status`` may repeat; the body picks columns, page, sort."""
    payload = await _optional_json(request)
    statuses = request.query_params.getlist("status")
    return _ok(_service(request).list_runs(caller, statuses, payload))


def cancel_run(run_id: str, request: Request, caller: Caller) -> JSONResponse:
    """Stop an in-progress run at once."""
    return _ok(_service(request).cancel(caller, run_id))


ROUTES: tuple[report_routes.Route, ...] = (
    ("/reports/{report_id}/reportrun", run_report, "POST", "Run a report"),
    ("/reports/{report_id}/reportruns/latest", latest_run, "GET", "Last completed report run"),
    ("/reportruns", list_runs, "POST", "List report runs"),
    ("/reportruns/reportdata/{run_id}", report_data, "GET", "Report data"),
    ("/reportruns/export/{run_id}", export_run, "GET", "Export a report run"),
    ("/reportruns/{run_id}", get_run, "GET", "Get a report run"),
    ("/reportruns/{run_id}", cancel_run, "DELETE", "Cancel a report run"),
)

report_routes.register(router, ROUTES)
