"""The client's exception tree, and the one function that turns an HTTP answer into one of them.

::

    ClientError              the server's message verbatim in ``message``
    ├── NotAuthenticated     HTTP 401, or the OAuth client id/secret refused by /oauth/token
    ├── NotFound             HTTP 404, or AQuA's 90002 "Invalid Job Id." (sent with HTTP 200)
    ├── Refused              any other Zuora error body: ``code`` + ``message``
    ├── ServerUnreachable    no connection, or no answer within the timeout
    ├── TimedOut             ``wait(..., timeout=)`` ran out before the job finished
    └── ConfigError          connection settings that cannot be used (no credentials, bad TOML)

Four error shapes arrive on the wire (docs/aqua.md, docs/reporting.md, docs/job-finder-api.md,
docs/data-query.md):

- AQuA: HTTP 200 (401 for credentials) with ``{"id", "status": "error", "errorCode", "message"}``;
  a cancel of a finished job keeps the job's own status beside ``errorCode`` 90003.
- Reporting: ``{"success": false, "response": "<a JSON string: errorId, message, errorCode>"}``
  with HTTP 400, 401, 403, 404 or 500.
- Aquarium's own API: ``{"error": {"code", "message"}}`` with HTTP 400, 401, 403, 404, 409.
- Data Query: a flat ``{"code": <int>, "message"}`` with HTTP 400, 403, 404, 415 or 429 (e.g.
  404 ``{"code": 1001, "message": "No such query: <id>"}``); 401 carries only ``message``.
"""

from __future__ import annotations

import json
from typing import Any

import httpx

INVALID_JOB_ID = "90002"  # AQuA's "Invalid Job Id.": unknown job, or another tenant's
MAX_TEXT_IN_MESSAGE = 200  # characters of a non-JSON error body quoted in a message


class ClientError(Exception):
    """Base of every error the client raises; ``message`` is the server's text where it sent one."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotAuthenticated(ClientError):
    """The credentials were refused (HTTP 401, or /oauth/token refused the client)."""


class NotFound(ClientError):
    """The job, run, report or file does not exist (or belongs to another tenant)."""


class Refused(ClientError):
    """The server understood the request and refused it with a Zuora error ``code``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code

    def __str__(self) -> str:
        return f"{self.message} ({self.code})" if self.code else self.message


class ServerUnreachable(ClientError):
    """No connection could be made, or the server did not answer in time."""


class TimedOut(ClientError):
    """A wait gave up before the job or report run reached a final status."""


class ConfigError(ClientError):
    """Connection settings that cannot be used: no credentials, an unreadable config file."""


def unreachable(base_url: str, exc: httpx.TransportError) -> ServerUnreachable:
    """The transport failure as one sentence naming the server."""
    if isinstance(exc, httpx.TimeoutException):
        return ServerUnreachable(f"{base_url} did not answer in time ({type(exc).__name__})")
    reason = str(exc) or type(exc).__name__
    return ServerUnreachable(f"cannot reach {base_url}: {reason}")


def raise_for_answer(response: httpx.Response) -> None:
    """Raise the error an answer carries; return quietly for a successful one.

    The response body must have been read. A 2xx answer is an error only when its JSON body is
    one of the error shapes above (the flat Data Query shape counts only on a failed status).
    """
    status = response.status_code
    found = _error_in(_json_or_none(response), failed=status >= 400)
    if found is None and status < 400:
        return
    code, message = found if found is not None else (f"HTTP {status}", _text_of(response))
    if status == 401:
        raise NotAuthenticated(message)
    if status == 404 or code == INVALID_JOB_ID:
        raise NotFound(message)
    raise Refused(code, message)


def _error_in(document: Any, *, failed: bool) -> tuple[str, str] | None:
    """``(code, message)`` of an error body in any of the shapes above, else ``None``.

    The looser shapes (Data Query's flat ``code`` + ``message``, a bare ``status: error``,
    FastAPI's ``detail``) count only on a failed HTTP status, so that no successful document is
    ever mistaken for an error.
    """
    if not isinstance(document, dict):
        return None
    if document.get("errorCode") is not None:
        return str(document["errorCode"]), str(document.get("message") or "")
    if document.get("success") is False:
        return _reporting_error(document.get("response"))
    inner = document.get("error")
    if isinstance(inner, dict):
        return str(inner.get("code") or ""), str(inner.get("message") or "")
    if not failed:
        return None
    if isinstance(document.get("message"), str) and "code" in document:
        return str(document["code"] if document["code"] is not None else ""), document["message"]
    if isinstance(document.get("message"), str) and set(document) == {"message"}:
        return "", document["message"]  # Data Query's 401: {"message": "Authentication error"}
    if document.get("status") == "error":  # a 404 file answer: {"status": "error", "message"}
        return "", str(document.get("message") or "")
    if isinstance(document.get("detail"), str):  # FastAPI's own answer, e.g. an unknown path
        return "", document["detail"]
    return None


def _reporting_error(response: Any) -> tuple[str, str]:
    # Zuora sends the Reporting error as a JSON document inside a string (reporting.md §3).
    inner: Any = response
    if isinstance(response, str):
        try:
            inner = json.loads(response)
        except ValueError:
            return "", response
    if isinstance(inner, dict):
        return str(inner.get("errorCode") or ""), str(inner.get("message") or "")
    return "", str(response)


def _json_or_none(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _text_of(response: httpx.Response) -> str:
    text = response.text.strip()
    if not text:
        return response.reason_phrase or f"HTTP {response.status_code}"
    return text[:MAX_TEXT_IN_MESSAGE]
