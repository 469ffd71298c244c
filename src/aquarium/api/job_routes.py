"""Aquarium's own job API under ``/aquarium/api/v1`` (docs/job-finder-api.md).

Jobs of every kind listed, shown and cancelled, and a Server-Sent Events stream of job changes.
Same authentication as the Zuora-shaped endpoints; errors are ``{"error": {"code", "message"}}``
(``api/errors.py``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, StreamingResponse

from aquarium.api import deps
from aquarium.domain import tenancy
from aquarium.services import job_events, job_finder

PREFIX = "/aquarium/api/v1"
KEEP_ALIVE_S = 15.0  # seconds between keep-alive comments on an idle event stream
RETRY_MS = 3000  # how long an EventSource waits before reconnecting
router = APIRouter(prefix=PREFIX, tags=["Aquarium: jobs of every kind"])
Caller = Annotated[tenancy.Principal, Depends(deps.principal)]


def _finder(request: Request) -> job_finder.JobFinder:
    found = deps.services(request).finder
    assert found is not None, "the composition root builds a JobFinder"
    return found


@router.get("/jobs", summary="List jobs of every kind", operation_id="finder_list_jobs")
def list_jobs(request: Request, caller: Caller) -> JSONResponse:
    """Filters ``kind``, ``status``, ``partner``, ``project``, ``createdBy``, ``since``,
    ``until``; ``sort``; ``limit``; ``cursor`` (the previous page's ``nextCursor``)."""
    params = request.query_params
    query = job_finder.JobQuery.parse({key: params.getlist(key) for key in params})
    return JSONResponse(_finder(request).list_jobs(caller, query))


@router.get(
    "/jobs/{job_id}",
    summary="A job in detail, with per-batch progress",
    operation_id="finder_get_job",
)
def get_job(job_id: str, request: Request, caller: Caller) -> JSONResponse:
    return JSONResponse(_finder(request).job(caller, job_id))


@router.delete(
    "/jobs/{job_id}", summary="Cancel a job of any kind", operation_id="finder_cancel_job"
)
def cancel_job(job_id: str, request: Request, caller: Caller) -> JSONResponse:
    return JSONResponse(_finder(request).cancel(caller, job_id))


@router.get(
    "/events",
    summary="Server-Sent Events: job changes of the caller's tenant",
    operation_id="finder_events",
)
async def events(request: Request, caller: Caller) -> StreamingResponse:
    """``event: job`` with ``{"id", "kind", "status", "at"}``; ``?job=ID`` for one job."""
    services = deps.services(request)
    only = request.query_params.get("job")
    return StreamingResponse(
        _stream(services.events, _finder(request), caller, only),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _stream(
    source: job_events.JobEvents,
    finder: job_finder.JobFinder,
    caller: tenancy.Principal,
    only: str | None,
) -> AsyncIterator[str]:
    async with source.subscribe(caller.tenant) as queue:
        # Sent once subscribed: a client that has read it misses no later change.
        yield f"retry: {RETRY_MS}\n\n"
        while True:
            try:
                event = await asyncio.wait_for(queue.get(), timeout=KEEP_ALIVE_S)
            except TimeoutError:
                yield ": keep-alive\n\n"
                continue
            if only is not None and event.job_id != only:
                continue
            found = await run_in_threadpool(finder.state, caller, event.job_id)
            if found is None:
                continue
            data: dict[str, Any] = {**found, "at": job_finder.stamp(event.at)}
            yield f"event: job\ndata: {json.dumps(data)}\n\n"
