"""Signing in and out of the Job Finder, and ``/``.

A wrong user name or password shows the sign-in page again with one message for both, so the
page does not tell which user names exist (the Authenticator also takes as long for an unknown
name as for a wrong password).
"""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import RedirectResponse

from aquarium.api import deps
from aquarium.web import guard, pages, sessions

router = APIRouter(route_class=guard.PageRoute, include_in_schema=False)

WRONG_CREDENTIALS = "Wrong user name or password."
FORM_EXPIRED = "The sign-in form had expired. Please sign in again."
SESSION_ENDED = "Your session has ended. Please sign in again."
MAX_FIELD_CHARS = 1024  # a user name or password longer than this is not one we issued


@router.get("/")
def home(request: Request) -> Response:
    """The Jobs page when signed in, else the sign-in page."""
    try:
        guard.signed_in(request)
    except guard.SignInRequired:
        return RedirectResponse(guard.SIGN_IN_PATH, status_code=303)
    return RedirectResponse(guard.HOME_PATH, status_code=303)


@router.get("/login")
def sign_in_page(request: Request) -> Response:
    """The sign-in form; a signed-in user goes straight on to ``next``."""
    params = request.query_params
    target = guard.safe_next(params.get("next"))
    try:
        guard.signed_in(request)
    except guard.SignInRequired:
        message = SESSION_ENDED if params.get("expired") == "1" else None
        return _form(request, target, message=message)
    return RedirectResponse(target, status_code=303)


@router.post("/login")
async def sign_in(request: Request) -> Response:
    """Check the user name and password; on success set the session cookie and go on."""
    form = await request.form()
    user, password, token, target = (
        str(form.get(name) or "")[:MAX_FIELD_CHARS]
        for name in ("user", "password", sessions.CSRF_FIELD, "next")
    )
    target = guard.safe_next(target)
    if not sessions.tokens_match(request.cookies.get(sessions.LOGIN_COOKIE), token):
        return _form(request, target, message=FORM_EXPIRED, status=403, user=user)
    services = deps.services(request)
    # scrypt takes tens of milliseconds: off the event loop.
    principal = await run_in_threadpool(services.authenticators().basic, user, password)
    tenant = services.aqua.tenant_of(principal.tenant) if principal is not None else None
    found = tenant.user(principal.name) if tenant is not None and principal is not None else None
    if tenant is None or found is None:
        return _form(request, target, message=WRONG_CREDENTIALS, user=user)
    codec = guard.codec(request)
    session = codec.issue(tenant.name, found, guard.now_s(request))
    response = RedirectResponse(target, status_code=303)
    guard.set_session_cookie(response, request, codec.encode(session))
    response.delete_cookie(sessions.LOGIN_COOKIE, path=guard.SIGN_IN_PATH)
    return response


@router.post("/logout")
def sign_out(request: Request, caller: guard.CheckedCaller) -> Response:
    """End the session (its cookie is deleted) and show the sign-in page."""
    request.state.web_renewed = None
    response = RedirectResponse(f"{guard.SIGN_IN_PATH}?notice=signed-out", status_code=303)
    guard.clear_session_cookie(response)
    return response


def _form(
    request: Request,
    target: str,
    *,
    message: str | None,
    status: int = 200,
    user: str = "",
) -> Response:
    """The sign-in page with a fresh double-submit token (kept if the browser has one)."""
    token = request.cookies.get(sessions.LOGIN_COOKIE) or ""
    if not 20 <= len(token) <= 100 or not token.replace("-", "").replace("_", "").isalnum():
        token = sessions.new_token()
    response = pages.render(
        request,
        "login.html",
        status=status,
        message=message,
        next_url=target,
        login_token=token,
        user_name=user,
    )
    response.set_cookie(
        sessions.LOGIN_COOKIE,
        token,
        max_age=sessions.LOGIN_COOKIE_MAX_AGE_S,
        path=guard.SIGN_IN_PATH,
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
    )
    return response
