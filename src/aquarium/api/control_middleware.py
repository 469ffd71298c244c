"""The test-control edge (``--test-control`` only): records requests, fires fault rules.

Installed by ``api/app.py`` only when the server has a control service; a server started without
the switch has neither this middleware nor the control routes. For every HTTP request but the
control API's own (``/aquarium/api/v1/control/...``):

1. the caller is authenticated from its headers (Basic, ``apiAccessKeyId``, Bearer; the same
   cached check the routes make); a request without valid credentials is neither recorded nor
   subject to faults, since it belongs to no tenant;
2. the request body is digested as it streams to the route, for its SHA-256 and size (the bytes
   as sent: a gzip body is digested compressed; a body the route stops reading, one over the
   size limit say, counts up to there);
3. the first active fault rule of the tenant that matches fires: an ``http`` or ``refuse`` fault
   answers here (the route never runs); a ``disconnect`` lets the route answer and closes the
   connection half-way through the body (half the announced ``Content-Length``, else half of the
   first chunk);
4. the request is recorded (method, path, query, status, digest, size, start, duration) before
   the last byte of the answer is sent, so a client that asks for the requests it made right after
   an answer finds that one among them.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aquarium import observability
from aquarium.api import deps, error_responses
from aquarium.domain import errors, faults, tenancy
from aquarium.services import control

CONTROL_PREFIX = "/aquarium/api/v1/control"
# Zuora's rate-limit headers (IETF draft "RateLimit header fields" v2, as Zuora's "Rate and
# concurrent request limits" page describes them): the quota of the window closest to exhaustion
# first, then every window's quota; remaining 0; seconds until the window resets.
RATE_LIMIT_QUOTAS = "50000, 50000;w=60, 2250000;w=3600, 27000000;w=86400"
RATE_LIMIT_MESSAGE = (
    "You have exceeded the rate limit of API requests for this tenant. "
    "Retry after {seconds} seconds."
)
UNAVAILABLE_MESSAGE = "Service Temporarily Unavailable"

log = observability.logger(__name__)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value).decode("latin-1")
    return None


class _Disconnected(Exception):
    """Raised from ``send`` to stop the route once a ``disconnect`` fault has cut its answer."""


@dataclass
class _Exchange:
    """What the middleware learns of one request as it passes."""

    tenant: str
    started_at_s: float
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)
    body_bytes: int = 0
    status: int = 500  # until the answer starts: a route that fails before it answers
    fault_id: str | None = None
    recorded: bool = False


class ControlMiddleware:
    """See the module docstring."""

    def __init__(self, app: ASGIApp, services: Callable[[], deps.AppServices | None]) -> None:
        self.app = app
        self.services = services

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        services = self.services() if scope["type"] == "http" else None
        if services is None or services.control is None or scope["path"].startswith(CONTROL_PREFIX):
            await self.app(scope, receive, send)
            return
        caller = await run_in_threadpool(_caller, scope, services)
        if caller is None:
            await self.app(scope, receive, send)
            return
        await self._handle(services.control, caller.tenant, services, scope, receive, send)

    async def _handle(
        self,
        service: control.ControlService,
        tenant: str,
        services: deps.AppServices,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        exchange = _Exchange(tenant, time.monotonic())
        method, path = scope["method"], scope["path"]
        query = bytes(scope.get("query_string", b"")).decode("latin-1")
        started_at = services.clock.now()

        def record() -> None:
            if exchange.recorded:
                return
            exchange.recorded = True
            service.record(
                tenant,
                control.SeenRequest(
                    method=method,
                    path=path,
                    query=query,
                    status=exchange.status,
                    body_sha256=exchange.digest.hexdigest(),
                    body_bytes=exchange.body_bytes,
                    started_at=started_at,
                    duration_ms=(time.monotonic() - exchange.started_at_s) * 1000,
                    fault_id=exchange.fault_id,
                ),
            )

        async def digesting_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                chunk = message.get("body", b"")
                exchange.digest.update(chunk)
                exchange.body_bytes += len(chunk)
            return message

        firing = service.fire(tenant, method, path, query)
        if firing is not None:
            exchange.fault_id = firing.rule_id
            log.warning("test-control fault fired", tenant=tenant, rule=firing.rule_id, path=path)
        try:
            if firing is not None and isinstance(firing.action, faults.HttpFault | faults.Refuse):
                await _drain(digesting_receive)
                await self._answer_fault(firing.action, scope, exchange, record, send)
                return
            cut = firing is not None and isinstance(firing.action, faults.Disconnect)
            recording_send = _recording_send(send, exchange, record, cut=cut)
            try:
                await self.app(scope, digesting_receive, recording_send)
            except* _Disconnected:
                # (Possibly raised inside a streaming response's task group.) Returning without
                # finishing the answer: the server closes the connection.
                pass
        finally:
            record()

    @staticmethod
    async def _answer_fault(
        fault: faults.HttpFault | faults.Refuse,
        scope: Scope,
        exchange: _Exchange,
        record: Callable[[], None],
        send: Send,
    ) -> None:
        response = fault_response(fault, scope)
        exchange.status = response.status_code

        async def send_recorded(message: Message) -> None:
            if message["type"] == "http.response.body" and not message.get("more_body"):
                record()
            await send(message)

        await response(scope, _no_body, send_recorded)


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


async def _drain(receive: Receive) -> None:
    """Read the request body to its end (so it is digested) before answering without the route."""
    while True:
        message = await receive()
        if message["type"] != "http.request" or not message.get("more_body"):
            return


def _recording_send(
    send: Send, exchange: _Exchange, record: Callable[[], None], *, cut: bool
) -> Send:
    """``send`` that notes the status, records the request before the answer's last chunk, and
    (``cut``) stops the answer half-way through its body."""
    announced: int | None = None
    left: int | None = None

    async def wrapped(message: Message) -> None:
        nonlocal announced, left
        if message["type"] == "http.response.start":
            exchange.status = int(message["status"])
            for key, value in message.get("headers", ()):
                if key.lower() == b"content-length":
                    announced = int(value)
            await send(message)
            return
        if message["type"] != "http.response.body":
            await send(message)
            return
        if cut:
            chunk = bytes(message.get("body", b""))
            if left is None:
                left = (announced if announced is not None else len(chunk)) // 2
            part = chunk[:left]
            left -= len(part)
            if left <= 0 or not message.get("more_body"):
                record()
                if part:
                    await send({"type": "http.response.body", "body": part, "more_body": True})
                raise _Disconnected()
            await send(dict(message, body=part))
            return
        if not message.get("more_body"):
            record()
        await send(message)

    return wrapped


def _caller(scope: Scope, services: deps.AppServices) -> tenancy.Principal | None:
    """Who sent the request, from its headers; ``None`` when it does not authenticate."""
    return services.authenticators().from_authorization(
        _header(scope, b"authorization"),
        _header(scope, b"apiaccesskeyid"),
        _header(scope, b"apisecretaccesskey"),
        now=services.clock.now(),
    )


def fault_response(fault: faults.HttpFault | faults.Refuse, scope: Scope) -> Response:
    """The answer of an ``http`` or ``refuse`` fault.

    ``refuse`` is AQuA's error body (HTTP 200, CONTRACT.md "AQuA") with the rule's code and
    message, as Zuora refuses a submit.

    429 is what Zuora's gateway answers over a rate limit: its ``RateLimit-*`` headers (quota
    left 0), ``Retry-After`` and a JSON ``message``. 503 is a gateway's "temporarily unavailable"
    with ``Retry-After``. 500 is the request's API family's own internal-error answer (AQuA's
    90010 body, Reporting's envelope, ...), as when a route fails.
    """
    if isinstance(fault, faults.Refuse):
        refusal = {"id": None, "status": "error", "errorCode": fault.error_code}
        return JSONResponse({**refusal, "message": fault.message})
    seconds = fault.retry_after_s
    if fault.status == 500:
        return error_responses.respond(Request(scope), errors.InternalError("a test-control fault"))
    headers = {"Retry-After": str(seconds)}
    if fault.status == 429:
        message = fault.message or RATE_LIMIT_MESSAGE.format(seconds=seconds)
        headers.update(
            {
                "RateLimit-Limit": RATE_LIMIT_QUOTAS,
                "RateLimit-Remaining": "0",
                "RateLimit-Reset": str(seconds),
            }
        )
    else:
        message = fault.message or UNAVAILABLE_MESSAGE
    return JSONResponse({"message": message}, status_code=fault.status, headers=headers)
