"""Rendering Job Finder pages: templates, display filters, static assets and error pages.

Every page goes through :func:`render`, which adds the signed-in user, the CSRF token and the
security headers (a strict Content-Security-Policy: no inline script or style, nothing from
another origin). :func:`error_page` renders a domain error as a page: the words are the same as
the API's (:meth:`AquariumError.describe`), headed by what a person should do.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse

from aquarium import __version__
from aquarium.domain import errors, jobs

STATIC_PACKAGE = "aquarium.web"
STATIC_DIR = "static"
STATIC_MEDIA_TYPES = {".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8"}
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'; "
        "object-src 'none'"
    ),
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # Pages show a tenant's data: never kept by a shared cache or the back-forward cache.
    "Cache-Control": "no-store",
}
ACTIVE_STATUSES = frozenset(
    {s.value for s in jobs.ACTIVE}
    | {
        s.value
        for s in jobs.ReportRunStatus
        if s.value in {"STARTED", "QUERYDATA", "PROCESSINGDATA"}
    }
    | {s.value for s in jobs.DATA_QUERY_ACTIVE}
)
DONE_STATUSES = frozenset({jobs.JobStatus.COMPLETED.value, jobs.ReportRunStatus.COMPLETED.value})
CANCELLED_STATUSES = frozenset(
    {jobs.JobStatus.CANCELLED.value, jobs.ReportRunStatus.CANCELLED.value}
)
KB = 1000
NOTICES: Mapping[str, str] = {
    "cancelled": "The job was cancelled.",
    "not-cancellable": "The job had already finished, so there was nothing to cancel.",
    "run-started": "The report run has started; it is listed below.",
    "signed-out": "You have signed out.",
}


@dataclass(frozen=True)
class StaticFile:
    name: str
    body: bytes
    media_type: str
    version: str


def _load_static() -> dict[str, StaticFile]:
    found: dict[str, StaticFile] = {}
    for entry in resources.files(STATIC_PACKAGE).joinpath(STATIC_DIR).iterdir():
        suffix = "." + entry.name.rpartition(".")[2]
        if entry.is_file() and suffix in STATIC_MEDIA_TYPES:
            body = entry.read_bytes()
            version = hashlib.sha256(body).hexdigest()[:12]
            found[entry.name] = StaticFile(entry.name, body, STATIC_MEDIA_TYPES[suffix], version)
    return found


STATIC: Mapping[str, StaticFile] = _load_static()


def static_url(name: str) -> str:
    """``/static/NAME?v=HASH``: the hash changes with the file, so browsers may cache it long."""
    return f"/static/{name}?v={STATIC[name].version}"


# -- display filters -------------------------------------------------------------------------------


def when(value: str | None) -> str:
    """``2026-12-01T10:00:00.123Z`` as ``2026-12-01 10:00:00 UTC``; ``—`` for nothing."""
    if not value:
        return "—"
    try:
        instant = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    return instant.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def size(value: int | None) -> str:
    """Bytes for people: ``980 B``, ``9.8 MB``."""
    number = float(value or 0)
    for unit in ("B", "kB", "MB", "GB"):
        if number < KB or unit == "GB":
            return f"{number:,.0f} {unit}" if unit == "B" else f"{number:,.1f} {unit}"
        number /= KB
    return f"{number:,.1f} GB"  # pragma: no cover - the loop returns


def count(value: int | None) -> str:
    return f"{value or 0:,}"


def duration(milliseconds: int | None) -> str:
    """``40 ms``, ``2.5 s``, ``12 s``, ``3 min 5 s``, ``2 h 4 min``."""
    seconds = (milliseconds or 0) / 1000
    if seconds < 1:
        return f"{milliseconds or 0} ms"
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"


def shown(value: object) -> str:
    """A setting as a person reads it: ``yes``/``no`` for booleans, ``—`` for nothing."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if value is None or value == "":
        return "—"
    return str(value)


def status_class(status: str | None) -> str:
    """The CSS class of a status badge: active, done, cancelled or failed."""
    if status in ACTIVE_STATUSES or status == jobs.BatchStatus.PENDING.value:
        return "active"
    if status in DONE_STATUSES:
        return "done"
    if status in CANCELLED_STATUSES:
        return "cancelled"
    return "failed"


def is_active(status: str | None) -> bool:
    return status in ACTIVE_STATUSES


ENV = jinja2.Environment(
    loader=jinja2.PackageLoader("aquarium.web", "templates"),
    autoescape=jinja2.select_autoescape(["html"]),
    undefined=jinja2.StrictUndefined,
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters.update(
    when=when, size=size, count=count, duration=duration, shown=shown, status_class=status_class
)
ENV.globals.update(static=static_url, is_active=is_active, version=__version__)


def render(request: Request, template: str, *, status: int = 200, **context: Any) -> HTMLResponse:
    """The page ``template`` with ``context``, the signed-in user and the security headers."""
    caller = getattr(request.state, "web_caller", None)
    notice = NOTICES.get(request.query_params.get("notice", ""))
    base = {
        "user": caller.principal if caller is not None else None,
        "csrf": caller.session.csrf if caller is not None else "",
        "path": request.url.path,
        "notice": notice,
    }
    html = ENV.get_template(template).render({**base, **context})
    return HTMLResponse(html, status_code=status, headers=SECURITY_HEADERS)


def fragment(template: str, **context: Any) -> HTMLResponse:
    """A piece of a page for the page's script (live updates); same headers as a page."""
    html = ENV.get_template(template).render(context)
    return HTMLResponse(html, headers=SECURITY_HEADERS)


# -- error pages -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Problem:
    status: int
    title: str
    advice: str


NOT_FOUND = Problem(
    404,
    "Not found",
    "There is nothing here with that name or id. It may have been removed after its retention "
    "period, or it belongs to another tenant.",
)
NOT_ALLOWED = Problem(403, "Not allowed", "Your user may not do this. Ask a tenant administrator.")
REFUSED = Problem(400, "That did not work", "Nothing was changed. Check the values and try again.")
NOT_CANCELLABLE = Problem(409, "Nothing to cancel", "The job has already finished.")


SIGN_IN_AGAIN = Problem(401, "Please sign in again", "Your tenant or user has changed.")


def error_page(request: Request, error: errors.AquariumError, problem: Problem) -> HTMLResponse:
    """The page for a domain error, headed by ``problem``; which problem each error is, is
    ``api/errors.py``'s web table, the one mapping of errors to HTTP."""
    excerpt = None
    if isinstance(error, errors.ZoqlError) and error.position is not None:
        excerpt = error.position.excerpt
    return render(
        request,
        "error.html",
        status=problem.status,
        title=problem.title,
        advice=problem.advice,
        detail=error.describe(),
        excerpt=excerpt,
    )


def forbidden(request: Request) -> HTMLResponse:
    """A state-changing request without the session's CSRF token."""
    return render(
        request,
        "error.html",
        status=403,
        title="Request refused",
        advice=(
            "This form has expired or did not come from this site, so nothing was changed. "
            "Go back, reload the page and try again."
        ),
        detail=None,
        excerpt=None,
    )


def bad_form(request: Request) -> HTMLResponse:
    return render(
        request,
        "error.html",
        status=400,
        title="That did not work",
        advice="The form was not filled in as expected; nothing was changed.",
        detail=None,
        excerpt=None,
    )


def unexpected(request: Request) -> HTMLResponse:
    return render(
        request,
        "error.html",
        status=500,
        title="Something went wrong on our side",
        advice="Nothing you did caused this. The problem was logged; please try again shortly.",
        detail=None,
        excerpt=None,
    )
