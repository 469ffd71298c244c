"""Writes the schemas of this package into FastAPI's document.

Every operation gets its request body (when it takes one) and every answer it can give: its
successes (:data:`OPERATIONS`, by operation id; the legacy ``/apps/api`` and ``/reporting``
twins share their operation's entry) and every error status of its family's table
(:func:`common.error_answers`), merged where a status is both (AQuA's HTTP 200: a job or a
refusal). Each path also gets its OPTIONS operation, and ``components`` the shared schemas and
the ways to authenticate.
"""

from __future__ import annotations

import copy
from typing import Any

from aquarium.api import errors as api_errors
from aquarium.api.schemas import aqua, common, dataquery, others, parameters, reporting
from aquarium.api.schemas.common import Answer, Operation

OPERATIONS: dict[str, Operation] = {
    **aqua.OPERATIONS,
    **reporting.OPERATIONS,
    **dataquery.OPERATIONS,
    **others.CRUD,
    **others.JOBS,
    **others.ADMIN,
    **others.OPS,
}
#: Operation ids of the same operation on another path family.
TWIN_SUFFIXES = ("_legacy", "_reporting")
HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head")
#: Operations anyone may call (the others take any of :data:`SECURITY`).
OPEN = frozenset({"create_token", "healthz", "metrics", "download_data_query_result"})
SECURITY_SCHEMES = {
    "basic": {"type": "http", "scheme": "basic", "description": "user and password"},
    "bearer": {"type": "http", "scheme": "bearer", "description": "a token of POST /oauth/token"},
    "apiAccessKeyId": {"type": "apiKey", "in": "header", "name": "apiAccessKeyId"},
    "apiSecretAccessKey": {"type": "apiKey", "in": "header", "name": "apiSecretAccessKey"},
}
SECURITY: list[dict[str, list[str]]] = [
    {"basic": []},
    {"bearer": []},
    {"apiAccessKeyId": [], "apiSecretAccessKey": []},
]


def base_id(operation_id: str) -> str:
    """The id of the operation ``operation_id`` is the twin of on another path family, or
    ``operation_id`` itself."""
    for suffix in TWIN_SUFFIXES:
        if operation_id.endswith(suffix) and operation_id.removesuffix(suffix) in OPERATIONS:
            return operation_id.removesuffix(suffix)
    return operation_id


def operation_of(operation_id: str) -> Operation:
    """The entry of ``operation_id`` (or of the operation it is the twin of); KeyError if none."""
    return OPERATIONS[base_id(operation_id)]


def parameters_of(operation_id: str) -> tuple[parameters.Parameter, ...]:
    """The query and header parameters the router of ``operation_id`` (or of its twin) reads."""
    return parameters.PARAMETERS.get(base_id(operation_id), ())


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """``document`` (FastAPI's) with bodies, answers, OPTIONS and security written in."""
    for path, item in document["paths"].items():
        family = api_errors.family_of(path)
        methods = [method for method in HTTP_METHODS if method in item]
        for method in methods:
            _complete_operation(item[method], family)
        item["options"] = _options(path, item, methods)
    components = document.setdefault("components", {})
    schemas = components.setdefault("schemas", {})
    # FastAPI's 422 answer: our routers answer unreadable parameters in the family's envelope.
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    schemas.update(copy.deepcopy(common.COMPONENTS))
    components["securitySchemes"] = SECURITY_SCHEMES
    document["security"] = SECURITY
    return document


def _complete_operation(operation: dict[str, Any], family: api_errors.Family) -> None:
    spec = operation_of(operation["operationId"])
    read_by_router = parameters_of(operation["operationId"])
    if read_by_router:
        operation.setdefault("parameters", []).extend(copy.deepcopy(read_by_router))
    if spec.request is not None:
        content: dict[str, Any] = {}
        for body in (spec.request, *spec.extra_requests):
            content.update(body.content())
        operation["requestBody"] = {"required": spec.request_required, "content": content}
    answers = dict(spec.answers)
    for status, refusal in common.error_answers(family).items():
        answers[status] = _merge(answers[status], refusal) if status in answers else refusal
    operation["responses"] = {
        str(status): copy.deepcopy(answer.document()) for status, answer in sorted(answers.items())
    }
    if operation["operationId"] in OPEN:
        operation["security"] = []


def _merge(success: Answer, refusal: Answer) -> Answer:
    """One status answered both ways: per media type, one of the success's or the refusal's."""
    bodies = {body.media_type: body for body in success.bodies}
    for body in refusal.bodies:
        found = bodies.get(body.media_type)
        if found is None:
            bodies[body.media_type] = body
        elif found.schema != body.schema and body.schema not in found.schema.get("oneOf", []):
            schema = {"oneOf": [found.schema, body.schema]}
            bodies[body.media_type] = common.Body(body.media_type, schema, found.examples)
    return Answer(
        f"{success.description}; or: {refusal.description}",
        tuple(bodies.values()),
        {**refusal.headers, **success.headers},
    )


def _options(path: str, item: dict[str, Any], methods: list[str]) -> dict[str, Any]:
    parameters = [
        parameter
        for parameter in item[methods[0]].get("parameters", [])
        if parameter.get("in") == "path"
    ]
    slug = "".join(c if c.isalnum() else "_" for c in path).strip("_")
    taken = ", ".join(method.upper() for method in methods)
    found: dict[str, Any] = {
        "summary": "The methods this path takes",
        "operationId": f"options_{slug}",
        "tags": item[methods[0]].get("tags", []),
        "security": [],
        "responses": {
            "204": {
                "description": f"Allow: {taken}, OPTIONS",
                "headers": {
                    "Allow": {
                        "description": "every method the path takes",
                        "required": True,
                        "schema": {"type": "string"},
                    }
                },
            }
        },
    }
    if parameters:
        found["parameters"] = copy.deepcopy(parameters)
    return found
