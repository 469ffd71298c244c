"""Schema helpers, and the error answers of each family, derived from ``api/errors.py``.

Each row of a family's table answers with an envelope builder of ``api/envelopes.py``;
:data:`ENVELOPES` says what each builder writes (media type and schema), so the statuses an
operation can answer come from the tables themselves: a new row, status or builder shows in
the document (a builder not named here fails ``tests/unit/test_openapi.py``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aquarium.api import envelopes
from aquarium.api import errors as api_errors

Schema = dict[str, Any]

JSON = "application/json"
REPORTING_JSON = envelopes.REPORTING_MEDIA_TYPE
HTML = "text/html; charset=utf-8"
XML = "application/xml"

#: Schemas shared by operations, written to ``components.schemas`` and referred to by name.
COMPONENTS: dict[str, Schema] = {}


def ref(name: str) -> Schema:
    return {"$ref": f"#/components/schemas/{name}"}


def component(name: str, schema: Schema) -> Schema:
    """Register ``schema`` as ``components.schemas[name]``; returns a reference to it."""
    COMPONENTS[name] = schema
    return ref(name)


def obj(
    properties: Mapping[str, Schema], required: Iterable[str] = (), *, extra: bool = True
) -> Schema:
    """A JSON object; ``extra=False`` refuses members not listed."""
    schema: Schema = {"type": "object", "properties": dict(properties)}
    wanted = list(required)
    if wanted:
        schema["required"] = wanted
    if not extra:
        schema["additionalProperties"] = False
    return schema


def string(**constraints: Any) -> Schema:
    return {"type": "string", **constraints}


def nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


HEX_ID = string(pattern="^[0-9a-f]{32}$", examples=["2c92c0f966cd4f580166ec0ac89d5bb7"])


@dataclass(frozen=True)
class Body:
    """One media type of a request body or an answer, with examples (name -> value)."""

    media_type: str
    schema: Schema
    examples: Mapping[str, Any] = field(default_factory=dict)

    def content(self) -> dict[str, Any]:
        found: dict[str, Any] = {"schema": self.schema}
        if self.examples:
            found["examples"] = {name: {"value": v} for name, v in self.examples.items()}
        return {self.media_type: found}


@dataclass(frozen=True)
class Answer:
    """One status of an operation: its description, bodies and headers."""

    description: str
    bodies: tuple[Body, ...] = ()
    headers: Mapping[str, Schema] = field(default_factory=dict)

    def document(self) -> dict[str, Any]:
        found: dict[str, Any] = {"description": self.description}
        content: dict[str, Any] = {}
        for body in self.bodies:
            content.update(body.content())
        if content:
            found["content"] = content
        if self.headers:
            found["headers"] = {
                name: {"schema": schema, "description": schema.get("description", name)}
                for name, schema in self.headers.items()
            }
        return found


@dataclass(frozen=True)
class Operation:
    """What FastAPI cannot see of an operation: its request body and its successful answers."""

    answers: Mapping[int, Answer]
    request: Body | None = None
    request_required: bool = True
    extra_requests: tuple[Body, ...] = ()


# -- the error envelopes ---------------------------------------------------------------------

AQUA_ERROR = component(
    "AquaError",
    obj(
        {
            "id": {
                "type": ["string", "null"],
                "description": "null, or the job a cancel was refused for (90003)",
            },
            "status": string(description="error, or the status of a job that cannot be cancelled"),
            "errorCode": string(examples=["90005"]),
            "message": string(),
        },
        ["errorCode", "message"],
    ),
)
AQUA_NOT_FOUND = component(
    "AquaFileNotFound",
    obj({"status": {"const": "error"}, "message": string()}, ["status", "message"]),
)
AQUA_TOO_LARGE = component(
    "AquaFileTooLarge",
    string(examples=["<security:max-object-size>2047MB</security:max-object-size>"]),
)
CRUD_ERROR = component(
    "CrudError",
    obj(
        {
            "Success": {"const": False},
            "Errors": {
                "type": "array",
                "minItems": 1,
                "items": obj({"Code": string(), "Message": string()}, ["Code", "Message"]),
            },
        },
        ["Success", "Errors"],
    ),
)
REPORTING_ERROR = component(
    "ReportingError",
    obj(
        {
            "success": {"const": False},
            "response": string(
                contentMediaType="application/json",
                description="a JSON text with errorId, message and errorCode",
            ),
            "links": {"type": "null"},
        },
        ["success", "response", "links"],
    ),
)
JOB_API_ERROR = component(
    "JobApiError",
    obj(
        {"error": obj({"code": string(), "message": string()}, ["code", "message"])},
        ["error"],
    ),
)
DATAQUERY_ERROR = component(
    "DataQueryError",
    obj(
        {
            "code": {"type": "integer", "description": "absent when authentication failed"},
            "message": string(),
        },
        ["message"],
    ),
)
PAGE = string(description="a Job Finder page")

#: What each envelope builder of ``api/envelopes.py`` writes, by the builder's name.
ENVELOPES: dict[str, Body] = {
    "aqua": Body(JSON, AQUA_ERROR),
    "aqua_own": Body(JSON, AQUA_ERROR),
    "aqua_not_found": Body(JSON, AQUA_NOT_FOUND),
    "xml": Body(XML, AQUA_TOO_LARGE),
    "crud": Body(JSON, CRUD_ERROR),
    "crud_problems": Body(JSON, CRUD_ERROR),
    "reporting": Body(REPORTING_JSON, REPORTING_ERROR),
    "jobs": Body(JSON, JOB_API_ERROR),
    "dataquery": Body(JSON, DATAQUERY_ERROR),
    "local": Body(JSON, JOB_API_ERROR),
    "page": Body(HTML, PAGE),
    "page_unexpected": Body(HTML, PAGE),
}

ALLOW = {"Allow": string(description="every method the path takes")}
CHALLENGE = {"WWW-Authenticate": string(description='Basic realm="Aquarium"')}


def envelope_name(row: api_errors.Row) -> str:
    """The builder's name (``envelopes.aqua(...)`` makes closures named ``aqua.<locals>...``)."""
    return row.envelope.__qualname__.split(".")[0]


