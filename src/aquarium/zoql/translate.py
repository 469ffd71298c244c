"""The whole pipeline: ZOQL text -> SQL for one engine (parse, check, lower)."""

from __future__ import annotations

from aquarium.zoql import ast, check, lower, parse, plan


def plan_query(text: str, dialect: ast.Dialect, context: check.Context) -> plan.Plan:
    """Parse and check ``text``. Raises :class:`aquarium.domain.errors.ZoqlError`."""
    return check.check(parse.parse(text, dialect), dialect, context)


def translate(
    text: str,
    *,
    context: check.Context,
    options: lower.Options,
    dialect: ast.Dialect = ast.Dialect.EXPORT,
) -> lower.LoweredQuery:
    """SQL for ``text``. Raises :class:`aquarium.domain.errors.ZoqlError` for a bad query."""
    return lower.lower(plan_query(text, dialect, context), options)
