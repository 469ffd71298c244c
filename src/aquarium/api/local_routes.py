"""The CLI's way into a running server: ``/aquarium/api/v1/local/...`` (not in openapi.json).

Used by ``aquarium query``, ``simulate``, ``datagen``, ``load`` and ``demo`` on the server's own
data dir (:mod:`aquarium.services.local_ops`); every call carries the server's per-start token in
``X-Aquarium-Local-Token``. Refusals are ``{"error": {"code", "message", "excerpt"}}`` with the
message as the CLI prints it (``api/errors.py``).

- ``GET /local``: ``{"dataDir"}``, so the CLI knows the server answers and serves its data dir;
- ``POST /local/query`` ``{"tenant", "zoql", "labels", "utc", "type", "null"}``: the CSV;
- ``POST /local/simulate`` ``{"tenant", "days", "seed"}``: the simulation report;
- ``POST /local/datagen`` ``{"tenant", "scale", "seed", "timeZone", "objects"}``:
  ``{"rows", "seconds"}``;
- ``POST /local/load`` ``{"tenant", "directory", "addFields"}``: ``{"rows", "seconds",
  "addedFields"}`` (the directory is read by the server, on this machine);
- ``POST /local/add-field`` ``{"tenant", "object", "name", "type", "label", "values"}``: the field;
- ``POST /local/remove-field`` ``{"tenant", "object", "name"}``: the removed field.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, TypeVar

import pydantic
from fastapi import APIRouter, Depends, Header, Request
from fastapi.responses import FileResponse, JSONResponse
from starlette.background import BackgroundTask

from aquarium.api import body as request_body
from aquarium.api import deps
from aquarium.domain import errors
from aquarium.services import local_ops
from aquarium.zoql import ast

PREFIX = "/aquarium/api/v1/local"
TOKEN_HEADER = "X-Aquarium-Local-Token"
router = APIRouter(prefix=PREFIX, include_in_schema=False)


def _local(
    request: Request,
    token: Annotated[str | None, Header(alias=TOKEN_HEADER)] = None,
) -> local_ops.LocalOperations:
    found = deps.services(request).local
    if found is None:
        raise errors.NotFound("this server takes no local commands")
    found.check_token(token)
    return found


Local = Annotated[local_ops.LocalOperations, Depends(_local)]


class _Body(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid", populate_by_name=True)


class QueryBody(_Body):
    tenant: str
    zoql: str
    labels: bool = False
    utc: bool = False
    type: ast.Dialect = ast.Dialect.EXPORT
    null: str = ""


class SimulateBody(_Body):
    tenant: str
    days: int
    seed: int


class DatagenBody(_Body):
    tenant: str
    scale: float
    seed: int
    time_zone: str | None = pydantic.Field(default=None, alias="timeZone")
    objects: list[str] | None = None


class LoadBody(_Body):
    tenant: str
    directory: str
    add_fields: bool = pydantic.Field(default=False, alias="addFields")


class AddFieldBody(_Body):
    tenant: str
    object: str
    name: str
    type: str
    label: str | None = None
    values: list[str] | None = None


class RemoveFieldBody(_Body):
    tenant: str
    object: str
    name: str


BodyT = TypeVar("BodyT", bound=_Body)


def _json(model: type[BodyT]) -> Callable[[Request], Awaitable[BodyT]]:
    """A dependency reading the body as ``model``: through ``api/body.py`` like every JSON body
    (its limits: Unicode, nesting, numbers), then pydantic; InvalidParameters says what is
    wrong, as the framework's own validation did."""

    async def read(request: Request) -> BodyT:
        limit = deps.services(request).settings.max_body_bytes
        payload = await request_body.json_body(request, limit)
        try:
            return model.model_validate(payload)
        except pydantic.ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(part) for part in ('body', *problem['loc']))}: {problem['msg']}"
                for problem in exc.errors()
            )
            raise errors.InvalidParameters(problems) from None

    return read


@router.get("")
def about(local: Local) -> dict[str, Any]:
    return local.about()


# The token (Local) is checked before the body is read: dependencies run in this order.
@router.post("/query")
def query(local: Local, body: Annotated[QueryBody, Depends(_json(QueryBody))]) -> FileResponse:
    found = local.query(
        zoql=body.zoql,
        tenant=body.tenant,
        use_labels=body.labels,
        utc=body.utc,
        dialect=body.type,
        null=body.null,
    )
    return FileResponse(found.path, media_type="text/csv", background=BackgroundTask(found.discard))


@router.post("/simulate")
def simulate(
    local: Local, body: Annotated[SimulateBody, Depends(_json(SimulateBody))]
) -> JSONResponse:
    return JSONResponse(local.simulate(tenant=body.tenant, days=body.days, seed=body.seed))


@router.post("/datagen")
def datagen(
    local: Local, body: Annotated[DatagenBody, Depends(_json(DatagenBody))]
) -> JSONResponse:
    return JSONResponse(
        local.datagen(
            tenant=body.tenant,
            scale=body.scale,
            seed=body.seed,
            time_zone=body.time_zone,
            objects=body.objects,
        )
    )


@router.post("/load")
def load(local: Local, body: Annotated[LoadBody, Depends(_json(LoadBody))]) -> JSONResponse:
    return JSONResponse(
        local.load(tenant=body.tenant, directory=body.directory, add_fields=body.add_fields)
    )


@router.post("/add-field")
def add_field(
    local: Local, body: Annotated[AddFieldBody, Depends(_json(AddFieldBody))]
) -> JSONResponse:
    return JSONResponse(local.add_field(body.model_dump()))


@router.post("/remove-field")
def remove_field(
    local: Local, body: Annotated[RemoveFieldBody, Depends(_json(RemoveFieldBody))]
) -> JSONResponse:
    return JSONResponse(
        local.remove_field(tenant=body.tenant, object_name=body.object, name=body.name)
    )
