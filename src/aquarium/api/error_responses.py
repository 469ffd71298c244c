"""Answering errors: the framework's exception handlers and the web guard's pages, each through
the table of the request's family (``api/errors.py``).

A failure of ours is logged with the request and answered without detail; the words of whatever
caused a refusal (an engine's, say) go to the log only.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.exception_handlers import (
    http_exception_handler,
    request_validation_exception_handler,
)
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from starlette.exceptions import HTTPException

from aquarium import observability
from aquarium.api import allow
from aquarium.api import errors as api_errors
from aquarium.domain import errors

log = observability.logger(__name__)


def routed_path(request: Request) -> str:
    """The path the router matched (after ``NormalisePath``), percent-decoded.

    Not ``request.url.path``: that is rebuilt through ``urllib.parse``, which drops tabs and line
    ends, so ``OPTIONS /api/rest/v1/reportruns/%0D`` looked like a path of another route (its
    ``Allow`` named GET only) although the router takes the ``{run_id}`` route's GET and DELETE.
    """
    path: str = request.scope["path"]
    return path


def answer(request: Request, table: api_errors.Table, error: errors.AquariumError) -> Response:
    """``error`` as ``table``'s family states it; failures of ours are logged, never detailed."""
    row = table.row_for(type(error)) or table.internal_row
    if row.internal:
        log.error(
            "internal error",
            method=request.method,
            path=routed_path(request),
            error=repr(error),
            cause=repr(error.__cause__),
        )
    elif error.__cause__ is not None:
        # The words of whatever caused a refusal (an engine's, say) go to the log only.
        log.info(
            "request refused",
            path=routed_path(request),
            error=repr(error),
            cause=repr(error.__cause__),
        )
    response = row.envelope(request, error, row.status, row.code)
    if isinstance(error, errors.MethodNotAllowed) and error.allowed:
        response.headers["Allow"] = error.allowed
    return response


def respond(request: Request, error: errors.AquariumError) -> Response:
    """``error`` in the envelope of the request's family."""
    return answer(request, api_errors.TABLES[api_errors.family_of(routed_path(request))], error)


def page_for(request: Request, error: errors.AquariumError) -> Response:
    """``error`` as a Job Finder page (``web/guard.py``, whatever the path)."""
    return answer(request, api_errors.WEB, error)


async def handle_domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.AquariumError)
    return respond(request, exc)


async def handle_http_error(request: Request, exc: Exception) -> Response:
    """The router's own 404 (no route) and 405 (no such method) in the family's envelope; the
    web pages, and any other status, keep the framework's answer.

    A 405 says every method the path takes in ``Allow`` (``api/allow.py``), and OPTIONS, which
    no route takes, is answered here: HTTP 204 with that ``Allow`` on every path a route takes.
    """
    assert isinstance(exc, HTTPException)
    if exc.status_code == 405:
        allowed = allow.header(request.app.router.routes, routed_path(request))
        if allowed is not None:
            if request.method == "OPTIONS":
                return Response(status_code=204, headers={"Allow": allowed})
            exc = HTTPException(405, exc.detail, headers={**(exc.headers or {}), "Allow": allowed})
    family = api_errors.family_of(routed_path(request))
    if family is api_errors.Family.WEB or exc.status_code not in {404, 405}:
        return await http_exception_handler(request, exc)
    error: errors.AquariumError = errors.RouteNotFound()
    if exc.status_code == 405:
        error = errors.MethodNotAllowed(allowed=(exc.headers or {}).get("Allow"))
    return answer(request, api_errors.TABLES[family], error)


async def handle_validation_error(request: Request, exc: Exception) -> Response:
    """Parameters the router cannot read, in the family's envelope (pages keep the default)."""
    assert isinstance(exc, RequestValidationError)
    family = api_errors.family_of(routed_path(request))
    if family is api_errors.Family.WEB:
        return await request_validation_exception_handler(request, exc)
    problems = "; ".join(
        f"{'.'.join(str(part) for part in problem['loc'])}: {problem['msg']}"
        for problem in exc.errors()
    )
    return answer(request, api_errors.TABLES[family], errors.InvalidParameters(problems))


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    """Any other exception: the family's internal error, its words only in the log."""
    log.error("unhandled error", method=request.method, path=routed_path(request), error=repr(exc))
    table = api_errors.TABLES[api_errors.family_of(routed_path(request))]
    row = table.internal_row
    return row.envelope(request, errors.InternalError(), row.status, row.code)
