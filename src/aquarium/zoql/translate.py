"""The whole pipeline: ZOQL text -> SQL for one engine (parse, check, lower)."""

from __future__ import annotations

from aquarium.domain import errors
from aquarium.zoql import ast, check, lower, parse, plan

TOO_DEEP = "the query nests too deeply"


def plan_query(text: str, dialect: ast.Dialect, context: check.Context) -> plan.Plan:
    """Parse and check ``text``. Raises :class:`aquarium.domain.errors.ZoqlError`."""
    query = parse.parse(text, dialect)
    try:
        return check.check(query, dialect, context)
    except RecursionError:  # a safety net: parse already bounds nesting
        raise errors.ZoqlError(TOO_DEEP) from None


def translate(
    text: str,
    *,
    context: check.Context,
    options: lower.Options,
    dialect: ast.Dialect = ast.Dialect.EXPORT,
) -> lower.LoweredQuery:
    """SQL for ``text``. Raises :class:`aquarium.domain.errors.ZoqlError` for a bad query."""
    query_plan = plan_query(text, dialect, context)
    try:
        return lower.lower(query_plan, options)
    except RecursionError:
        raise errors.ZoqlError(TOO_DEEP) from None
