"""The bodies of error answers, one builder per envelope, for the tables of ``api/errors.py``.

A builder takes the request, the error, the HTTP status and the code the table chose, and makes
the response. Words functions pick what a body says: the error's description, our reason alone,
the class's message, or fixed words (so an internal error says nothing of its cause).
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from aquarium.domain import crud_errors, errors
from aquarium.services import aqua_wire
from aquarium.web import pages

Words = Callable[[errors.AquariumError], str]
Envelope = Callable[[Request, errors.AquariumError, int, str | None], Response]


# -- words -----------------------------------------------------------------------------------------


def described(error: errors.AquariumError) -> str:
    return error.describe()


def reason(error: errors.AquariumError) -> str:
    """Our reason when there is one, else the class's message; first letter upper case."""
    text = error.reason or error.message
    return text[:1].upper() + text[1:]


def own_message(error: errors.AquariumError) -> str:
    return error.message


def fixed(text: str) -> Words:
    return lambda _error: text


INTERNAL_MESSAGE = errors.InternalError.message
internal_words = fixed(INTERNAL_MESSAGE)


# -- envelopes -------------------------------------------------------------------------------------

CHALLENGE = {"WWW-Authenticate": 'Basic realm="Aquarium"'}


def _json(body: object, status: int, *, challenge: bool = False) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=CHALLENGE if challenge else None)


def aqua_own(
    request: Request, error: errors.AquariumError, status: int, code: str | None
) -> Response:
    """Zuora's AQuA error body with the class's own code (aqua_wire.error_document)."""
    return _json(aqua_wire.error_document(error), status)


def aqua(words: Words, *, challenge: bool = False) -> Envelope:
    def envelope(
        request: Request, error: errors.AquariumError, status: int, code: str | None
    ) -> Response:
        body = {
            "id": None,
            "status": "error",
            "errorCode": code or error.code,
            "message": words(error),
        }
        return _json(body, status, challenge=challenge)

    return envelope


def aqua_not_found(
    request: Request, error: errors.AquariumError, status: int, code: str | None
) -> Response:
    return _json({"status": "error", "message": error.describe()}, status)


def xml(request: Request, error: errors.AquariumError, status: int, code: str | None) -> Response:
    """Zuora's download cap answers in XML (reference aqua.md 1.8)."""
    return Response(error.message, status_code=status, media_type="application/xml")


def crud_problems(
    request: Request, error: errors.AquariumError, status: int, code: str | None
) -> Response:
    assert isinstance(error, crud_errors.WriteError)
    problems = [{"Code": p.code, "Message": p.message} for p in error.problems]
    return _json({"Success": False, "Errors": problems}, status)


def crud(words: Words, *, challenge: bool = False) -> Envelope:
    def envelope(
        request: Request, error: errors.AquariumError, status: int, code: str | None
    ) -> Response:
        problems = [{"Code": code, "Message": words(error)}]
        return _json({"Success": False, "Errors": problems}, status, challenge=challenge)

    return envelope


#: Zuora's Reporting service answers JSON as ``application/json;charset=UTF-8`` [KC-OVR]
#: (reference reporting.md 3.1); AQuA's documented answers say ``application/json`` alone.
REPORTING_MEDIA_TYPE = "application/json;charset=UTF-8"


class ReportingJSONResponse(JSONResponse):
    """A JSON answer of the Reporting API, success or refusal, with Zuora's charset."""

    media_type = REPORTING_MEDIA_TYPE


def reporting_ok(response: object) -> ReportingJSONResponse:
    """``{"success": true, "response": ...}`` (reference 3.2)."""
    return ReportingJSONResponse({"success": True, "response": response})


def reporting_document(message: str, code: str) -> dict[str, object]:
    """``{"success": false, "response": "<JSON string>", "links": null}`` (reference 3.3)."""
    inner = {"errorId": str(uuid.uuid4()), "message": message, "errorCode": code}
    return {"success": False, "response": json.dumps(inner, indent=1), "links": None}


def reporting(words: Words) -> Envelope:
    def envelope(
        request: Request, error: errors.AquariumError, status: int, code: str | None
    ) -> Response:
        assert code is not None, "every Reporting row names its errorCode"
        return ReportingJSONResponse(reporting_document(words(error), code), status_code=status)

    return envelope


def jobs(words: Words, *, challenge: bool = False) -> Envelope:
    def envelope(
        request: Request, error: errors.AquariumError, status: int, code: str | None
    ) -> Response:
        body = {"error": {"code": code, "message": words(error)}}
        return _json(body, status, challenge=challenge)

    return envelope


def dataquery(words: Words, *, bare: bool = False) -> Envelope:
    """Data Query's ``{"code": <int>, "message"}`` (reference dataquery.md section 6), the row's
    code or else the class's own; ``bare``: ``{"message"}`` alone, as Zuora's proxy answers an
    authentication failure."""

    def envelope(
        request: Request, error: errors.AquariumError, status: int, code: str | None
    ) -> Response:
        if bare:
            return _json({"message": words(error)}, status)
        number = int(code or error.code or status)
        return _json({"code": number, "message": words(error)}, status)

    return envelope


def local(request: Request, error: errors.AquariumError, status: int, code: str | None) -> Response:
    """The job API's envelope with the line the CLI prints and a ZOQL error's caret excerpt."""
    position = error.position if isinstance(error, errors.ZoqlError) else None
    body = {
        "error": {
            "code": code,
            "message": errors.operator_words(error),
            "excerpt": None if position is None else position.excerpt,
        }
    }
    return _json(body, status)


def page(problem: pages.Problem) -> Envelope:
    def envelope(
        request: Request, error: errors.AquariumError, status: int, code: str | None
    ) -> Response:
        return pages.error_page(request, error, problem)

    return envelope


def page_unexpected(
    request: Request, error: errors.AquariumError, status: int, code: str | None
) -> Response:
    return pages.unexpected(request)
