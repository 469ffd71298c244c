"""Schemathesis hooks of the fuzz tier: how requests authenticate, and the one replaced check.

Imported by ``tests/fuzz/conftest.py`` (the bounded tier) and named in ``SCHEMATHESIS_HOOKS`` by
``tests/fuzz/campaign.py`` (``make fuzz``), so both runs send and judge requests alike.

Authentication (CONTRACT.md "Everywhere"): the Reporting paths with a bearer token of the demo
OAuth client, fetched once from ``POST /oauth/token`` and fetched again before it expires; every
other path with HTTP Basic ``demo:demo``.

The replaced check: Zuora documents HTTP 500 ``ZAN-REST-ERROR`` for a Reporting body it cannot
read (reference/reporting.md 3.3: ``Could not read JSON: ...`` [CREATE] and ``Required request
body content is missing`` [LABEL]) and Aquarium answers so on purpose (CONTRACT.md, errors.py's
Reporting table). Schemathesis's ``not_a_server_error`` fails every 5xx, so the tier runs
:func:`no_undocumented_server_error` instead: it accepts a 500 only when it is exactly that
documented envelope on a Reporting path, and fails every other 5xx.
"""

from __future__ import annotations

import base64
import json
import threading
import time
import uuid
from typing import Any

import httpx
import schemathesis

DEMO_AUTH = ("demo", "demo")
DEMO_CLIENT = ("11111111-2222-3333-4444-555555555555", "demo")
REPORTING_PREFIXES = ("/api/rest/", "/reporting/api/rest/")
#: Fetch a new token this long before the old one expires (seconds).
TOKEN_MARGIN_S = 60.0
#: The messages Zuora documents for its HTTP 500 ZAN-REST-ERROR (reference/reporting.md 3.3).
DOCUMENTED_500_MESSAGES = ("Could not read JSON", "Required request body content is missing")


def is_reporting(path: str) -> bool:
    return path.startswith(REPORTING_PREFIXES)


def basic_header(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")


class _Tokens:
    """One bearer token per base URL, fetched when missing or about to expire."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[str, float]] = {}

    def get(self, base_url: str) -> str:
        with self._lock:
            token, expires = self._tokens.get(base_url, ("", 0.0))
            if time.monotonic() < expires - TOKEN_MARGIN_S:
                return token
            response = httpx.post(
                base_url + "/oauth/token",
                data={
                    "client_id": DEMO_CLIENT[0],
                    "client_secret": DEMO_CLIENT[1],
                    "grant_type": "client_credentials",
                },
                timeout=30.0,
            )
            response.raise_for_status()
            answer = response.json()
            token = answer["access_token"]
            self._tokens[base_url] = (token, time.monotonic() + float(answer["expires_in"]))
            return token


TOKENS = _Tokens()
#: The server the bounded tier fuzzes (its schema is the committed file, which names no server).
_BASE_URL: list[str] = []


def use_base_url(base_url: str) -> None:
    """Send the tokens' requests to ``base_url`` rather than to the schema's own base URL."""
    _BASE_URL[:] = [base_url]


#: What the auth provider puts in place of a bearer token; ``before_call`` swaps the real one in.
#: Schemathesis authenticates some cases when the pytest tier collects them, before the server
#: (and so any token) exists.
DEFERRED_BEARER = "Bearer (token of the demo OAuth client, fetched at call time)"


@schemathesis.auth(refresh_interval=None)
class AquariumAuth:
    """Bearer for the Reporting paths, Basic for every other path."""

    def get(self, case: schemathesis.Case, ctx: schemathesis.AuthContext) -> str:
        if is_reporting(ctx.operation.path):
            return DEFERRED_BEARER
        return basic_header(*DEMO_AUTH)

    def set(self, case: schemathesis.Case, data: str, ctx: schemathesis.AuthContext) -> None:
        case.headers = {**(case.headers or {}), "Authorization": data}


@schemathesis.hook
def before_call(ctx: schemathesis.HookContext, case: schemathesis.Case, kwargs: Any) -> None:
    """Swap the deferred bearer token for a real one."""
    headers = case.headers or {}
    if headers.get("Authorization") == DEFERRED_BEARER:
        base_url = _BASE_URL[0] if _BASE_URL else case.operation.schema.get_base_url()
        case.headers = {**headers, "Authorization": "Bearer " + TOKENS.get(base_url)}


def documented_reporting_500(path: str, status: int, body: bytes) -> bool:
    """Whether an answer is exactly Zuora's documented Reporting HTTP 500 (see module doc)."""
    if status != 500 or not is_reporting(path):
        return False
    try:
        outer = json.loads(body)
    except ValueError:
        return False
    if not isinstance(outer, dict) or set(outer) != {"success", "response", "links"}:
        return False
    if outer["success"] is not False or outer["links"] is not None:
        return False
    try:
        inner = json.loads(outer["response"])
    except (ValueError, TypeError):
        return False
    return isinstance(inner, dict) and _documented_inner(inner)


def _documented_inner(inner: dict[str, Any]) -> bool:
    if set(inner) != {"errorId", "message", "errorCode"} or inner["errorCode"] != "ZAN-REST-ERROR":
        return False
    try:
        uuid.UUID(str(inner["errorId"]))
    except ValueError:
        return False
    message = inner["message"]
    return isinstance(message, str) and message.startswith(DOCUMENTED_500_MESSAGES)


@schemathesis.check
def no_undocumented_server_error(
    ctx: schemathesis.CheckContext, response: schemathesis.Response, case: schemathesis.Case
) -> bool | None:
    """``not_a_server_error``, but for Zuora's documented Reporting 500 (see module doc)."""
    if response.status_code < 500:
        return None
    if documented_reporting_500(case.operation.path, response.status_code, response.content):
        return None
    raise AssertionError(
        f"Server error: HTTP {response.status_code} from {case.method} {case.formatted_path}"
    )
