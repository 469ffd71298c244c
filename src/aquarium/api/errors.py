"""The one place where domain errors become HTTP responses.

AQuA refusals keep Zuora's habit of HTTP 200 with an error body (CONTRACT.md); malformed bodies
are 400, oversized 413, bad credentials 401, unknown files 404, oversized files 403.
"""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from aquarium import observability
from aquarium.domain import errors
from aquarium.engines import billing_writes
from aquarium.services import aqua_wire, job_finder, reports

log = observability.logger(__name__)

STATUS_BY_ERROR: tuple[tuple[type[errors.AquariumError], int], ...] = (
    (errors.RequestTooLarge, 413),
    (errors.MalformedRequest, 400),
    (errors.NotAuthenticated, 401),
    (errors.NotFound, 404),
    (errors.FileTooLarge, 403),
)


def status_of(error: errors.AquariumError) -> int:
    for kind, status in STATUS_BY_ERROR:
        if isinstance(error, kind):
            return status
    return 200


def response_for(error: errors.AquariumError) -> Response:
    status = status_of(error)
    if isinstance(error, errors.FileTooLarge):
        return Response(error.message, status_code=403, media_type="application/xml")
    if isinstance(error, errors.NotAuthenticated):
        return JSONResponse(
            {"id": None, "status": "error", "errorCode": error.code, "message": error.message},
            status_code=401,
            headers={"WWW-Authenticate": 'Basic realm="Aquarium"'},
        )
    if isinstance(error, errors.NotFound):
        return JSONResponse({"status": "error", "message": error.describe()}, status_code=404)
    return JSONResponse(aqua_wire.error_document(error), status_code=status)


REPORTING_PREFIXES = ("/api/rest/", "/reporting/api/rest/")
OBJECT_PREFIX = "/v1/object/"
FINDER_PREFIX = "/aquarium/api/"
# Aquarium's own API: (error kind, HTTP status, code), first match wins.
FINDER_ERRORS: tuple[tuple[type[errors.AquariumError], int, str], ...] = (
    (errors.NotAuthenticated, 401, "unauthorized"),
    (errors.NotFound, 404, "not_found"),
    (job_finder.Forbidden, 403, "forbidden"),
    (job_finder.NotCancellable, 409, "not_cancellable"),
    (errors.RequestTooLarge, 413, "too_large"),
)


def finder_refusal(error: errors.AquariumError) -> Response:
    """``{"error": {"code", "message"}}`` (docs/job-finder-api.md); 400 unless listed."""
    status, code = 400, "bad_request"
    for kind, found_status, found_code in FINDER_ERRORS:
        if isinstance(error, kind):
            status, code = found_status, found_code
            break
    message = error.reason or error.message
    message = message[0].upper() + message[1:]
    headers = {"WWW-Authenticate": 'Basic realm="Aquarium"'} if status == 401 else None
    return JSONResponse(
        {"error": {"code": code, "message": message}}, status_code=status, headers=headers
    )


def object_refusal(error: errors.AquariumError) -> Response:
    """Zuora's CRUD envelope ``{"Success": false, "Errors": [...]}``: 404 unknown, 400 else."""
    if isinstance(error, errors.NotAuthenticated | errors.NotFound | errors.RequestTooLarge):
        return response_for(error)
    if not isinstance(error, billing_writes.WriteError):
        # A body that is not JSON, or not an object, in the CRUD envelope (HTTP 400).
        error = billing_writes.InvalidValue("The request body is not valid JSON")
    not_found = isinstance(error, billing_writes.UnknownObject | billing_writes.RowNotFound)
    problems = [{"Code": p.code, "Message": p.message} for p in error.problems]
    return JSONResponse(
        {"Success": False, "Errors": problems}, status_code=404 if not_found else 400
    )


def reporting_error(error: errors.AquariumError) -> reports.ReportingError:
    """Any domain error as the Reporting API states it (reference reporting.md section 3)."""
    if isinstance(error, reports.ReportingError):
        return error
    if isinstance(error, errors.NotAuthenticated):
        return reports.ReportingError(
            "Authentication failed.", status=401, code=reports.LOGIN_FAILED
        )
    if isinstance(error, errors.RequestTooLarge):
        return reports.ReportingError(error.describe(), status=413, code=reports.REST_ERROR)
    if isinstance(error, errors.MalformedRequest):
        # Zuora's Reporting service answers unreadable JSON with a 500 REST error.
        return reports.ReportingError(
            f"Could not read JSON: {error.reason}", status=500, code=reports.REST_ERROR
        )
    return reports.ReportingError(error.describe())


LOCAL_PREFIX = "/aquarium/api/v1/local"


def local_refusal(error: errors.AquariumError) -> Response:
    """The CLI's local endpoints (api/local_routes.py): the line the CLI prints and a ZOQL
    error's caret excerpt, so a command run through the server says what it says without one."""
    position = getattr(error, "position", None)
    status = 400
    if isinstance(error, errors.NotAuthenticated | errors.NotFound):
        status = status_of(error)
    document = {
        "code": error.code,
        "message": error.describe(),
        "excerpt": position.excerpt if isinstance(position, errors.SourcePosition) else None,
    }
    return JSONResponse({"error": document}, status_code=status)


async def handle_domain_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, errors.AquariumError)
    if request.url.path.startswith(OBJECT_PREFIX):
        return object_refusal(exc)
    if request.url.path.startswith(LOCAL_PREFIX):
        return local_refusal(exc)
    if request.url.path.startswith(FINDER_PREFIX):
        return finder_refusal(exc)
    if request.url.path.startswith(REPORTING_PREFIXES):
        refused = reporting_error(exc)
        return JSONResponse(reports.error_document(refused), status_code=refused.status)
    return response_for(exc)


async def handle_unexpected(request: Request, exc: Exception) -> Response:
    log.error("unhandled error", path=request.url.path, error=repr(exc))
    internal = errors.AquariumError(message="Internal Server Error.")
    internal.code = "90010"
    return JSONResponse(aqua_wire.error_document(internal), status_code=500)
