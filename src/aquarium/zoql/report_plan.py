"""Reporting definitions -> :class:`plan.Plan`: the report front end of the query pipeline.

A report definition (reference reporting.md 7.3) names a data source, fields, groups,
aggregates, filters and sorts instead of ZOQL text. This stage resolves it with the same
:class:`Scope` and :class:`ConditionChecker` as ZOQL, so a report's query is checked, typed and
lowered by the same code as an AQuA query (ARCHITECTURE.md: one lowering for AQuA and Reporting).

Views: ``Detail`` selects ``selectedFields`` filtered by ``detailFilters``; ``Summary`` groups
by ``rowFields`` and ``colFields`` (date groups bucketed by ``dateOptions.groupBy``) and
aggregates ``valFields``, filtered by ``detailFilters`` and ``summaryFilters`` (both filter rows
before grouping). A run-time filter override replaces the saved filters of the run.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aquarium.catalog import model
from aquarium.domain import errors
from aquarium.zoql import ast, check, plan, report_filters
from aquarium.zoql.conditions import ConditionChecker
from aquarium.zoql.scope import Scope

DETAIL = "Detail"
SUMMARY = "Summary"
VIEW_TYPES = (DETAIL, SUMMARY)
MAX_GROUPS = 10  # row and column groups together (reference 8)
MAX_VALUES = 100  # summary value columns (reference 8)
SUMMARY_LISTS = ("rowFields", "colFields", "valFields")
#: a field id: ``Field`` of the data source or ``Object.Field``
FIELD_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)?")
# Aggregation tokens (reference 7.3: SUM and COUNT seen; the UI's others, spelt plainly).
AGGREGATIONS: Mapping[str, tuple[str, bool]] = {
    "SUM": ("sum", False),
    "COUNT": ("count", False),
    "AVG": ("avg", False),
    "AVERAGE": ("avg", False),
    "MIN": ("min", False),
    "MAX": ("max", False),
    "COUNT UNIQUE": ("count", True),
    "COUNT_UNIQUE": ("count", True),
    "COUNTUNIQUE": ("count", True),
}
# dateOptions.groupBy codes: NG no grouping, then calendar day/week/month/quarter/year.
DATE_GROUPINGS: Mapping[str, str | None] = {
    "NG": None,
    "CD": "day_start",
    "CW": "week_start",
    "CM": "month_start",
    "CQ": "quarter_start",
    "CY": "year_start",
}
TEMPORAL = frozenset({model.FieldType.DATE, model.FieldType.DATETIME})


@dataclass(frozen=True)
class ColumnSpec:
    """One result column of a report run, in the order of the plan's columns."""

    field_id: str  #: key in report data rows: ``Invoice.Amount``, ``SUM(Invoice.Amount)``
    header: str  #: export header: ``Invoice: Amount``, ``SUM of 'Invoice: Amount'``
    type: model.FieldType
    role: str  #: ``field`` (detail), ``row``, ``column`` (groups) or ``value`` (aggregates)
    grouping: str = "NG"  #: a date group's bucket (``dateOptions.groupBy``)


@dataclass(frozen=True)
class ReportQuery:
    plan: plan.Plan
    summary: bool
    columns: tuple[ColumnSpec, ...]


def _fail(reason: str) -> errors.ReportDefinitionError:
    return errors.ReportDefinitionError(reason)


def entries(definition: Mapping[str, Any], key: str) -> Sequence[Any]:
    """The list ``definition[key]`` (empty when absent); an error when it is not a list."""
    # Only a missing (or null) member is absent: false, 0, "" or {} is a wrong type.
    value = definition.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(f"{key} must be an array.")
    return value


def has_summary(definition: Mapping[str, Any]) -> bool:
    """Whether the definition can be run as a Summary."""
    return any(entries(definition, key) for key in SUMMARY_LISTS)


