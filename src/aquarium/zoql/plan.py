"""The checked query: names resolved against the catalogue, literals typed and evaluated.

The lowering stage turns a :class:`Plan` into SQL without consulting the catalogue again.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from aquarium.catalog import model
from aquarium.zoql import temporal

AGGREGATES = ("avg", "count", "max", "min", "sum")
DATE_FUNCTIONS = ("date", "year", "month", "week", "weekofyear", "quarter")
# The first day of a date's calendar bucket. Not ZOQL functions (a query cannot name them): the
# Reporting API's date groups (``dateOptions.groupBy``) are planned with them.
DATE_BUCKETS = ("day_start", "week_start", "month_start", "quarter_start", "year_start")


@dataclass(frozen=True)
class FieldRef:
    """A field of the data source (``table`` = its name) or of a joined object (the join's name)."""

    table: str
    field: model.Field
    label_prefix: str

    @property
    def type(self) -> model.FieldType:
        return self.field.type

    @property
    def api_name(self) -> str:
        return f"{self.table}.{self.field.name}"

    @property
    def label_name(self) -> str:
        return f"{self.label_prefix}: {self.field.label}"


@dataclass(frozen=True)
class Aggregate:
    """``func(arg)``; ``arg`` is None for ``count(*)``."""

    func: str
    arg: FieldRef | None
    distinct: bool
    type: model.FieldType

    def _render(self, inner: str) -> str:
        return f"{self.func}({'distinct ' if self.distinct else ''}{inner})"

    @property
    def api_name(self) -> str:
        return self._render(self.arg.api_name if self.arg else "*")

    @property
    def label_name(self) -> str:
        return self._render(self.arg.label_name if self.arg else "*")


@dataclass(frozen=True)
class DatePart:
    """``date(x)``, ``year(x)`` ...; datetimes are read in the tenant's time zone first."""

    func: str
    arg: FieldRef
    type: model.FieldType

    @property
    def api_name(self) -> str:
        return f"{self.func}({self.arg.api_name})"

    @property
    def label_name(self) -> str:
        return f"{self.func}({self.arg.label_name})"


Expr = FieldRef | Aggregate | DatePart
ConstantValue = str | Decimal | bool | dt.date | dt.datetime | temporal.Beyond


@dataclass(frozen=True)
class Constant:
    """A literal, converted to the type of what it is compared with."""

    type: model.FieldType
    value: ConstantValue


@dataclass(frozen=True)
class Comparison:
    op: str
    left: Expr
    right: Expr | Constant


@dataclass(frozen=True)
class NullCheck:
    expr: Expr
    negated: bool


@dataclass(frozen=True)
class Pattern:
    """``like``; ``pattern`` uses Zuora's wildcards ``%`` and ``_``, nothing escapes."""

    expr: Expr
    pattern: str
    negated: bool


@dataclass(frozen=True)
class TextMatch:
    """A case-insensitive match of literal ``text`` (no wildcards) in a text field.

    ``mode`` is ``contains``, ``starts`` or ``ends``. Not ZOQL (whose ``like`` has wildcards and
    no escape): the Reporting API's text filters are planned with it.
    """

    expr: Expr
    text: str
    mode: str
    negated: bool


@dataclass(frozen=True)
class AllOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class AnyOf:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Negation:
    item: Condition


Condition = Comparison | NullCheck | Pattern | TextMatch | AllOf | AnyOf | Negation


@dataclass(frozen=True)
class OutputColumn:
    """One CSV column: what it computes and its header in both header styles."""

    expr: Expr
    api_header: str
    label_header: str

    @property
    def type(self) -> model.FieldType:
        return self.expr.type


@dataclass(frozen=True)
class Ordering:
    expr: Expr
    descending: bool


@dataclass(frozen=True)
class Plan:
    """Everything the lowering needs; ``joins`` are in dependency order."""

    source: model.ObjectDef
    joins: tuple[model.Relation, ...]
    columns: tuple[OutputColumn, ...]
    where: Condition | None
    group_by: tuple[Expr, ...]
    having: Condition | None
    order_by: tuple[Ordering, ...]
    offset: int | None
    limit: int | None
    time_zone: str
