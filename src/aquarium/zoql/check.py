"""Stage 2: :class:`ast.Query` + catalogue -> :class:`plan.Plan`, or a positioned ZoqlError.

Checks names (objects, fields, joins, functions), literal types, grouping rules, the ZOQL
dialect's restrictions and Zuora's clause limits.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from aquarium.catalog import model
from aquarium.domain import errors
from aquarium.zoql import ast, plan
from aquarium.zoql.conditions import ConditionChecker
from aquarium.zoql.scope import Scope

MAX_GROUP_BY = 5  # reference §8.2
# Output columns of one query. Zuora documents none; the engine's memory sets one: DuckDB holds
# a batch of 2,048 rows of every column at once, and at a budget of 160 MB (the default before
# issue 15; 384 MB now) 600 columns of 32-character ids already exhaust it (docs/aqua.md). The
# widest catalogue query, every field of InvoiceItem and of all it joins, has 329.
MAX_COLUMNS = 500
GROUP_BY_MESSAGE = (
    "One or more columns in the SELECT statement does not appear in the GROUP BY statement."
)


@dataclass(frozen=True)
class Context:
    """What a statement is checked against besides its text."""

    catalog: model.Catalog
    time_zone: str = "America/Los_Angeles"
    now: dt.datetime | None = None


def check(query: ast.Query, dialect: ast.Dialect, context: Context) -> plan.Plan:
    """Resolve and validate ``query``. Raises :class:`errors.ZoqlError`."""
    source = context.catalog.object(query.source.text)
    if source is None:
        raise errors.ZoqlError(
            f"unknown object '{query.source.text}'",
            errors.SourcePosition.locate(query.text, query.source.pos),
        )
    scope = Scope(
        catalog=context.catalog,
        source=source,
        dialect=dialect,
        text=query.text,
        time_zone=zoneinfo.ZoneInfo(context.time_zone),
        time_zone_name=context.time_zone,
        now=context.now or dt.datetime.now(dt.UTC),
    )
    if dialect is ast.Dialect.ZOQL:
        _zoql_restrictions(query, scope)
    positioned = _select(query, scope)
    columns = tuple(column for column, _ in positioned)
    where = ConditionChecker(scope, "where").check(query.where) if query.where else None
    group_by = _group_by(query, scope)
    having_checker = ConditionChecker(scope, "having")
    having = having_checker.check(query.having) if query.having else None
    order_by = tuple(
        plan.Ordering(scope.operand(item.expr), item.descending) for item in query.order_by
    )
    grouped = (
        bool(group_by)
        or having is not None
        or any(isinstance(c.expr, plan.Aggregate) for c in columns)
        or any(isinstance(o.expr, plan.Aggregate) for o in order_by)
    )
    if grouped:
        _check_grouping(query, scope, positioned, group_by, having_checker, order_by)
    return plan.Plan(
        source=source,
        joins=scope.joins(),
        columns=columns,
        where=where,
        group_by=group_by,
        having=having,
        order_by=order_by,
        offset=query.limit.offset if query.limit else None,
        limit=query.limit.count if query.limit else None,
        time_zone=context.time_zone,
    )


def _zoql_restrictions(query: ast.Query, scope: Scope) -> None:
    """ZOQL (type 'zoql') lacks Export ZOQL's clauses (reference §8.1)."""
    if query.star_pos is not None:
        raise scope.export_only("select *", query.star_pos)
    for item in query.select:
        if isinstance(item.expr, ast.ObjectStar):
            raise scope.export_only("Object.*", item.pos)
    clauses = (
        ("group by", query.group_by[0].pos if query.group_by else None),
        ("having", _first_pos(query.having)),
        ("order by", query.order_by[0].pos if query.order_by else None),
        ("limit", query.limit.pos if query.limit else None),
    )
    for name, pos in clauses:
        if pos is not None:
            raise scope.export_only(name, pos)


def _first_pos(node: ast.Condition | None) -> int | None:
    return None if node is None else node.pos


Positioned = list[tuple[plan.OutputColumn, int]]


def _select(query: ast.Query, scope: Scope) -> Positioned:
    """The output columns, each with the position of the select item it came from."""
    if query.star_pos is not None:
        return [(_column(ref, None), query.star_pos) for ref in scope.star(None)]
    columns: Positioned = []
    aliased: set[str] = set()  # headers chosen by an alias
    plain: set[str] = set()  # headers of unaliased columns (may repeat: select Name, Name)
    for item in query.select:
        if isinstance(item.expr, ast.ObjectStar):
            refs = scope.star(item.expr.qualifier)
            for ref in refs:
                plain.add(ref.api_name.lower())
                columns.append((_column(ref, None), item.pos))
            continue
        column = _column(scope.operand(item.expr), item.alias)
        key = column.api_header.lower()
        if item.alias is not None or key in aliased:
            if key in aliased or key in plain:
                shown = item.alias.text if item.alias is not None else column.api_header
                pos = item.alias.pos if item.alias is not None else item.pos
                raise scope.error(f"Duplicate column aliases {shown} were defined.", pos)
            (aliased if item.alias is not None else plain).add(key)
        else:
            plain.add(key)
        columns.append((column, item.pos))
    if len(columns) > MAX_COLUMNS:
        raise scope.error(
            f"a query selects at most {MAX_COLUMNS} columns; this one selects {len(columns):,}",
            columns[MAX_COLUMNS][1],
        )
    return columns


def _column(expr: plan.Expr, alias: ast.Name | None) -> plan.OutputColumn:
    """A select item's headers; an alias replaces both unless it merely restates the name."""
    if alias is None or alias.text.lower() == expr.api_name.lower():
        return plan.OutputColumn(expr, expr.api_name, expr.label_name)
    return plan.OutputColumn(expr, alias.text, alias.text)


def _group_by(query: ast.Query, scope: Scope) -> tuple[plan.Expr, ...]:
    if len(query.group_by) > MAX_GROUP_BY:
        raise scope.error(
            f"group by takes at most {MAX_GROUP_BY} fields", query.group_by[MAX_GROUP_BY].pos
        )
    exprs: list[plan.Expr] = []
    for item in query.group_by:
        expr = scope.operand(item)
        if isinstance(expr, plan.Aggregate):
            raise scope.error(f"cannot group by an aggregate ({expr.api_name})", item.pos)
        exprs.append(expr)
    return tuple(exprs)


def _check_grouping(
    query: ast.Query,
    scope: Scope,
    columns: Positioned,
    group_by: tuple[plan.Expr, ...],
    having: ConditionChecker,
    order_by: tuple[plan.Ordering, ...],
) -> None:
    """Every non-aggregate in select, having and order by must be grouped (reference §8.2)."""
    grouped = set(group_by)
    for column, pos in columns:
        if not isinstance(column.expr, plan.Aggregate) and column.expr not in grouped:
            raise scope.error(
                f"{GROUP_BY_MESSAGE} {column.expr.api_name} is neither grouped nor aggregated",
                pos,
            )
    for expr, pos in having.expressions:
        if not isinstance(expr, plan.Aggregate) and expr not in grouped:
            raise scope.error(
                f"{expr.api_name} in having must appear in group by or be aggregated", pos
            )
    for ordering, item in zip(order_by, query.order_by, strict=True):
        if not isinstance(ordering.expr, plan.Aggregate) and ordering.expr not in grouped:
            raise scope.error(
                f"{ordering.expr.api_name} in order by must appear in group by or be aggregated",
                item.pos,
            )
