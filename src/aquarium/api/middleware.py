"""ASGI middleware (pure ASGI: no per-request thread hop, polling must stay cheap).

- path normalisation: ``/v1//batch-query/jobs/x/`` is ``/v1/batch-query/jobs/x`` (CONTRACT.md);
- ``Zuora-Request-Id`` on every answer, ``Zuora-Track-Id`` echoed when it is valid;
- gzip for answers over 1,000 bytes when asked, except result files, the Job Finder's downloads
  included (streamed as stored, so ``Range`` requests keep working);
- cross-site refusal: a state-changing request to an API that a browser says another site's
  page sent (``Sec-Fetch-Site``) is answered 403 in the family's envelope before anything reads
  its credentials. The APIs take HTTP Basic and send a Basic challenge, so a browser that was
  once given a password for this server sends it along with any site's form post; Aquarium
  sends no CORS headers, so no legitimate client posts cross-site. The Job Finder's pages have
  CSRF tokens of their own (``web/guard.py``). See docs/security.md "CSRF".
"""

from __future__ import annotations

import re

from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aquarium.api import error_responses
from aquarium.api import errors as api_errors
from aquarium.domain import errors, ids

SLASHES = re.compile(r"/{2,}")
TRACK_ID = re.compile(r"[\x20-\x7e]{1,64}")
TRACK_ID_FORBIDDEN = set(":;\"'")
# Result files: Zuora's paths and the Job Finder's downloads (web/job_pages.py).
FILE_PATHS = re.compile(
    r"^/(v1/files?|apps/api/file|query/results)/|^/jobs/[^/]+/(files/|export|download|result)"
)
GZIP_MINIMUM_BYTES = 1000
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: ``Sec-Fetch-Site`` values of requests this site's own pages (or a person) made; API clients
#: send no such header at all.
OWN_SITE = frozenset({b"same-origin", b"none"})


class NormalisePath:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = SLASHES.sub("/", scope["path"])
            if len(path) > 1 and path.endswith("/"):
                path = path.rstrip("/") or "/"
            if path != scope["path"]:
                scope = dict(scope, path=path, raw_path=path.encode("utf-8"))
        await self.app(scope, receive, send)


def _track_id(scope: Scope) -> bytes | None:
    for name, value in scope.get("headers", ()):
        if name == b"zuora-track-id":
            text = value.decode("latin-1")
            if TRACK_ID.fullmatch(text) and not TRACK_ID_FORBIDDEN & set(text):
                return bytes(value)
    return None


def _fetch_site(scope: Scope) -> bytes | None:
    for name, value in scope.get("headers", ()):
        if name == b"sec-fetch-site":
            return bytes(value).strip().lower()[:40]
    return None


class RefuseCrossSite:
    """A state-changing API request another site's page made: 403, nothing else done."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["method"] not in SAFE_METHODS
            and (site := _fetch_site(scope)) is not None
            and site not in OWN_SITE
            and api_errors.family_of(scope["path"]) is not api_errors.Family.WEB
        ):
            said = site.decode("latin-1")
            refusal = errors.CrossSiteRequest(
                f"a request sent by another site's page (Sec-Fetch-Site: {said!r}) is not accepted"
            )
            response = error_responses.respond(Request(scope), refusal)
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


class ZuoraHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = [(b"zuora-request-id", ids.new_id().encode("ascii"))]
        track = _track_id(scope)
        if track is not None:
            extra.append((b"zuora-track-id", track))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = dict(message, headers=[*message.get("headers", []), *extra])
            await send(message)

        await self.app(scope, receive, send_with_headers)


class GzipExceptFiles:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.gzip = GZipMiddleware(app, minimum_size=GZIP_MINIMUM_BYTES)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and not FILE_PATHS.match(scope["path"]):
            await self.gzip(scope, receive, send)
        else:
            await self.app(scope, receive, send)
