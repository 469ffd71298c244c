"""The Jobs pages: AQuA jobs, report runs and Data Query jobs of the tenant, one job in detail,
cancel, files.

Pages are complete without JavaScript. ``app.js`` keeps them current: it listens to
``/jobs/events`` (Server-Sent Events from the same :class:`JobEvents` as the JSON API's
``/aquarium/api/v1/events``, authenticated by the session cookie) and on each event fetches the
changed part again (``/jobs/rows``, ``/jobs/{id}/panel``); it polls those when EventSource is
missing or fails.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, RedirectResponse, StreamingResponse

from aquarium.api import deps
from aquarium.domain import errors, jobs
from aquarium.services import job_downloads, job_events, job_finder, run_service
from aquarium.web import guard, pages

router = APIRouter(route_class=guard.PageRoute, include_in_schema=False)

FILTERS = ("kind", "status", "partner", "project", "createdBy", "since", "until")
PAGE_SIZE = 25  # jobs a page unless the address says ``limit``
KEEP_ALIVE_S = 15.0  # seconds between keep-alive comments on an idle event stream
RETRY_MS = 3000  # how long an EventSource waits before reconnecting
STATUS_WORDS = (("", "any status"), ("active", "in progress"), ("finished", "finished"))
RUN_STATUS_CHOICES = (*STATUS_WORDS, *((s.value, s.value) for s in jobs.ReportRunStatus))
STATUS_CHOICES = (
    *STATUS_WORDS,
    *((s.value, s.value) for s in jobs.JobStatus),
    # Data Query's own words; completed and cancelled are AQuA's too.
    *((s.value, s.value) for s in jobs.DataQueryStatus if s.value not in set(jobs.JobStatus)),
    *RUN_STATUS_CHOICES[3:],
)
KIND_CHOICES = (
    ("", "all kinds"),
    ("aqua", "AQuA jobs"),
    ("report", "report runs"),
    ("dataquery", "Data Query jobs"),
)


def _finder(request: Request) -> job_finder.JobFinder:
    found = deps.services(request).finder
    if found is None:
        raise errors.NotFound("the job list is not available on this server")
    return found


def _downloads(request: Request) -> job_downloads.JobDownloads:
    services = deps.services(request)
    if services.report_runs is None:
        raise errors.NotFound("downloads are not available on this server")
    return job_downloads.JobDownloads(
        _finder(request), services.aqua, services.report_runs, services.data_queries
    )


def _filters(request: Request, kind: str | None) -> dict[str, list[str]]:
    """The list's query parameters as the form sent them, without blanks."""
    found = {
        name: [v.strip() for v in request.query_params.getlist(name) if v.strip()]
        for name in (*FILTERS, "cursor", "limit")
    }
    if kind is not None:
        found["kind"] = [kind]
    return {name: values for name, values in found.items() if values}


def _url(path: str, params: dict[str, list[str]], **extra: str) -> str:
    pairs = [(k, v) for k, values in params.items() for v in values if k not in extra]
    pairs += [(k, v) for k, v in extra.items() if v]
    return f"{path}?{urlencode(pairs)}" if pairs else path


def list_page(request: Request, caller: guard.WebCaller, *, kind: str | None = None) -> Response:
    """The Jobs page (``kind=None``) or the report runs page (``kind="report"``)."""
    params = _filters(request, kind)
    page_path = "/reports/runs" if kind == "report" else "/jobs"
    return pages.render(
        request,
        "jobs.html",
        **_table(request, caller, params, page_path),
        filters={name: (params.get(name) or [""])[0] for name in FILTERS},
        fixed_kind=kind,
        status_choices=RUN_STATUS_CHOICES if kind == "report" else STATUS_CHOICES,
        kind_choices=KIND_CHOICES,
    )


def _table(
    request: Request, caller: guard.WebCaller, params: dict[str, list[str]], page_path: str
) -> dict[str, Any]:
    query = job_finder.JobQuery.parse({"limit": [str(PAGE_SIZE)], **params})
    found = _finder(request).list_jobs(caller.principal, query)
    unpaged = {k: v for k, v in params.items() if k != "cursor"}
    cursor = found.get("nextCursor")
    return {
        "jobs": found["jobs"],
        "page_path": page_path,
        "here": _url(page_path, params),
        "rows_url": _url("/jobs/rows", params, page=page_path),
        "next_url": _url(page_path, unpaged, cursor=cursor) if cursor else None,
        "first_url": _url(page_path, unpaged) if "cursor" in params else None,
    }


@router.get("/jobs")
def jobs_page(request: Request, caller: guard.Caller) -> Response:
    """AQuA jobs, report runs and Data Query jobs of the tenant, newest first, with filters and
    paging."""
    return list_page(request, caller)


