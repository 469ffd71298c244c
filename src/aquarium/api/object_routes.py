"""Zuora's object CRUD endpoints: ``/v1/object/{object}`` and ``/v1/object/{object}/{id}``.

Refusals use the CRUD envelope ``{"Success": false, "Errors": [{"Code", "Message"}]}``: HTTP 404
for an unknown object or id (another tenant's ids included), 400 for anything wrong with the body.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from aquarium.api import body, deps
from aquarium.domain import errors, tenancy
from aquarium.engines import billing_writes
from aquarium.services import objects

PREFIX = "/v1/object"
router = APIRouter(tags=["Object CRUD"])

Services = Annotated[deps.AppServices, Depends(deps.services)]
Caller = Annotated[tenancy.Principal, Depends(deps.principal)]


def _service(services: deps.AppServices) -> objects.ObjectService:
    if services.objects is None:
        raise errors.NotFound("object CRUD is not available on this server")
    return services.objects


def _refusal(error: billing_writes.WriteError) -> JSONResponse:
    not_found = isinstance(error, billing_writes.UnknownObject | billing_writes.RowNotFound)
    problems = [{"Code": p.code, "Message": p.message} for p in error.problems]
    return JSONResponse(
        {"Success": False, "Errors": problems}, status_code=404 if not_found else 400
    )


def _answer(call: Callable[[], dict[str, Any]]) -> JSONResponse:
    try:
        return JSONResponse(call())
    except billing_writes.WriteError as exc:
        return _refusal(exc)


async def _payload(request: Request, services: deps.AppServices) -> object:
    try:
        return await body.json_body(request, services.settings.max_body_bytes)
    except errors.MalformedRequest:
        # In the CRUD envelope (HTTP 400), not AQuA's.
        raise billing_writes.InvalidValue("The request body is not valid JSON") from None


async def create_object(
    object_name: str, request: Request, services: Services, caller: Caller
) -> JSONResponse:
    """Create a record of a catalogue object (the body holds its fields by API name)."""
    service = _service(services)
    try:
        payload = await _payload(request, services)
    except billing_writes.WriteError as exc:
        return _refusal(exc)
    return await run_in_threadpool(_answer, lambda: service.create(caller, object_name, payload))


def get_object(object_name: str, object_id: str, services: Services, caller: Caller) -> Any:
    """A live record's fields by API name (nulls left out)."""
    service = _service(services)
    return _answer(lambda: service.get(caller, object_name, object_id))


async def update_object(
    object_name: str, object_id: str, request: Request, services: Services, caller: Caller
) -> JSONResponse:
    """Change fields of a live record."""
    service = _service(services)
    try:
        payload = await _payload(request, services)
    except billing_writes.WriteError as exc:
        return _refusal(exc)
    return await run_in_threadpool(
        _answer, lambda: service.update(caller, object_name, object_id, payload)
    )


def delete_object(object_name: str, object_id: str, services: Services, caller: Caller) -> Any:
    """Delete a record (soft: incremental exports report it as deleted for 30 days)."""
    service = _service(services)
    return _answer(lambda: service.delete(caller, object_name, object_id))


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
