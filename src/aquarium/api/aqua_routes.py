"""AQuA endpoints under ``/v1/batch-query`` and ``/apps/api/batch-query`` (reference §1.1)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import JSONResponse, Response

from aquarium.api import body, deps
from aquarium.domain import tenancy

PREFIXES = ("/v1/batch-query", "/apps/api/batch-query")
router = APIRouter(tags=["Aggregate Queries (AQuA)"])

Services = Annotated[deps.AppServices, Depends(deps.services)]
Caller = Annotated[tenancy.Principal, Depends(deps.principal)]


async def submit_job(
    request: Request,
    services: Services,
    caller: Caller,
    idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key")] = None,
) -> JSONResponse:
    """Submit an aggregate query job (the body is Zuora's AQuA request)."""
    payload = await body.json_body(request, services.settings.max_body_bytes)
    document = services.aqua.submit(caller, payload, idempotency_key)
    return JSONResponse(document)


async def get_job(job_id: str, services: Services, caller: Caller) -> Response:
    """A job with its batches, statuses, record counts and file ids."""
    # async and pre-rendered: polling is the hot path (no thread hop, no re-encoding).
    return Response(services.aqua.get_json(caller, job_id), media_type="application/json")


def cancel_job(job_id: str, services: Services, caller: Caller) -> dict[str, Any]:
    """Cancel a submitted or executing job: its running statement stops at once."""
    return services.aqua.cancel(caller, job_id)


def last_completed_job(
    partner: str, project: str, services: Services, caller: Caller
) -> dict[str, Any]:
    """The last completed job of a stateful partner/project session."""
    return services.aqua.last_completed(caller, partner, project)


ROUTES: tuple[tuple[str, Callable[..., Any], str, str], ...] = (
    ("", submit_job, "POST", "Submit a job"),
    ("/jobs/{job_id}", get_job, "GET", "Get a job"),
    ("/jobs/{job_id}", cancel_job, "DELETE", "Cancel a job"),
    (
        "/jobs/partner/{partner}/project/{project}",
        last_completed_job,
        "GET",
        "Last completed job of a session",
    ),
)

for prefix in PREFIXES:
    legacy = prefix.startswith("/apps")
    for path, endpoint, method, summary in ROUTES:
        router.add_api_route(
            prefix + path,
            endpoint,
            methods=[method],
            summary=summary + (" (legacy path)" if legacy else ""),
            operation_id=endpoint.__name__ + ("_legacy" if legacy else ""),
        )