@router.get("/jobs/rows")
def job_rows(request: Request, caller: guard.Caller) -> Response:
    """The Jobs table alone, for the page's live updates."""
    page_path = request.query_params.get("page", "/jobs")
    page_path = page_path if page_path in {"/jobs", "/reports/runs"} else "/jobs"
    params = _filters(request, None)
    return pages.fragment(
        "_jobs_table.html", **_table(request, caller, params, page_path), csrf=caller.session.csrf
    )


@router.get("/jobs/events")
async def job_events_stream(request: Request, caller: guard.Caller) -> StreamingResponse:
    """Server-Sent Events: ``event: job`` with ``{"id"}`` after each change of one of the
    tenant's jobs (``?job=ID``: of that job). The stream ends when the session expires."""
    request.state.web_renewed = None  # a page left open does not keep its session alive
    events = deps.services(request).events
    only = request.query_params.get("job")
    return StreamingResponse(
        _stream(events, caller.principal.tenant, only, caller.session.expires),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _stream(
    events: job_events.JobEvents, tenant: str, only: str | None, ends_at: float
) -> AsyncIterator[str]:
    yield f"retry: {RETRY_MS}\n\n"
    async with events.subscribe(tenant) as queue:
        while (left := ends_at - time.time()) > 0:
            try:
                event = await asyncio.wait_for(queue.get(), timeout=min(KEEP_ALIVE_S, left))
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if only is None or event.job_id == only:
                yield f"event: job\ndata: {json.dumps({'id': event.job_id})}\n\n"


@router.get("/jobs/{job_id}")
def job_page(job_id: str, request: Request, caller: guard.Caller) -> Response:
    """One job: settings, each query with status, records, message, files and checksums."""
    job = _finder(request).job(caller.principal, job_id)
    return pages.render(request, "job.html", job=job, links=_links(job))


@router.get("/jobs/{job_id}/panel")
def job_panel(job_id: str, request: Request, caller: guard.Caller) -> Response:
    """The changing part of a job's page, for its live updates."""
    job = _finder(request).job(caller.principal, job_id)
    return pages.fragment("_job_panel.html", job=job, links=_links(job), csrf=caller.session.csrf)


@router.post("/jobs/{job_id}/cancel")
async def cancel_job(job_id: str, request: Request, caller: guard.CheckedCaller) -> Response:
    """Cancel the job, then go back to the page the button was on."""
    form = await request.form()
    back = guard.safe_next(str(form.get("next") or f"/jobs/{job_id}"))
    try:
        await run_in_threadpool(_finder(request).cancel, caller.principal, job_id)
        notice = "cancelled"
    except errors.JobAlreadyFinished:
        notice = "not-cancellable"
    return RedirectResponse(_with_notice(back, notice), status_code=303)


@router.get("/jobs/{job_id}/download")
def download_only(job_id: str, request: Request, caller: guard.Caller) -> Response:
    """The job's file when it has one (a report run: its export); else the job's files."""
    found = _downloads(request).only(caller.principal, job_id)
    if found is None:
        return RedirectResponse(f"/jobs/{job_id}#files", status_code=303)
    return _send(found)


@router.get("/jobs/{job_id}/files/{file_id}")
def download_file(job_id: str, file_id: str, request: Request, caller: guard.Caller) -> Response:
    """One result file of an AQuA job, the same bytes as ``/v1/file/{file_id}``."""
    return _send(_downloads(request).file(caller.principal, job_id, file_id))


@router.get("/jobs/{job_id}/export")
def export_run(job_id: str, request: Request, caller: guard.Caller) -> Response:
    """A report run's export (``?pivoted=true``: the crosstab), as the Reporting API sends it."""
    pivoted = request.query_params.get("pivoted") == "true"
    return _send(_downloads(request).export(caller.principal, job_id, pivoted=pivoted))


@router.get("/jobs/{job_id}/result")
def data_query_result(job_id: str, request: Request, caller: guard.Caller) -> Response:
    """A Data Query job's result file, the same bytes as its ``dataFile`` link."""
    return _send(_downloads(request).result(caller.principal, job_id))


def _send(found: run_service.FileDownload) -> FileResponse:
    return FileResponse(
        found.path,
        media_type=found.content_type,
        filename=found.filename,
        headers={"X-Checksum-Sha256": found.sha256, "Cache-Control": "no-store"},
    )


def _links(job: dict[str, Any]) -> list[dict[str, Any]]:
    """The job's downloads with the UI address of each (the session cookie authenticates it)."""
    found = []
    for entry in job.get("downloads") or []:
        kind = job_downloads.ui_kind(str(entry.get("url", "")))
        if kind is None:
            continue
        what, detail = kind
        if what == "file":
            href = f"/jobs/{job['id']}/files/{detail}"
        elif what == "result":
            href = f"/jobs/{job['id']}/result"
        else:
            href = f"/jobs/{job['id']}/export" + ("?pivoted=true" if detail else "")
        found.append({**entry, "href": href})
    return found


def _with_notice(url: str, notice: str) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "notice"]
    query.append(("notice", notice))
    return f"{parts.path}?{urlencode(query)}"
