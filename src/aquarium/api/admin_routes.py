"""The tenant administration API under ``/aquarium/api/v1``: custom fields and features.

For the administrators of the caller's tenant (``users.admin``); anyone else gets 403. Errors are
the job API's ``{"error": {"code", "message"}}`` (``api/errors.py``). Each route reads the
request and calls one use case of ``services/custom_fields.py``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from aquarium.api import body, deps
from aquarium.domain import errors, tenancy
from aquarium.services import custom_fields

PREFIX = "/aquarium/api/v1"
router = APIRouter(prefix=PREFIX, tags=["Aquarium: tenant administration"])
Caller = Annotated[tenancy.Principal, Depends(deps.principal)]


def _service(request: Request) -> custom_fields.CustomFields:
    found = deps.services(request).custom_fields
    if found is None:
        raise errors.NotFound("this server keeps no custom fields")
    return found


@router.get(
    "/custom-fields", summary="List the tenant's custom fields", operation_id="list_custom_fields"
)
def list_fields(request: Request, caller: Caller, object: str | None = None) -> JSONResponse:
    """``?object=X``: only that object's; in order of declaration."""
    service = _service(request)
    found = service.declared(service.admin_tenant(caller), object)
    return JSONResponse({"fields": [custom_fields.document(field) for field in found]})


@router.post(
    "/custom-fields", summary="Add a custom field", operation_id="add_custom_field", status_code=201
)
async def add_field(request: Request, caller: Caller) -> JSONResponse:
    service = _service(request)
    tenant = service.admin_tenant(caller)
    payload = await body.json_body(request, deps.services(request).settings.max_body_bytes)
    added = await run_in_threadpool(service.add_document, tenant, payload)
    return JSONResponse(added, status_code=201)


@router.delete(
    "/custom-fields/{object_name}/{name}",
    summary="Remove a custom field (its values are gone)",
    operation_id="remove_custom_field",
    status_code=204,
)
def remove_field(object_name: str, name: str, request: Request, caller: Caller) -> Response:
    service = _service(request)
    service.remove(service.admin_tenant(caller), object_name, name)
    return Response(status_code=204)


@router.get(
    "/tenant/features", summary="The tenant's feature switches", operation_id="get_features"
)
def get_features(request: Request, caller: Caller) -> JSONResponse:
    service = _service(request)
    return JSONResponse(service.features(service.admin_tenant(caller)))


@router.put("/tenant/features", summary="Switch the tenant's features", operation_id="set_features")
async def set_features(request: Request, caller: Caller) -> JSONResponse:
    service = _service(request)
    tenant = service.admin_tenant(caller)
    payload = await body.json_body(request, deps.services(request).settings.max_body_bytes)
    return JSONResponse(await run_in_threadpool(service.features_document, tenant, payload))
