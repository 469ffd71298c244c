"""Who is signed in, CSRF checks, and the route class that turns every failure into a page.

- :func:`signed_in` (a FastAPI dependency) reads the session cookie and checks it against the
  tenant as configured now; without a valid session a page redirects to the sign-in page (then
  back), and a background request of the page's script gets HTTP 401.
- :func:`checked` adds the CSRF check for state-changing requests: the ``csrf`` form field or
  the ``X-CSRF-Token`` header must carry the session's token, else HTTP 403.
- :class:`PageRoute` is the one place where a failure of a Job Finder route becomes a response:
  domain errors through the web table of ``api/errors.py``, anything unexpected as a polite
  500 page (and a log line), never a traceback or a JSON body.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import PlainTextResponse, RedirectResponse
from fastapi.routing import APIRoute

from aquarium import observability
from aquarium.api import deps, error_responses
from aquarium.domain import errors, tenancy
from aquarium.services import auth
from aquarium.web import pages, sessions

log = observability.logger(__name__)

BACKGROUND_HEADER = "x-aquarium-background"  # set by app.js on its own (non-navigation) requests
SIGN_IN_PATH = "/login"
HOME_PATH = "/jobs"


class SignInRequired(Exception):
    """No valid session: sign in first, then come back to ``next_url``."""

    def __init__(self, next_url: str, *, expired: bool) -> None:
        super().__init__(next_url)
        self.next_url = next_url
        self.expired = expired


class CsrfRejected(Exception):
    """A state-changing request without the session's CSRF token."""


@dataclass(frozen=True)
class WebCaller:
    """The signed-in user: their session (CSRF token, expiry) and who they act as."""

    session: sessions.Session
    principal: tenancy.Principal


def codec(request: Request) -> sessions.SessionCodec:
    """The application's session codec (the server secret is read once)."""
    state = request.app.state
    found: sessions.SessionCodec | None = getattr(state, "web_sessions", None)
    if found is None:
        settings = deps.services(request).settings
        secret = auth.load_or_create_secret(settings.data_dir)
        found = sessions.SessionCodec(secret, settings.web_session_idle_s)
        state.web_sessions = found
    return found


def now_s(request: Request) -> float:
    """The application clock's now, in seconds since the epoch."""
    return deps.services(request).clock.now().timestamp()


def is_background(request: Request) -> bool:
    """Whether the page's script made this request (live updates), not a person."""
    return request.headers.get(BACKGROUND_HEADER) == "1"


def signed_in(request: Request) -> WebCaller:
    """The signed-in user, or :class:`SignInRequired`. A person's request (not a background
    refresh) renews the session's idle expiry."""
    services = deps.services(request)
    sessions_codec = codec(request)
    now = now_s(request)
    cookie = request.cookies.get(sessions.COOKIE)
    session = sessions_codec.decode(cookie, now)
    principal = None
    if session is not None:
        principal = sessions_codec.principal(session, services.aqua.tenant_of(session.tenant))
    if session is None or principal is None:
        raise SignInRequired(_here(request), expired=cookie is not None)
    caller = WebCaller(session, principal)
    request.state.web_caller = caller
    if not is_background(request):
        request.state.web_renewed = sessions_codec.renewed(session, now)
    return caller


Caller = Annotated[WebCaller, Depends(signed_in)]


async def checked(request: Request, caller: Caller) -> WebCaller:
    """:func:`signed_in`, and the request carries the session's CSRF token."""
    token = request.headers.get(sessions.CSRF_HEADER)
    if token is None:
        form = await request.form()
        value = form.get(sessions.CSRF_FIELD)
        token = value if isinstance(value, str) else None
    if not sessions.tokens_match(caller.session.csrf, token):
        raise CsrfRejected()
    return caller


CheckedCaller = Annotated[WebCaller, Depends(checked)]


def safe_next(value: str | None) -> str:
    """Where to go after signing in: a path on this site, else the Jobs page."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return HOME_PATH
    if any(ord(c) < 0x20 for c in value) or value.startswith(SIGN_IN_PATH):
        return HOME_PATH
    return value


def sign_in_url(next_url: str, *, expired: bool = False) -> str:
    url = f"{SIGN_IN_PATH}?next={quote(next_url, safe='/')}"
    return url + "&expired=1" if expired else url


def _here(request: Request) -> str:
    """The page to come back to after signing in (a form post goes back to the Jobs page)."""
    if request.method != "GET":
        return HOME_PATH
    query = request.url.query
    return request.url.path + (f"?{query}" if query else "")


def set_session_cookie(response: Response, request: Request, value: str) -> None:
    response.set_cookie(
        sessions.COOKIE,
        value,
        max_age=codec(request).idle_s,
        path="/",
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
    )


def clear_session_cookie(response: Response) -> None:
    response.delete_cookie(sessions.COOKIE, path="/", httponly=True, samesite="lax")


class PageRoute(APIRoute):
    """A Job Finder route: failures become pages, and a renewed session is sent back."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def guarded(request: Request) -> Response:
            try:
                response = await handler(request)
            except SignInRequired as exc:
                response = _sign_in_first(request, exc)
            except CsrfRejected:
                response = pages.forbidden(request)
            except errors.AquariumError as exc:
                response = error_responses.page_for(request, exc)
            except RequestValidationError:
                response = pages.bad_form(request)
            except Exception as exc:  # the last line of defence: a page, not a traceback
                log.exception("web page failed", path=request.url.path, error=repr(exc))
                response = pages.unexpected(request)
            renewed = getattr(request.state, "web_renewed", None)
            if isinstance(renewed, sessions.Session) and response.status_code < 400:
                set_session_cookie(response, request, codec(request).encode(renewed))
            return response

        return guarded


def _sign_in_first(request: Request, exc: SignInRequired) -> Response:
    if is_background(request):
        # The script reloads the page, which then redirects to the sign-in page.
        return PlainTextResponse("Sign in again.", status_code=401)
    response = RedirectResponse(sign_in_url(exc.next_url, expired=exc.expired), status_code=303)
    if exc.expired:
        clear_session_cookie(response)
    return response
