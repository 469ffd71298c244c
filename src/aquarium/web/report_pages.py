"""The Reports pages: the tenant's report definitions with Run buttons, and their runs.

The runs page is the Jobs list narrowed to report runs (phase, live updates, Cancel, export).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from aquarium.api import deps
from aquarium.domain import errors
from aquarium.services import reports
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


@router.post("/reports/{report_id}/run")
async def run_report(report_id: str, request: Request, caller: guard.CheckedCaller) -> Response:
    """Start a run (``viewType`` Detail or Summary) and show the runs."""
    form = await request.form()
    view_type = str(form.get("viewType") or "")
    runs = deps.services(request).report_runs
    if runs is None:
        raise errors.ApiUnavailable(message="Report runs are not available on this server.")
    await run_in_threadpool(runs.run, caller.principal, report_id, view_type, None)
    return RedirectResponse("/reports/runs?notice=run-started", status_code=303)


@router.get("/reports/runs")
def runs_page(request: Request, caller: guard.Caller) -> Response:
    """Report runs of the tenant: phase, progress, Cancel, export links; live."""
    return job_pages.list_page(request, caller, kind="report")
