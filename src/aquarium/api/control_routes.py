"""The test-control API under ``/aquarium/api/v1/control`` (``--test-control`` only).

Mounted by ``api/app.py`` only on a server started with the switch: anywhere else these paths
are unknown (404 like any other). For the administrators of the caller's tenant; anyone else gets
403. Errors are the job API's ``{"error": {"code", "message"}}`` (``api/errors.py``). Each route
calls one use case of ``services/control.py``; every rule and request is the caller's tenant's.
Not in ``openapi.json``: the document describes what every server serves (docs/openapi.md), and
docs/testing-your-integration.md describes these.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import JSONResponse

from aquarium.api import body, deps
from aquarium.domain import errors, tenancy
from aquarium.services import control

PREFIX = "/aquarium/api/v1/control"
router = APIRouter(prefix=PREFIX, include_in_schema=False)
Caller = Annotated[tenancy.Principal, Depends(deps.principal)]


def _service(request: Request) -> control.ControlService:
    found = deps.services(request).control
    if found is None:  # not mounted without one; kept for a router mounted by hand
        raise errors.RouteNotFound("no test control on this server")
    return found


@router.get("/requests")
def list_requests(request: Request, caller: Caller, limit: str = "100") -> JSONResponse:
    """The tenant's last ``limit`` requests (default 100, at most 1000), oldest first."""
    service = _service(request)
    tenant = service.admin_tenant(caller)
    if not limit.isdigit():
        raise errors.InvalidControlRequest(
            f"limit must be a whole number from 1 to {control.REQUESTS_KEPT}"
        )
    return JSONResponse({"requests": service.requests(tenant, int(limit))})


@router.delete("/requests", status_code=204)
def clear_requests(request: Request, caller: Caller) -> Response:
    service = _service(request)
    service.clear_requests(service.admin_tenant(caller))
    return Response(status_code=204)


@router.post("/faults", status_code=201)
async def add_fault(request: Request, caller: Caller) -> JSONResponse:
    service = _service(request)
    tenant = service.admin_tenant(caller)
    payload = await body.json_body(request, deps.services(request).settings.max_body_bytes)
    return JSONResponse(service.add_fault(tenant, payload), status_code=201)


@router.get("/faults")
def list_faults(request: Request, caller: Caller) -> JSONResponse:
    """The tenant's rules with ``fired``, ``remaining`` and ``active``, in the order added."""
    service = _service(request)
    return JSONResponse({"faults": service.faults(service.admin_tenant(caller))})


@router.get("/faults/log")
def fault_log(request: Request, caller: Caller) -> JSONResponse:
    """Every firing of the tenant's rules (oldest first, the last 1000)."""
    service = _service(request)
    return JSONResponse({"firings": service.firings(service.admin_tenant(caller))})


@router.delete("/faults/{rule_id}", status_code=204)
def remove_fault(rule_id: str, request: Request, caller: Caller) -> Response:
    service = _service(request)
    service.remove_fault(service.admin_tenant(caller), rule_id)
    return Response(status_code=204)


@router.delete("/faults", status_code=204)
def remove_faults(request: Request, caller: Caller) -> Response:
    service = _service(request)
    service.remove_faults(service.admin_tenant(caller))
    return Response(status_code=204)
