"""The Job Finder's router (every page, and its static assets), included by ``api/app.py``.

None of these routes is part of the HTTP API: they are left out of ``openapi.json``.
"""

from __future__ import annotations

from fastapi import APIRouter, Response

from aquarium.domain import errors
from aquarium.web import guard, job_pages, object_pages, pages, report_pages, signin_routes

STATIC_MAX_AGE_S = 365 * 86400  # seconds; asset URLs carry a hash of their content

router = APIRouter(route_class=guard.PageRoute, include_in_schema=False)


@router.get("/static/{name}")
def static_file(name: str) -> Response:
    """The style sheet and the script, from the package."""
    found = pages.STATIC.get(name)
    if found is None:
        raise errors.NotFound(f"there is no asset {name!r}")
    return Response(
        found.body,
        media_type=found.media_type,
        headers={
            "Cache-Control": f"public, max-age={STATIC_MAX_AGE_S}, immutable",
            "X-Content-Type-Options": "nosniff",
        },
    )


for part in (signin_routes, job_pages, report_pages, object_pages):
    router.include_router(part.router)
