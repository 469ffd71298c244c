"""Describe (catalogue XML), OAuth tokens, health and metrics."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from aquarium import observability
from aquarium.api import body, deps
from aquarium.domain import tenancy
from aquarium.services import describe

router = APIRouter()
Services = Annotated[deps.AppServices, Depends(deps.services)]
Caller = Annotated[tenancy.Principal, Depends(deps.principal)]
XML = "application/xml;charset=UTF-8"
TOKEN_BODY_LIMIT = 16 * 1024


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.get(
    "/v1/describe", tags=["Describe"], summary="List the objects", operation_id="describe_objects"
)
def describe_objects(request: Request, services: Services, caller: Caller) -> Response:
    catalog = services.aqua.catalog_for(caller)
    return Response(describe.objects_xml(catalog, _base_url(request)), media_type=XML)


@router.get(
    "/v1/describe/{object_name}",
    tags=["Describe"],
    summary="Describe one object",
    operation_id="describe_object",
)
def describe_object(
    object_name: str, request: Request, services: Services, caller: Caller
) -> Response:
    catalog = services.aqua.catalog_for(caller)
    return Response(describe.object_xml(catalog, object_name, _base_url(request)), media_type=XML)


@router.post(
    "/oauth/token", tags=["OAuth"], summary="Create an OAuth token", operation_id="create_token"
)
async def create_token(request: Request, services: Services) -> JSONResponse:
    """``client_credentials`` grant; the client may also authenticate with a Basic header."""
    raw = await body.read_limited(request, TOKEN_BODY_LIMIT)
    form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8", "replace")).items()}
    client_id, client_secret = form.get("client_id"), form.get("client_secret")
    if client_id is None or client_secret is None:
        client_id, client_secret = services.authenticators().basic_pair(
            request.headers.get("authorization")
        ) or (None, None)
    if form.get("grant_type") != "client_credentials":
        return JSONResponse(
            {
                "error": "unsupported_grant_type",
                "error_description": "grant_type must be client_credentials",
            },
            status_code=400,
        )
    grant = None
    if client_id is not None and client_secret is not None:
        grant = services.authenticators().issue_token(
            client_id, client_secret, now=services.clock.now()
        )
    if grant is None:
        return JSONResponse(
            {"error": "invalid_client", "error_description": "Bad client credentials"},
            status_code=401,
        )
    return JSONResponse(
        {
            "access_token": grant.access_token,
            "token_type": grant.token_type,
            "expires_in": grant.expires_in,
            "scope": grant.scope,
            "jti": grant.jti,
        },
        headers={"Cache-Control": "no-store"},
    )


@router.get("/healthz", tags=["Operations"], summary="Ready to accept jobs", operation_id="healthz")
def healthz(services: Services) -> JSONResponse:
    """``testControl``: whether the test-control API is on (``--test-control``)."""
    testing = services.control is not None
    if not services.ready:
        return JSONResponse({"status": "starting", "testControl": testing}, status_code=503)
    return JSONResponse({"status": "ok", "testControl": testing})


@router.get("/metrics", tags=["Operations"], summary="Prometheus metrics", operation_id="metrics")
def metrics(services: Services) -> Response:
    if services.finder is not None:
        services.finder.refresh_gauges()
    return Response(generate_latest(observability.REGISTRY), media_type=CONTENT_TYPE_LATEST)
