"""The polling hot path: ``GET .../batch-query/jobs/{id}`` answered without the framework.

Integrations poll a job until it finishes, often many at once, so this one request is served by
a small ASGI handler that makes the same service call as the router (``AquaService.get_json``)
and writes the cached document. Anything unusual (no or bad credentials, an unknown job, an
error) falls through to the FastAPI route, which owns every answer but the plain success.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Callable

from starlette.types import ASGIApp, Receive, Scope, Send

from aquarium.api import deps
from aquarium.domain import errors

JOB_PATH = re.compile(r"^/(?:v1|apps/api)/batch-query/jobs/([0-9a-f]{32})$")
GZIP_MINIMUM_BYTES = 1000


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


class FastJobPolling:
    def __init__(self, app: ASGIApp, services: Callable[[], deps.AppServices | None]) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET":
            await self.app(scope, receive, send)
            return
        match = JOB_PATH.match(scope["path"])
        services = self.services() if match else None
        body = self._answer(scope, services, match.group(1)) if match and services else None
        if body is None:
            await self.app(scope, receive, send)
            return
        headers = [(b"content-type", b"application/json")]
        accept = _header(scope, b"accept-encoding") or ""
        if len(body) > GZIP_MINIMUM_BYTES and "gzip" in accept.lower():
            body = gzip.compress(body, compresslevel=5)
            headers += [(b"content-encoding", b"gzip"), (b"vary", b"Accept-Encoding")]
        headers.append((b"content-length", str(len(body)).encode("ascii")))
        await send({"type": "http.response.start", "status": 200, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    @staticmethod
    def _answer(scope: Scope, services: deps.AppServices, job_id: str) -> bytes | None:
        principal = services.authenticators().from_authorization(
            _header(scope, b"authorization"),
            _header(scope, b"apiaccesskeyid"),
            _header(scope, b"apisecretaccesskey"),
            now=services.clock.now(),
        )
        if principal is None:
            return None
        try:
            return services.aqua.get_json(principal, job_id)
        except errors.AquariumError:
            return None
