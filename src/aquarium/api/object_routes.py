"""Zuora's object CRUD endpoints: ``/v1/object/{object}`` and ``/v1/object/{object}/{id}``.

Refusals use the CRUD envelope ``{"Success": false, "Errors": [{"Code", "Message"}]}``: HTTP 404
for an unknown object or id (another tenant's ids included), 400 for anything wrong with the body.
Routes only raise; ``api/errors.py`` states the refusal for these paths.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from aquarium.api import body, deps
from aquarium.domain import errors, tenancy
from aquarium.services import objects

PREFIX = "/v1/object"
router = APIRouter(tags=["Object CRUD"])

Services = Annotated[deps.AppServices, Depends(deps.services)]
Caller = Annotated[tenancy.Principal, Depends(deps.principal)]


def _service(services: deps.AppServices) -> objects.ObjectService:
    if services.objects is None:
        raise errors.ApiUnavailable(message="Object CRUD is not available on this server.")
    return services.objects


async def create_object(
    object_name: str, request: Request, services: Services, caller: Caller
) -> JSONResponse:
    """Create a record of a catalogue object (the body holds its fields by API name)."""
    service = _service(services)
    payload = await body.json_body(request, services.settings.max_body_bytes)
    # The write path blocks on DuckDB: off the event loop.
    return JSONResponse(await run_in_threadpool(service.create, caller, object_name, payload))


def get_object(
    object_name: str, object_id: str, services: Services, caller: Caller
) -> JSONResponse:
    """A live record's fields by API name (nulls left out)."""
    return JSONResponse(_service(services).get(caller, object_name, object_id))


async def update_object(
    object_name: str, object_id: str, request: Request, services: Services, caller: Caller
) -> JSONResponse:
    """Change fields of a live record."""
    service = _service(services)
    payload = await body.json_body(request, services.settings.max_body_bytes)
    return JSONResponse(
        await run_in_threadpool(service.update, caller, object_name, object_id, payload)
    )


def delete_object(
    object_name: str, object_id: str, services: Services, caller: Caller
) -> JSONResponse:
    """Delete a record (soft: incremental exports report it as deleted for 30 days)."""
    return JSONResponse(_service(services).delete(caller, object_name, object_id))


ROUTES: tuple[tuple[str, Callable[..., Any], str, str], ...] = (
    ("/{object_name}", create_object, "POST", "Create a record"),
    ("/{object_name}/{object_id}", get_object, "GET", "Retrieve a record"),
    ("/{object_name}/{object_id}", update_object, "PUT", "Update a record"),
    ("/{object_name}/{object_id}", delete_object, "DELETE", "Delete a record"),
)

for path, endpoint, method, summary in ROUTES:
    router.add_api_route(
        PREFIX + path, endpoint, methods=[method], summary=summary, operation_id=endpoint.__name__
    )
