"""Which methods a path takes: the ``Allow`` header of 405 and OPTIONS answers.

Starlette's router answers a method a path does not take with the methods of the *first* route
whose path matches, so ``POST /v1/batch-query/jobs/{id}`` said ``Allow: GET`` and left out
DELETE (each method is a route of its own here). This module asks every route instead.
"""

from __future__ import annotations

from collections.abc import Sequence

from fastapi.routing import iter_route_contexts
from starlette.routing import BaseRoute, compile_path

#: The order methods are listed in (any other method after these, alphabetically).
ORDER = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def methods_of(routes: Sequence[BaseRoute], path: str) -> tuple[str, ...]:
    """Every method some route takes at ``path``, OPTIONS included when any is taken (the
    exception handlers answer it); empty when no route's path matches.

    Routes of included routers are walked too (FastAPI keeps them nested)."""
    found: set[str] = set()
    for route in iter_route_contexts(routes):
        template, methods = route.path, route.methods
        if template and methods and compile_path(template)[0].match(path):
            found.update(method.upper() for method in methods)
    if found:
        found.add("OPTIONS")
    return tuple(sorted(found, key=_rank))


def header(routes: Sequence[BaseRoute], path: str) -> str | None:
    """The ``Allow`` header for ``path``; ``None`` when no route's path matches."""
    methods = methods_of(routes, path)
    return ", ".join(methods) if methods else None


def _rank(method: str) -> tuple[int, str]:
    return (ORDER.index(method) if method in ORDER else len(ORDER), method)
