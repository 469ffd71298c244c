"""Test control's clock under ``/aquarium/api/v1/control``: the caller's tenant's "now".

Mounted only on a server started with ``--test-control`` (``AQUARIUM_TEST_CONTROL=1``);
elsewhere the paths answer 404 like any unknown route. For the tenant's administrators; anyone
else gets 403. Errors are the job API's ``{"error": {"code", "message"}}``. Each route calls
one use case of ``services/clock_control.py``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from aquarium.api import body, deps
from aquarium.domain import errors, tenancy
from aquarium.services import clock_control

PREFIX = "/aquarium/api/v1/control"
router = APIRouter(prefix=PREFIX, tags=["Aquarium: test control"])
Caller = Annotated[tenancy.Principal, Depends(deps.principal)]


def _service(request: Request) -> clock_control.ClockControl:
    found = deps.services(request).clock_control
    if found is None:
        raise errors.NotFound("this server was started without test control")
    return found


@router.get("/clock", summary="The tenant's clock", operation_id="get_clock")
def get_clock(request: Request, caller: Caller) -> JSONResponse:
    """``now`` (UTC), ``frozen``, ``offsetSeconds`` from the server's clock, ``serverNow``."""
    service = _service(request)
    return JSONResponse(service.document(service.admin_tenant(caller)))


@router.post("/clock", summary="Freeze, set, advance or reset the tenant's clock")
async def move_clock(request: Request, caller: Caller) -> JSONResponse:
    """``{"action": "freeze"|"set"|"advance"|"reset", "at": ISO-8601, "frozen": bool,
    "by": {"days", "hours", "minutes", "seconds"}}``; an advance sweeps what expired."""
    service = _service(request)
    tenant = service.admin_tenant(caller)
    payload = await body.json_body(request, deps.services(request).settings.max_body_bytes)
    return JSONResponse(await run_in_threadpool(service.move, tenant, payload))
