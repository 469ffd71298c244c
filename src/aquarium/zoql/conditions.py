"""WHERE and HAVING: conditions resolved, literals converted to the compared field's type.

A bare date compared with a datetime field means the whole day in the tenant's zone
(reference §8.2): ``UpdatedDate = '2011-02-01'`` becomes a half-open range of instants.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from aquarium.catalog import model
from aquarium.zoql import ast, numbers, plan, temporal
from aquarium.zoql.scope import NUMERIC, Scope

MAX_CONDITIONS = {ast.Dialect.ZOQL: 200, ast.Dialect.EXPORT: 1000}
FLIPPED = {"=": "=", "!=": "!=", "<": ">", "<=": ">=", ">": "<", ">=": "<="}
TEXTUAL = frozenset({model.FieldType.TEXT, model.FieldType.PICKLIST})
# Which field types may be compared with each other (field-to-field comparisons).
COMPATIBLE = (
    NUMERIC,
    TEXTUAL,
    frozenset({model.FieldType.DATE}),
    frozenset({model.FieldType.DATETIME}),
    frozenset({model.FieldType.BOOLEAN}),
)


@dataclass
class ConditionChecker:
    """Checks one WHERE or HAVING clause; ``clause`` is ``'where'`` or ``'having'``."""

    scope: Scope
    clause: str
    expressions: list[tuple[plan.Expr, int]] = field(default_factory=list)
    count: int = 0

    def check(self, node: ast.Condition) -> plan.Condition:
        handler: Callable[[ast.Condition], plan.Condition] = getattr(
            self, "_" + type(node).__name__.lower()
        )
        return handler(node)

    # -- connectives ----------------------------------------------------------------------
    def _and(self, node: ast.Condition) -> plan.Condition:
        assert isinstance(node, ast.And)
        return plan.AllOf(tuple(self.check(item) for item in node.items))

    def _or(self, node: ast.Condition) -> plan.Condition:
        assert isinstance(node, ast.Or)
        return plan.AnyOf(tuple(self.check(item) for item in node.items))

    def _not(self, node: ast.Condition) -> plan.Condition:
        assert isinstance(node, ast.Not)
        return plan.Negation(self.check(node.item))

    def _paren(self, node: ast.Condition) -> plan.Condition:
        assert isinstance(node, ast.Paren)
        if self.scope.dialect is ast.Dialect.ZOQL:
            raise self.scope.export_only("parentheses in a condition", node.pos)
        return self.check(node.item)

    # -- predicates -----------------------------------------------------------------------
    def _counted(self, pos: int) -> None:
        self.count += 1
        limit = MAX_CONDITIONS[self.scope.dialect]
        if self.count > limit:
            raise self.scope.error(f"a {self.clause} clause takes at most {limit} conditions", pos)

    def _expr(self, node: ast.Operand) -> plan.Expr:
        assert not isinstance(node, ast.Literal)
        if isinstance(node, ast.Call) and self.clause == "where":
            raise self.scope.error(
                f"functions such as {node.func.text}() cannot be used in where; "
                "aggregates belong in having",
                node.pos,
            )
        expr = self.scope.operand(node)
        if isinstance(expr, plan.DatePart) and self.clause == "having":
            raise self.scope.error(f"{expr.func}() cannot be used in having", node.pos)
        self.expressions.append((expr, node.pos))
        return expr

    def _compare(self, node: ast.Condition) -> plan.Condition:
        assert isinstance(node, ast.Compare)
        self._counted(node.pos)
        left, op, right = node.left, node.op, node.right
        written_op = op
        if isinstance(left, ast.Literal):
            if isinstance(right, ast.Literal):
                raise self.scope.error("a comparison needs a field on one side", node.pos)
            left, op, right = right, FLIPPED[op], left
        expr = self._expr(left)
        if isinstance(right, ast.Literal):
            return self._with_literal(expr, op, right, written_op)
        if self.scope.dialect is ast.Dialect.ZOQL:
            raise self.scope.export_only("comparing two fields", node.pos)
        other = self._expr(right)
        if not any(expr.type in group and other.type in group for group in COMPATIBLE):
            raise self.scope.error(
                f"cannot compare {expr.api_name} ({expr.type}) with "
                f"{other.api_name} ({other.type})",
                node.pos,
            )
        return plan.Comparison(op, expr, other)

    def _isnull(self, node: ast.Condition) -> plan.Condition:
        assert isinstance(node, ast.IsNull)
        self._counted(node.pos)
        if isinstance(node.operand, ast.Literal):
            raise self.scope.error("'is null' needs a field", node.pos)
        return plan.NullCheck(self._expr(node.operand), node.negated)

    def _like(self, node: ast.Condition) -> plan.Condition:
        assert isinstance(node, ast.Like)
        self._counted(node.pos)
        if isinstance(node.operand, ast.Literal):
            raise self.scope.error("'like' needs a field on its left", node.pos)
        expr = self._expr(node.operand)
        if expr.type not in TEXTUAL:
            raise self.scope.error(
                f"'like' needs a text field; {expr.api_name} is {expr.type}", node.pos
            )
        pattern = str(node.pattern.value)
        wildcards = [index for index, char in enumerate(pattern) if char == "%"]
        misplaced = [i for i in wildcards if i not in {0, len(pattern) - 1}] + wildcards[1:]
        if misplaced:
            # +1 skips the opening quote; Zuora allows one '%', first or last (reference §8.2).
            raise self.scope.error(
                "'%' may appear only once in a like pattern, at its start or its end",
                node.pattern.pos + 1 + min(misplaced),
            )
        return plan.Pattern(expr, pattern, node.negated)

    # -- literals -------------------------------------------------------------------------
    def _with_literal(
        self, expr: plan.Expr, op: str, literal: ast.Literal, written_op: str
    ) -> plan.Condition:
        if literal.kind is ast.LiteralKind.NULL:
            if op not in {"=", "!="}:
                raise self.scope.error(
                    f"null can only be compared with = or !=, not {written_op}", literal.pos
                )
            return plan.NullCheck(expr, negated=op == "!=")
        converter = {
            model.FieldType.DATETIME: self._datetime,
            model.FieldType.DATE: self._date,
        }.get(expr.type)
        if converter is not None:
            return converter(expr, op, literal)
        constant = self._scalar(expr, literal)
        if isinstance(constant.value, Decimal):
            # Exact for the engine whatever the digits (numbers.py).
            fitted = numbers.fit(constant.value, op, numbers.domain_of(expr))
            constant = plan.Constant(constant.type, fitted)
        return plan.Comparison(op, expr, constant)

    def _mismatch(self, expr: plan.Expr, literal: ast.Literal, wanted: str) -> Exception:
        shown = (
            repr(literal.value)
            if literal.kind is ast.LiteralKind.STRING
            else (str(literal.value).lower())
        )
        return self.scope.error(
            f"{expr.api_name} is {expr.type}; expected {wanted}, got {shown}", literal.pos
        )

    def _scalar(self, expr: plan.Expr, literal: ast.Literal) -> plan.Constant:
        value = literal.value
        if expr.type in TEXTUAL:
            if literal.kind is ast.LiteralKind.BOOLEAN:
                raise self._mismatch(expr, literal, "a quoted string")
            return plan.Constant(expr.type, str(value))
        if expr.type in NUMERIC:
            if isinstance(value, Decimal):
                return plan.Constant(expr.type, value)
            if isinstance(value, str):
                try:
                    number = Decimal(value.strip())
                except InvalidOperation:
                    raise self._mismatch(expr, literal, "a number") from None
                if number.is_finite():
                    return plan.Constant(expr.type, number)
            raise self._mismatch(expr, literal, "a number")
        # Booleans: true/false, or the strings 'true'/'false' integrations often send.
        if isinstance(value, bool):
            return plan.Constant(expr.type, value)
        if isinstance(value, str) and value.lower() in {"true", "false"}:
            return plan.Constant(expr.type, value.lower() == "true")
        raise self._mismatch(expr, literal, "true or false")

    def _temporal_literal(self, expr: plan.Expr, literal: ast.Literal) -> dt.date | dt.datetime:
        if not isinstance(literal.value, str):
            wanted = (
                "a date such as '2024-01-31'"
                if expr.type is model.FieldType.DATE
                else ("a datetime such as '2024-01-31T10:00:00-08:00'")
            )
            raise self._mismatch(expr, literal, wanted)
        text = literal.value.strip()
        scope = self.scope
        try:
            relative = temporal.parse_relative(text, scope.now, scope.time_zone)
            if relative is not None:
                if scope.dialect is ast.Dialect.ZOQL:
                    raise scope.export_only("relative dates ('today', 'now')", literal.pos)
                return relative
            value = temporal.parse_date(text) or temporal.parse_datetime(text, scope.time_zone)
        except temporal.TemporalError as exc:
            raise scope.error(str(exc), literal.pos) from None
        if value is None:
            raise self._mismatch(
                expr,
                literal,
                "a date ('2024-01-31'), a datetime ('2024-01-31T10:00:00Z') "
                "or a relative date ('today - 30 days')",
            )
        return value

    def _date(self, expr: plan.Expr, op: str, literal: ast.Literal) -> plan.Condition:
        value = self._temporal_literal(expr, literal)
        if isinstance(value, dt.datetime):
            raise self.scope.error(
                f"{expr.api_name} is a date; compare it with a date such as '2024-01-31' "
                "or 'today - 7 days'",
                literal.pos,
            )
        return plan.Comparison(op, expr, plan.Constant(model.FieldType.DATE, value))

    def _datetime(self, expr: plan.Expr, op: str, literal: ast.Literal) -> plan.Condition:
        value = self._temporal_literal(expr, literal)
        if isinstance(value, dt.datetime):
            return plan.Comparison(op, expr, _instant(value))
        day = temporal.day_range(value, self.scope.time_zone)
        start, end = _instant(day.start), _instant(day.end)
        if op == "=":
            return plan.AllOf((plan.Comparison(">=", expr, start), plan.Comparison("<", expr, end)))
        if op == "!=":
            return plan.AnyOf((plan.Comparison("<", expr, start), plan.Comparison(">=", expr, end)))
        bound = {">": (">=", end), ">=": (">=", start), "<": ("<", start), "<=": ("<", end)}
        new_op, constant = bound[op]
        return plan.Comparison(new_op, expr, constant)


def _instant(value: temporal.Instant) -> plan.Constant:
    return plan.Constant(
        model.FieldType.DATETIME, temporal.utc(value) if isinstance(value, dt.datetime) else value
    )
