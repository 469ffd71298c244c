"""The FastAPI application: routers, middleware and the one error mapping."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from aquarium import __version__
from aquarium.api import (
    admin_routes,
    aqua_routes,
    control_clock_routes,
    control_middleware,
    control_routes,
    control_snapshot_routes,
    dataquery_routes,
    deps,
    error_responses,
    fast_poll,
    files_routes,
    job_routes,
    local_routes,
    middleware,
    object_routes,
    ops_routes,
    report_routes,
    report_run_routes,
)
from aquarium.api.schemas import document as schema_document
from aquarium.domain import errors as domain_errors
from aquarium.web import routes as web_routes

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]]


def create_app(services: deps.AppServices | None, lifespan: Lifespan | None = None) -> FastAPI:
    """An application over ready-made services; ``lifespan`` starts and stops background work."""

    @asynccontextmanager
    async def no_lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield

    app = FastAPI(
        title="Aquarium",
        version=__version__,
        summary="Zuora's AQuA and Reporting APIs, self-hosted and wire-compatible.",
        lifespan=lifespan or no_lifespan,
    )
    app.state.services = services

    def openapi_document() -> dict[str, Any]:
        """FastAPI's document completed with bodies, answers and OPTIONS (``api/schemas/``):
        served at ``/openapi.json``, the same as the committed ``openapi.json``."""
        if app.openapi_schema is None:
            schema_document.complete(FastAPI.openapi(app))
        assert app.openapi_schema is not None
        return app.openapi_schema

    app.openapi = openapi_document  # type: ignore[method-assign]
    app.include_router(aqua_routes.router)
    app.include_router(files_routes.router)
    app.include_router(ops_routes.router)
    app.include_router(object_routes.router)
    app.include_router(report_routes.router)
    app.include_router(report_run_routes.router)
    app.include_router(dataquery_routes.router)
    app.include_router(job_routes.router)
    app.include_router(admin_routes.router)
    app.include_router(local_routes.router)
    testing = services is not None and services.control is not None
    if testing:  # --test-control: nothing of it exists otherwise (docs/security.md)
        app.include_router(control_routes.router)
        app.include_router(control_clock_routes.router)
        app.include_router(control_snapshot_routes.router)
    app.include_router(web_routes.router)
    app.add_exception_handler(domain_errors.AquariumError, error_responses.handle_domain_error)
    app.add_exception_handler(HTTPException, error_responses.handle_http_error)
    app.add_exception_handler(RequestValidationError, error_responses.handle_validation_error)
    app.add_exception_handler(Exception, error_responses.handle_unexpected)
    # Outermost first when called: normalise the path, then headers, refuse cross-site posts,
    # (--test-control: record the request, fire fault rules), then gzip.
    app.add_middleware(middleware.GzipExceptFiles)
    app.add_middleware(fast_poll.FastJobPolling, services=lambda: services)
    if testing:
        app.add_middleware(control_middleware.ControlMiddleware, services=lambda: services)
    app.add_middleware(middleware.RefuseCrossSite)
    app.add_middleware(middleware.ZuoraHeaders)
    app.add_middleware(middleware.NormalisePath)
    return app