def _reporting_error(message: str, code: str) -> dict[str, Any]:
    """Zuora's Reporting refusal with the errorId of its own example (reference 3.3)."""
    inner = {"errorId": "a7983e5f-d58c-4be0-b732-9588ff95171c", "message": message}
    text = json.dumps({**inner, "errorCode": code}, indent=1)
    return {"success": False, "response": text, "links": None}


F = api_errors.Family
#: Examples of refusals, by family and status: the words the services use (reference texts).
ERROR_EXAMPLES: dict[tuple[api_errors.Family, int], dict[str, Any]] = {
    (F.AQUA, 401): {
        "unauthorized": {
            "id": None,
            "status": "error",
            "errorCode": "90009",
            "message": "User is not authorized.",
        }
    },
    (F.AQUA, 404): {
        "no_file": {"status": "error", "message": "Not found. No such file, or it has expired."}
    },
    (F.OBJECTS, 404): {
        "unknown_id": {
            "Success": False,
            "Errors": [
                {
                    "Code": "INVALID_ID",
                    "Message": "There is no Account with id '2c92c0f966cd4f580166ec0ac89d5bb7'",
                }
            ],
        }
    },
    (F.REPORTING, 401): {
        "login_failed": _reporting_error("Authentication failed.", api_errors.LOGIN_FAILED)
    },
    (F.REPORTING, 404): {
        "unknown_report": _reporting_error(
            "The report with id ff808081629755b80162bcc5bd624d2d does not exist.",
            api_errors.USAGE_ERROR,
        )
    },
    (F.REPORTING, 500): {
        "unreadable_json": _reporting_error(
            "Could not read JSON: Unexpected character ('n' (code 110)): was expecting comma "
            "to separate OBJECT entries",
            api_errors.REST_ERROR,
        )
    },
    (F.JOBS, 404): {
        "unknown_job": {
            "error": {
                "code": "not_found",
                "message": "There is no job 2c92c0f966cd4f580166ec0ac89d5bb7",
            }
        }
    },
}


def error_answers(family: api_errors.Family) -> dict[int, Answer]:
    """Every status ``family``'s table can answer, with the envelopes it answers them in.

    The web pages' table only answers their failures (the framework's 404/405 keep FastAPI's
    body there), so an operation outside every API family gets its internal error only.
    """
    table = api_errors.TABLES[family]
    rows = table.rows if family is not api_errors.Family.WEB else (table.internal_row,)
    by_status: dict[int, list[Body]] = {}
    for row in rows:
        body = ENVELOPES[envelope_name(row)]
        kept = by_status.setdefault(row.status, [])
        if body not in kept:
            kept.append(body)
    return {
        status: _answer(status, bodies, ERROR_EXAMPLES.get((family, status), {}))
        for status, bodies in sorted(by_status.items())
    }


def _answer(status: int, bodies: list[Body], examples: Mapping[str, Any]) -> Answer:
    merged: dict[str, list[Schema]] = {}
    for body in bodies:
        merged.setdefault(body.media_type, []).append(body.schema)
    # The examples go with the first media type (every family's JSON).
    joined = tuple(
        Body(
            media,
            schemas[0] if len(schemas) == 1 else {"anyOf": schemas},
            examples if i == 0 else {},
        )
        for i, (media, schemas) in enumerate(merged.items())
    )
    headers = ALLOW if status == 405 else CHALLENGE if status == 401 else {}
    return Answer(DESCRIPTIONS.get(status, "Refused"), joined, headers)


DESCRIPTIONS = {
    200: "Refused, in the body (AQuA answers its refusals with HTTP 200)",
    400: "The request cannot be read or is refused",
    401: "Missing or bad credentials",
    403: "Not allowed",
    404: "No such thing, or no such path",
    405: "The path does not take this method",
    409: "The job has finished",
    413: "The request body is too large",
    422: "The Idempotency-Key was used for another request",
    500: "A failure of ours (no detail: the cause is in the server's log)",
    503: "This API is not available on this server",
}
