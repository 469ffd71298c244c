"""Every answer the acceptance tier gets is checked against openapi.json (issue 11).

:func:`problems` finds the documented operation of a request (method and path, the most literal
template winning: ``/reports/copy`` before ``/reports/{report_id}``), then says what is wrong
with the answer: a status the operation does not document, a media type it does not list, or a
JSON body its schema refuses. Requests to paths or methods the document does not hold (pages,
a deliberately unknown route) are not judged here.

``RunningServer.client`` hooks :func:`check` into every httpx client; the acceptance conftest
fails the test during which an answer broke the document.
"""

from __future__ import annotations

import json
import re
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import jsonschema

DOCUMENT_PATH = Path(__file__).resolve().parents[2] / "openapi.json"
#: What answers broke the document since the conftest last looked.
VIOLATIONS: list[str] = []


@cache
def document() -> dict[str, Any]:
    """The committed document (the unit tier keeps it equal to the generated one)."""
    found: dict[str, Any] = json.loads(DOCUMENT_PATH.read_text("utf-8"))
    return found


@cache
def _templates() -> list[tuple[re.Pattern[str], int, str]]:
    """``(regex, literal segments, template)`` of every documented path."""
    found = []
    for template in document()["paths"]:
        pattern = re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(template))
        literal = sum(1 for part in template.split("/") if part and "{" not in part)
        found.append((re.compile(f"^{pattern}$"), literal, template))
    return found


def operation_of(method: str, path: str) -> dict[str, Any] | None:
    """The documented operation of ``method`` on ``path`` (normalised as the server does)."""
    normal = "/" + "/".join(part for part in path.split("/") if part)
    candidates = [
        (literal, template)
        for pattern, literal, template in _templates()
        if pattern.match(normal) and method.lower() in document()["paths"][template]
    ]
    if not candidates:
        return None
    _, template = max(candidates)
    found: dict[str, Any] = document()["paths"][template][method.lower()]
    return found


def _media(value: str) -> str:
    return value.replace(" ", "").lower()


@cache
def _validator(schema_json: str) -> jsonschema.Draft202012Validator:
    schema = json.loads(schema_json)
    return jsonschema.Draft202012Validator({**schema, "components": document()["components"]})


def problems(
    method: str, path: str, status: int, content_type: str | None, body: bytes | None
) -> list[str]:
    """What is wrong with an answer by the document; ``body`` None: not read (not judged)."""
    operation = operation_of(method, path)
    if operation is None:
        return []
    where = f"{method} {path} -> {status}"
    answer = operation["responses"].get(str(status))
    if answer is None:
        return [f"{where}: status not documented ({sorted(operation['responses'])})"]
    content = answer.get("content", {})
    if not content_type:
        if body:
            return [f"{where}: a body without a Content-Type"]
        return []
    if not content:
        return [f"{where}: a {content_type} body where the document has none"] if body else []
    media = {_media(name): found for name, found in content.items()}
    found = media.get(_media(content_type))
    if found is None:
        return [f"{where}: media type {content_type!r} not documented ({sorted(content)})"]
    if body is None or "json" not in content_type.lower():
        return []
    try:
        value = json.loads(body)
    except ValueError:
        return [f"{where}: not JSON: {body[:200]!r}"]
    check = _validator(json.dumps(found["schema"], sort_keys=True))
    return [
        f"{where}: {error.message} at {list(error.absolute_path)} in {body[:300]!r}"
        for error in check.iter_errors(value)
    ]


def check(response: httpx.Response) -> None:
    """An httpx response hook: judge the answer, remembering what broke the document. JSON
    bodies are read (they are small); others, streams of events included, are not."""
    content_type = response.headers.get("content-type")
    body: bytes | None = None
    if content_type and "json" in content_type.lower():
        body = response.read()
    VIOLATIONS.extend(
        problems(
            response.request.method,
            response.request.url.path,
            response.status_code,
            content_type,
            body,
        )
    )


def taken() -> list[str]:
    """The violations so far, forgetting them."""
    found = list(VIOLATIONS)
    VIOLATIONS.clear()
    return found
