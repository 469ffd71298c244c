"""AQuA endpoints under ``/v1/batch-query`` and ``/apps/api/batch-query`` (reference §1.1)."""

from __future__ import annotations

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


for prefix in PREFIXES:
    legacy = prefix.startswith("/apps")
    suffix = " (legacy path)" if legacy else ""
    router.add_api_route(
        prefix,
        submit_job,
        methods=["POST"],
        summary="Submit a job" + suffix,
        operation_id=f"submit_job{'_legacy' if legacy else ''}",
    )
    router.add_api_route(
        prefix + "/jobs/{job_id}",
        get_job,
        methods=["GET"],
        summary="Get a job" + suffix,
        operation_id=f"get_job{'_legacy' if legacy else ''}",
    )
    router.add_api_route(
        prefix + "/jobs/{job_id}",
        cancel_job,
        methods=["DELETE"],
        summary="Cancel a job" + suffix,
        operation_id=f"cancel_job{'_legacy' if legacy else ''}",
    )
    router.add_api_route(
        prefix + "/jobs/partner/{partner}/project/{project}",
        last_completed_job,
        methods=["GET"],
        summary="Last completed job of a session" + suffix,
        operation_id=f"last_completed_job{'_legacy' if legacy else ''}",
    )