class _Builder:
    def __init__(self, source: model.ObjectDef, context: check.Context) -> None:
        assert context.now is not None
        self.scope = Scope(
            catalog=context.catalog,
            source=source,
            dialect=ast.Dialect.EXPORT,
            text="",
            time_zone=zoneinfo.ZoneInfo(context.time_zone),
            time_zone_name=context.time_zone,
            now=context.now,
        )
        self.context = context

    # -- fields ---------------------------------------------------------------------------
    def column(self, descriptor: object, where: str) -> tuple[ast.Column, plan.FieldRef]:
        """The field a descriptor (``{"id": "Account.Name", ...}``) names, resolved."""
        if not isinstance(descriptor, Mapping):
            raise _fail(f"Every entry of {where} must be a field object.")
        field_id = descriptor.get("id") or descriptor.get("name")
        if not isinstance(field_id, str) or not field_id.strip():
            raise _fail(f"A field of {where} has no id.")
        if FIELD_ID.fullmatch(field_id.strip()) is None:
            # '.Name', 'Account..Name', 'a b': never a field, though a lenient split finds one.
            raise _fail(f"The field {field_id} is not a valid field of the datasource.")
        qualifier, _, name = field_id.strip().rpartition(".")
        node = ast.Column(
            qualifier=ast.Name(qualifier, 0) if qualifier else None,
            field=ast.Name(name, 0),
            pos=0,
        )
        try:
            return node, self.scope.column(node)
        except errors.ZoqlError:
            raise _fail(f"The field {field_id} is not a valid field of the datasource.") from None

    def grouped(self, descriptor: Mapping[str, Any], where: str) -> tuple[plan.Expr, str]:
        _, ref = self.column(descriptor, where)
        options = descriptor.get("dateOptions") or {}
        code = str(options.get("groupBy", "NG")) if isinstance(options, Mapping) else "NG"
        code = code.upper()
        if code not in DATE_GROUPINGS:
            known = ", ".join(DATE_GROUPINGS)
            raise _fail(f"The date grouping {code} of {ref.api_name} is not valid: use {known}.")
        bucket = DATE_GROUPINGS[code]
        if bucket is None:
            return ref, "NG"
        if ref.type not in TEMPORAL:
            raise _fail(f"{ref.api_name} is {ref.type}; only dates can be grouped by {code}.")
        return plan.DatePart(bucket, ref, model.FieldType.DATE), code

    def aggregate(self, descriptor: Mapping[str, Any]) -> tuple[plan.Aggregate, str]:
        node, ref = self.column(descriptor, "valFields")
        token = str(descriptor.get("aggregation") or "SUM").upper().strip()
        if token not in AGGREGATIONS:
            raise _fail(
                f"The aggregation {token} of {ref.api_name} is not valid: use SUM, COUNT, AVG, "
                "MIN, MAX or COUNT UNIQUE."
            )
        func, distinct = AGGREGATIONS[token]
        call = ast.Call(func=ast.Name(func, 0), arg=node, distinct=distinct, pos=0)
        try:
            found = self.scope.call(call)
        except errors.ZoqlError as exc:
            raise _fail(f"{token} of {ref.api_name}: {exc.reason}.") from None
        assert isinstance(found, plan.Aggregate)
        return found, ("COUNT UNIQUE" if distinct else token)

    # -- filters --------------------------------------------------------------------------
    def condition(self, filters: Sequence[Any], where: str) -> plan.Condition | None:
        checker = ConditionChecker(self.scope, "where")
        resolver = report_filters.FilterResolver(
            column=lambda descriptor: self.column(descriptor, where),
            checker=checker,
            time_zone=self.scope.time_zone,
            now=self.scope.now,
            where=where,
        )
        return resolver.all_of(filters)

    # -- views ----------------------------------------------------------------------------
    def detail(
        self, definition: Mapping[str, Any]
    ) -> tuple[list[plan.OutputColumn], list[ColumnSpec], list[plan.Ordering]]:
        selected = entries(definition, "selectedFields")
        if not selected:
            raise _fail("A Detail run needs at least one field in selectedFields.")
        columns, specs, sorts = [], [], []
        for descriptor in selected:
            _, ref = self.column(descriptor, "selectedFields")
            columns.append(plan.OutputColumn(ref, ref.api_name, ref.label_name))
            specs.append(ColumnSpec(ref.api_name, ref.label_name, ref.type, "field"))
            sorts.append(_sort_of(descriptor, ref))
        return columns, specs, _ordered(sorts)

    def summary(
        self, definition: Mapping[str, Any]
    ) -> tuple[list[plan.OutputColumn], list[ColumnSpec], list[plan.Expr], list[plan.Ordering]]:
        rows, cols = entries(definition, "rowFields"), entries(definition, "colFields")
        values = entries(definition, "valFields")
        if not values:
            raise _fail("A Summary run needs at least one value field in valFields.")
        if len(rows) + len(cols) > MAX_GROUPS:
            raise _fail(f"A Summary takes at most {MAX_GROUPS} row and column groups together.")
        if len(values) > MAX_VALUES:
            raise _fail(f"A Summary takes at most {MAX_VALUES} value fields.")
        columns, specs, groups, sorts = [], [], [], []
        for role, key, descriptors in (("row", "rowFields", rows), ("column", "colFields", cols)):
            for descriptor in descriptors:
                expr, code = self.grouped(_mapping(descriptor, key), key)
                ref = expr.arg if isinstance(expr, plan.DatePart) else expr
                assert isinstance(ref, plan.FieldRef)
                columns.append(plan.OutputColumn(expr, ref.api_name, ref.label_name))
                specs.append(ColumnSpec(ref.api_name, ref.label_name, expr.type, role, code))
                groups.append(expr)
                sorts.append(_sort_of(descriptor, expr, default="ASC"))
        for descriptor in values:
            found, token = self.aggregate(_mapping(descriptor, "valFields"))
            assert found.arg is not None
            field_id = f"{token}({found.arg.api_name})"
            header = f"{token} of '{found.arg.label_name}'"
            columns.append(plan.OutputColumn(found, field_id, header))
            specs.append(ColumnSpec(field_id, header, found.type, "value"))
            sorts.append(_sort_of(descriptor, found))
        return columns, specs, groups, _ordered(sorts)


