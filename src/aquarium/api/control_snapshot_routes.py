"""Test control's reset under ``/aquarium/api/v1/control/snapshots``: save the caller's tenant
as a named snapshot, list, restore and remove them.

Mounted only on a server started with ``--test-control`` (``AQUARIUM_TEST_CONTROL=1``);
elsewhere the paths answer 404 like any unknown route. For the tenant's administrators; anyone
else gets 403. Errors are the job API's ``{"error": {"code", "message"}}``: a bad name 400, an
unknown snapshot 404, runs in progress 409 (``busy``). Each route calls one use case of
``services/tenant_snapshots.py``; saving and restoring run in a thread (they take up to a
second or so at scale 1).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from aquarium.api import body, deps
from aquarium.domain import errors, snapshots, tenancy
from aquarium.services import tenant_snapshots

PREFIX = "/aquarium/api/v1/control/snapshots"
router = APIRouter(prefix=PREFIX, include_in_schema=False)
Caller = Annotated[tenancy.Principal, Depends(deps.principal)]


def _service(request: Request) -> tenant_snapshots.TenantSnapshots:
    found = deps.services(request).snapshots
    if found is None:  # not mounted without one; kept for a router mounted by hand
        raise errors.RouteNotFound("no test control on this server")
    return found


@router.post("", status_code=201)
async def save(request: Request, caller: Caller) -> JSONResponse:
    """``{"name": "clean"}``: save the tenant's billing data, runs and files; the listing
    entry (``name``, ``created``, ``rows``, ``runRows``, ``files``, ``bytes``)."""
    service = _service(request)
    tenant = service.admin_tenant(caller)
    payload = await body.json_body(request, deps.services(request).settings.max_body_bytes)
    return JSONResponse(await run_in_threadpool(service.save, tenant, payload), status_code=201)


@router.get("")
def list_snapshots(request: Request, caller: Caller) -> JSONResponse:
    """The tenant's snapshots, oldest first."""
    service = _service(request)
    return JSONResponse({"snapshots": service.list(service.admin_tenant(caller))})


@router.post("/{name}/restore")
async def restore(name: str, request: Request, caller: Caller) -> JSONResponse:
    """Put the tenant back as saved in ``name``; the snapshot's listing entry."""
    service = _service(request)
    tenant = service.admin_tenant(caller)
    snapshots.check_name(name)
    return JSONResponse(await run_in_threadpool(service.restore, tenant, name))


@router.delete("/{name}", status_code=204)
async def remove(name: str, request: Request, caller: Caller) -> Response:
    service = _service(request)
    tenant = service.admin_tenant(caller)
    snapshots.check_name(name)
    await run_in_threadpool(service.remove, tenant, name)
    return Response(status_code=204)
