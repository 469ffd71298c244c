"""The Reports pages: the tenant's report definitions with Run buttons, their runs, and a run's
results.

The runs page is the Jobs list narrowed to report runs (phase, live updates, Cancel, export).
A run's results page (``/reports/runs/{id}``) shows a page of its table and, for a completed
Summary run, a chart drawn by ``static/report_chart.js`` with the vendored Chart.js from
``/reports/runs/{id}/chart`` (``services/report_chart.py``); without JavaScript the table alone.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, RedirectResponse

from aquarium.api import deps
from aquarium.domain import errors
from aquarium.services import report_chart, report_runs, reports
from aquarium.web import guard, job_pages, pages

router = APIRouter(route_class=guard.PageRoute, include_in_schema=False)
VIEW_TYPES = ("Detail", "Summary")


def _reports(request: Request) -> reports.ReportService:
    found = deps.services(request).reports
    if found is None:
        raise errors.ApiUnavailable(message="Reporting is not available on this server.")
    return found


@router.get("/reports")
def reports_page(request: Request, caller: guard.Caller) -> Response:
    """Report definitions of the tenant (50 a page), matching ``q`` when given."""
    params = request.query_params
    words = params.get("q", "")
    start = params.get("start", "0")
    found = _reports(request).search(caller.principal, words, start if start.isdigit() else "0")
    first = int(start) if start.isdigit() else 0
    shown = len(found["reports"])
    return pages.render(
        request,
        "reports.html",
        reports=found["reports"],
        total=found["count"],
        words=words,
        first=first,
        previous_start=max(first - reports.SEARCH_PAGE, 0) if first > 0 else None,
        next_start=first + shown if first + shown < found["count"] else None,
        view_types=VIEW_TYPES,
    )


def _runs(request: Request) -> report_runs.ReportRunService:
    found = deps.services(request).report_runs
    if found is None:
        raise errors.ApiUnavailable(message="Report runs are not available on this server.")
    return found


@router.post("/reports/{report_id}/run")
async def run_report(report_id: str, request: Request, caller: guard.CheckedCaller) -> Response:
    """Start a run (``viewType`` Detail or Summary) and show the runs."""
    form = await request.form()
    view_type = str(form.get("viewType") or "")
    await run_in_threadpool(_runs(request).run, caller.principal, report_id, view_type, None)
    return RedirectResponse("/reports/runs?notice=run-started", status_code=303)


@router.get("/reports/runs")
def runs_page(request: Request, caller: guard.Caller) -> Response:
    """Report runs of the tenant: phase, progress, Cancel, export links; live."""
    return job_pages.list_page(request, caller, kind="report")


@router.get("/reports/runs/{run_id}")
def results_page(run_id: str, request: Request, caller: guard.Caller) -> Response:
    """A run's results: a page of its table (``offset``, 1-based) and a Summary's chart."""
    offset = request.query_params.get("offset", "1")
    found = report_chart.results(_runs(request), caller.principal, run_id, offset)
    return pages.render(request, "report_results.html", **found)


@router.get("/reports/runs/{run_id}/chart")
def chart_data(run_id: str, request: Request, caller: guard.Caller) -> Response:
    """The chart document of a completed Summary run (JSON, for ``report_chart.js``)."""
    found = report_chart.chart(_runs(request), caller.principal, run_id)
    return JSONResponse(found, headers={"Cache-Control": "no-store"})
