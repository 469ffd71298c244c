"""The Data Query API: ``/query/jobs`` (submit, get, list, cancel; no ``/v1``) and the signed
result links of completed jobs (``/query/results/...``, no credentials).

Reference dataquery.md sections 1-7. Every answer is ``{"data": ...}``; errors are raised and
``api/errors.py`` states them as ``{"code", "message"}``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, JSONResponse

from aquarium.api import body, deps
from aquarium.domain import dataquery_errors as dq_errors
from aquarium.domain import errors, tenancy
from aquarium.services import data_queries

router = APIRouter(tags=["Data Query"])
Caller = Annotated[tenancy.Principal, Depends(deps.principal)]
#: A query may be 1,000,000 characters (reference section 9): room for it in any encoding.
MAX_SUBMIT_BYTES = 4 * 1024 * 1024


def _service(request: Request) -> data_queries.DataQueryService:
    found = deps.services(request).data_queries
    if found is None:
        raise errors.ApiUnavailable(message="Data Query is not available on this server.")
    return found


def _ok(data: object) -> JSONResponse:
    return JSONResponse({"data": data})


def _base_url(request: Request) -> str:
    return str(request.base_url)


async def submit_query(request: Request, caller: Caller) -> JSONResponse:
    """Submit one read-only SQL statement; the job answers ``accepted`` at once."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media != "application/json":
        raise dq_errors.DataQueryUnsupportedMediaType("HTTP 415 Unsupported Media Type")
    limit = max(deps.services(request).settings.max_body_bytes, MAX_SUBMIT_BYTES)
    payload = await body.json_body(request, limit)
    key = request.headers.get("idempotency-key")
    return _ok(_service(request).submit(caller, payload, _base_url(request), key))


def get_query(job_id: str, request: Request, caller: Caller) -> JSONResponse:
    """A job: ``queryStatus``, and ``dataFile``/``outputRows``/``processingTime`` once completed."""
    return _ok(_service(request).get(caller, job_id, _base_url(request)))


def list_queries(request: Request, caller: Caller) -> JSONResponse:
    """The newest jobs (``pageSize``, default 20, at most 1000), optionally of one
    ``queryStatus``."""
    params = request.query_params
    jobs = _service(request).list_jobs(
        caller, params.get("queryStatus"), params.get("pageSize"), _base_url(request)
    )
    return _ok(jobs)


def cancel_query(job_id: str, request: Request, caller: Caller) -> JSONResponse:
    """Cancel a job that is accepted or in_progress; its running statement stops."""
    return _ok(_service(request).cancel(caller, job_id, _base_url(request)))


def download_result(tenant: str, file_id: str, name: str, request: Request) -> FileResponse:
    """A completed job's result file, by the signed link of its ``dataFile`` (Range supported)."""
    params = request.query_params
    found = _service(request).data_file(
        tenant, file_id, params.get("expires"), params.get("signature")
    )
    return FileResponse(
        found.path,
        media_type=found.content_type,
        headers={"X-Checksum-Sha256": found.sha256},
    )


router.add_api_route(
    "/query/jobs", submit_query, methods=["POST"], summary="Submit a data query",
    operation_id="submit_data_query",
)  # fmt: skip
router.add_api_route(
    "/query/jobs", list_queries, methods=["GET"], summary="List data query jobs",
    operation_id="list_data_queries",
)  # fmt: skip
router.add_api_route(
    "/query/jobs/{job_id}", get_query, methods=["GET"], summary="Retrieve a data query job",
    operation_id="get_data_query",
)  # fmt: skip
router.add_api_route(
    "/query/jobs/{job_id}", cancel_query, methods=["DELETE"], summary="Cancel a data query job",
    operation_id="cancel_data_query",
)  # fmt: skip
router.add_api_route(
    "/query/results/{tenant}/{file_id}/{name}", download_result, methods=["GET"],
    summary="Download a data query result (signed link)", operation_id="download_data_query_result",
)  # fmt: skip
