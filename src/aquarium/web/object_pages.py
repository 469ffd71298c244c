"""The Objects pages: the catalogue (objects, fields, types, related objects) and a ZOQL box.

The box submits its statement as an AQuA job (:mod:`aquarium.services.zoql_preview`) and shows
the first rows of the result, or Zuora's error message with the line and column it points at.
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool

from aquarium.api import deps
from aquarium.catalog import model
from aquarium.domain import errors
from aquarium.services import zoql_preview
from aquarium.web import guard, pages

router = APIRouter(route_class=guard.PageRoute, include_in_schema=False)
SAMPLE_FIELDS = 4  # fields the suggested statement selects
SAMPLE_ROWS = 20  # its limit


def suggested_query(source: model.ObjectDef | None) -> str:
    """A statement to start from: a few fields of ``source`` (or of Account)."""
    if source is None:
        return "select AccountNumber, Name, Balance from Account limit 20"
    names = [f.name for f in source.export_fields[:SAMPLE_FIELDS]]
    return f"select {', '.join(names)} from {source.name} limit {SAMPLE_ROWS}"


@router.get("/objects")
def objects_page(request: Request, caller: guard.Caller) -> Response:
    """Every object of the catalogue, and the ZOQL box."""
    return _page(request, caller, None, suggested_query(None), None)


@router.get("/objects/{name}")
def object_page(name: str, request: Request, caller: guard.Caller) -> Response:
    """One object: its fields with types and its joinable related objects; NotFound if unknown."""
    source = _catalog(request, caller).object(name)
    if source is None:
        raise errors.NotFound(f"there is no object {name!r} in the catalogue")
    return _page(request, caller, source, suggested_query(source), None)


@router.post("/objects/query")
async def run_query(request: Request, caller: guard.CheckedCaller) -> Response:
    """Run the box's statement as an AQuA job and show its first rows or its error."""
    form = await request.form()
    query = str(form.get("query") or "")
    source = _catalog(request, caller).object(str(form.get("object") or ""))
    preview = zoql_preview.ZoqlPreview(deps.services(request).aqua)
    outcome = await run_in_threadpool(preview.run, caller.principal, query)
    status = 400 if outcome.job_id is None else 200
    return _page(request, caller, source, query, outcome, status=status)


def _catalog(request: Request, caller: guard.WebCaller) -> model.Catalog:
    """The catalogue of the signed-in user's tenant (its features, its custom fields)."""
    return deps.services(request).aqua.catalog_for(caller.principal)


def _page(
    request: Request,
    caller: guard.WebCaller,
    source: model.ObjectDef | None,
    query: str,
    preview: zoql_preview.Preview | None,
    *,
    status: int = 200,
) -> Response:
    catalog = _catalog(request, caller)
    return pages.render(
        request,
        "object.html" if source is not None else "objects.html",
        status=status,
        objects=sorted(catalog, key=lambda o: o.name),
        source=source,
        related=[(r, catalog.object(r.object)) for r in source.related] if source else [],
        query=query,
        preview=preview,
    )
