"""The typed syntax tree of a ZOQL statement, as written (names not yet resolved).

Every node carries ``pos``, the 0-based offset of its first character in the statement, so later
stages can report line and column.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from decimal import Decimal


class Dialect(enum.StrEnum):
    """The two query languages AQuA accepts, values as in a query's ``type``."""

    ZOQL = "zoql"  #: SOAP-style ZOQL: one object, no joins, no grouping
    EXPORT = "zoqlexport"  #: Export ZOQL: joins, aggregates, group/order/limit


@dataclass(frozen=True)
class Name:
    text: str
    pos: int


@dataclass(frozen=True)
class Column:
    """``Field`` or ``Object.Field``."""

    qualifier: Name | None
    field: Name
    pos: int

    @property
    def written(self) -> str:
        return f"{self.qualifier.text}.{self.field.text}" if self.qualifier else self.field.text


@dataclass(frozen=True)
class ObjectStar:
    """``Object.*`` in a select list."""

    qualifier: Name
    pos: int


@dataclass(frozen=True)
class Call:
    """``func(*)``, ``func(column)`` or ``func(distinct column)``; ``arg`` is None for ``*``."""

    func: Name
    arg: Column | None
    distinct: bool
    pos: int


class LiteralKind(enum.StrEnum):
    STRING = "string"
    NUMBER = "number"
    BOOLEAN = "boolean"
    NULL = "null"


@dataclass(frozen=True)
class Literal:
    kind: LiteralKind
    value: str | Decimal | bool | None
    pos: int


Expr = Column | ObjectStar | Call
Operand = Column | Call | Literal


@dataclass(frozen=True)
class SelectItem:
    expr: Expr
    alias: Name | None
    pos: int


@dataclass(frozen=True)
class Compare:
    op: str
    left: Operand
    right: Operand
    pos: int


@dataclass(frozen=True)
class IsNull:
    operand: Operand
    negated: bool
    pos: int


@dataclass(frozen=True)
class Like:
    operand: Operand
    pattern: Literal
    negated: bool
    pos: int


@dataclass(frozen=True)
class And:
    items: tuple[Condition, ...]
    pos: int


@dataclass(frozen=True)
class Or:
    items: tuple[Condition, ...]
    pos: int


@dataclass(frozen=True)
class Not:
    item: Condition
    pos: int


@dataclass(frozen=True)
class Paren:
    """A parenthesised condition (kept so that ZOQL, which has no parentheses, can refuse it)."""

    item: Condition
    pos: int


Condition = Compare | IsNull | Like | And | Or | Not | Paren


@dataclass(frozen=True)
class OrderItem:
    expr: Column | Call
    descending: bool
    pos: int


@dataclass(frozen=True)
class Limit:
    offset: int | None
    count: int
    pos: int


@dataclass(frozen=True)
class Query:
    """A whole statement. ``select`` is empty for ``select *`` (then ``star_pos`` is set)."""

    select: tuple[SelectItem, ...]
    star_pos: int | None
    source: Name
    where: Condition | None
    group_by: tuple[Column | Call, ...]
    having: Condition | None
    order_by: tuple[OrderItem, ...]
    limit: Limit | None
    text: str