def _mapping(value: object, where: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _fail(f"Every entry of {where} must be a field object.")
    return value


def _sort_of(
    descriptor: object, expr: plan.Expr, default: str = "NONE"
) -> tuple[int, plan.Ordering] | None:
    """``(priority, ordering)`` from a descriptor's ``sortDir``/``sortPriority``, or None."""
    assert isinstance(descriptor, Mapping)
    direction = str(descriptor.get("sortDir") or default).upper()
    if direction not in {"ASC", "DESC", "NONE"}:
        raise _fail(f"sortDir {direction} is not valid: use ASC, DESC or NONE.")
    if direction == "NONE":
        return None
    priority = descriptor.get("sortPriority", -1)
    if isinstance(priority, bool) or not isinstance(priority, int | str):
        raise _fail("sortPriority must be an integer.")
    try:
        rank = int(priority)
    except ValueError:
        raise _fail("sortPriority must be an integer.") from None
    return rank, plan.Ordering(expr, descending=direction == "DESC")


def _ordered(sorts: list[tuple[int, plan.Ordering] | None]) -> list[plan.Ordering]:
    """Explicit priorities (0, 1, ...) first, in priority order; then the rest as listed."""
    ranked = [
        (sort[0] if sort[0] >= 0 else len(sorts) + i, i, sort[1])
        for i, sort in enumerate(sorts)
        if sort is not None
    ]
    return [ordering for _, _, ordering in sorted(ranked, key=lambda item: (item[0], item[1]))]


def build(
    definition: Mapping[str, Any],
    *,
    ds_name: str,
    view_type: str,
    context: check.Context,
    overrides: Sequence[Any] | None = None,
) -> ReportQuery:
    """The query of a report run; :class:`errors.ReportDefinitionError` when it cannot run.

    ``overrides`` (the Run a Report body) replaces the saved filters when given.
    """
    source = context.catalog.object(ds_name)
    if source is None:
        raise _fail("The datasource name is not a valid datasource.")
    if view_type not in VIEW_TYPES:
        raise _fail(f"The viewType {view_type} is not valid: use Detail or Summary.")
    builder = _Builder(source, context)
    saved = list(entries(definition, "detailFilters"))
    if view_type == SUMMARY:
        saved += entries(definition, "summaryFilters")
    filters = saved if overrides is None else list(overrides)
    where = builder.condition(filters, "filters")
    group_by: list[plan.Expr] = []
    if view_type == DETAIL:
        columns, specs, order_by = builder.detail(definition)
    else:
        columns, specs, group_by, order_by = builder.summary(definition)
    _unique(specs)
    query_plan = plan.Plan(
        source=source,
        joins=builder.scope.joins(),
        columns=tuple(columns),
        where=where,
        group_by=tuple(group_by),
        having=None,
        order_by=tuple(order_by),
        offset=None,
        limit=None,
        time_zone=context.time_zone,
    )
    return ReportQuery(query_plan, view_type == SUMMARY, tuple(specs))


def _unique(specs: list[ColumnSpec]) -> None:
    seen: set[str] = set()
    for spec in specs:
        if spec.field_id in seen:
            raise _fail(f"{spec.field_id} appears twice in the report; each column once.")
        seen.add(spec.field_id)


def validate(definition: Mapping[str, Any], *, ds_name: str, context: check.Context) -> None:
    """Check every view the definition can serve (at save time); raises on the first problem.

    A definition with neither ``selectedFields`` nor summary fields is refused.
    """
    views = []
    if entries(definition, "selectedFields"):
        views.append(DETAIL)
    if has_summary(definition):
        views.append(SUMMARY)
    if not views:
        raise _fail(
            "The report definition has no fields: add selectedFields (Detail) or "
            "rowFields, colFields and valFields (Summary)."
        )
    for view in views:
        build(definition, ds_name=ds_name, view_type=view, context=context)
    summary_filters = entries(definition, "summaryFilters")
    check_filters(summary_filters, ds_name=ds_name, context=context, where="summaryFilters")


def check_filters(
    filters: Sequence[Any], *, ds_name: str, context: check.Context, where: str = "filters"
) -> None:
    """Check filters (a saved list, or a Run a Report override) against the data source."""
    source = context.catalog.object(ds_name)
    if source is None:
        raise _fail("The datasource name is not a valid datasource.")
    _Builder(source, context).condition(filters, where)
