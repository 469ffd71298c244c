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

    Where routes of a literal path and of a template both match (``/reports/copy`` and
    ``/reports/{report_id}``), the most literal ones answer: ``copy`` is no report id, so what
    the template's routes would do there (look the report "copy" up and not find it) is no
    method the path takes. Routes of included routers are walked too (FastAPI keeps them
    nested)."""
    by_parameters: dict[int, set[str]] = {}
    for route in iter_route_contexts(routes):
        template, methods = route.path, route.methods
        if not (template and methods):
            continue
        pattern, _, convertors = compile_path(template)
        if pattern.match(path):
            taken = by_parameters.setdefault(len(convertors), set())
            taken.update(method.upper() for method in methods)
    found = by_parameters[min(by_parameters)] if by_parameters else set()
    if found:
        found.add("OPTIONS")
    return tuple(sorted(found, key=_rank))


def header(routes: Sequence[BaseRoute], path: str) -> str | None:
    """The ``Allow`` header for ``path``; ``None`` when no route's path matches."""
    methods = methods_of(routes, path)
    return ", ".join(methods) if methods else None


def _rank(method: str) -> tuple[int, str]:
    return (ORDER.index(method) if method in ORDER else len(ORDER), method)
