"""Reporting filters -> plan conditions (reference reporting.md 7.3 and 7.4).

A filter list holds clauses ``{"field": {...}, "operator": {"name", "value"}, "value": ...}`` and
groups ``{"logicalOperator": {"value": "OR"}, "filterClauses": [...]}`` (nestable); a list means
AND. Comparisons go through the ZOQL :class:`ConditionChecker`, so values are typed and dates
read exactly as in ZOQL (a date compared with a datetime is that whole day in the tenant's
zone; ``today - 30 days`` is relative).

Operators, by ``operator.value`` or ``operator.name`` (any case):

- ``=`` / is equal to, ``!=`` / is not equal to, ``>``, ``<``, ``>=``, ``<=`` (and their words);
- ``in`` / ``not in`` with an array or a comma-separated string;
- ``contains``, ``does not contain``, ``starts with``, ``ends with`` (text, any case, no
  wildcards);
- ``is blank`` / ``is not blank`` (null, and for text also the empty string, is blank);
- ``is during`` / ``is not during`` with ``{"start", "end"}``, ``[start, end]`` or a period:
  ``the previous 3 months``, ``the current quarter``, ``the next 2 weeks`` (full calendar
  periods; "current" includes today's partial period; weeks start on Monday).

Values may also be ``yesterday``, ``tomorrow`` or ``N days ago`` (units: day, week, month,
year). A literal backslash in a text value is written as two backslashes (reference 7.4).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from aquarium.catalog import model
from aquarium.domain import errors
from aquarium.zoql import ast, plan
from aquarium.zoql.conditions import TEXTUAL, ConditionChecker

OPERATORS: Mapping[str, str] = {
    "=": "=",
    "==": "=",
    "is equal to": "=",
    "equals": "=",
    "!=": "!=",
    "<>": "!=",
    "≠": "!=",
    "is not equal to": "!=",
    ">": ">",
    "is greater than": ">",
    "<": "<",
    "is less than": "<",
    ">=": ">=",
    "≥": ">=",
    "is greater than or equal to": ">=",
    "<=": "<=",
    "≤": "<=",
    "is less than or equal to": "<=",
    "in": "in",
    "is in": "in",
    "not in": "not in",
    "is not in": "not in",
    "contains": "contains",
    "does not contain": "does not contain",
    "not contains": "does not contain",
    "starts with": "starts with",
    "ends with": "ends with",
    "is blank": "is blank",
    "is null": "is blank",
    "is not blank": "is not blank",
    "is not null": "is not blank",
    "is during": "is during",
    "during": "is during",
    "between": "is during",
    "is not during": "is not during",
    "not during": "is not during",
}
TEXT_MATCHES = {
    "contains": ("contains", False),
    "does not contain": ("contains", True),
    "starts with": ("starts", False),
    "ends with": ("ends", False),
}
PERIOD_RE = re.compile(
    r"\s*(?:the\s+)?(?P<which>previous|last|current|this|next)\s+(?:(?P<count>\d{1,4})\s+)?"
    r"(?P<unit>day|week|month|quarter|year)s?\s*",
    re.IGNORECASE,
)
AGO_RE = re.compile(r"\s*(?P<count>\d{1,4})\s+(?P<unit>day|week|month|year)s?\s+ago\s*", re.I)
MONTHS_PER = {"month": 1, "quarter": 3, "year": 12}
MAX_DEPTH = 16  # nested filter groups


def _fail(reason: str) -> errors.ReportDefinitionError:
    return errors.ReportDefinitionError(reason)


ColumnResolver = Callable[[object], tuple[ast.Column, plan.FieldRef]]


@dataclass
class FilterResolver:
    column: ColumnResolver
    checker: ConditionChecker
    time_zone: dt.tzinfo
    now: dt.datetime
    where: str

    def all_of(self, filters: Sequence[Any], depth: int = 0) -> plan.Condition | None:
        """The conjunction of ``filters`` (None when empty)."""
        if not isinstance(filters, list | tuple):
            raise _fail(f"{self.where} must be an array of filters.")
        if depth > MAX_DEPTH:
            raise _fail(f"{self.where} nest more than {MAX_DEPTH} groups deep.")
        items = [self.item(entry, depth) for entry in filters]
        present = [item for item in items if item is not None]
        if not present:
            return None
        return present[0] if len(present) == 1 else plan.AllOf(tuple(present))

    def item(self, entry: object, depth: int) -> plan.Condition | None:
        if depth > MAX_DEPTH:
            raise _fail(f"{self.where} nest more than {MAX_DEPTH} groups deep.")
        if not isinstance(entry, Mapping):
            raise _fail(f"Every filter of {self.where} must be an object.")
        if "filterClauses" in entry:
            return self.group(entry, depth)
        return self.clause(entry)

    def group(self, entry: Mapping[str, Any], depth: int) -> plan.Condition | None:
        operator = entry.get("logicalOperator") or "AND"
        token = operator.get("value") if isinstance(operator, Mapping) else operator
        token = str(token).strip().upper()
        if token not in {"AND", "OR"}:
            raise _fail(f"The logical operator {token} is not valid: use AND or OR.")
        clauses = entry.get("filterClauses")
        if not isinstance(clauses, list):
            raise _fail("filterClauses must be an array.")
        if token == "AND":
            return self.all_of(clauses, depth + 1)
        items = [self.item(clause, depth + 1) for clause in clauses]
        present = [item for item in items if item is not None]
        if not present:
            return None
        return present[0] if len(present) == 1 else plan.AnyOf(tuple(present))

    def clause(self, entry: Mapping[str, Any]) -> plan.Condition:
        node, ref = self.column(entry.get("field"))
        operator = entry.get("operator")
        written = (
            operator.get("value") or operator.get("name")
            if isinstance(operator, Mapping)
            else operator
        )
        if not isinstance(written, str) or written.strip().lower() not in OPERATORS:
            raise _fail(f"The filter on {ref.api_name} has no valid operator ({written!r}).")
        op = OPERATORS[written.strip().lower()]
        value = entry.get("value")
        if op in {"is blank", "is not blank"}:
            return self.blank(ref, negated=op == "is not blank")
        if op in TEXT_MATCHES:
            return self.text_match(ref, op, value)
        if op in {"in", "not in"}:
            options = _options(value, ref)
            listed = plan.AnyOf(tuple(self.compare(node, ref, "=", v) for v in options))
            return plan.Negation(listed) if op == "not in" else listed
        if op in {"is during", "is not during"}:
            start, end = self.period(value, ref)
            during = plan.AllOf(
                (self.compare(node, ref, ">=", start), self.compare(node, ref, "<=", end))
            )
            return plan.Negation(during) if op == "is not during" else during
        return self.compare(node, ref, op, value)

    def compare(
        self, node: ast.Column, ref: plan.FieldRef, op: str, value: object
    ) -> plan.Condition:
        literal = self.literal(value, ref)
        try:
            return self.checker.check(ast.Compare(op, node, literal, 0))
        except errors.ZoqlError as exc:
            raise _fail(f"The filter on {ref.api_name}: {exc.reason}.") from None

    def literal(self, value: object, ref: plan.FieldRef) -> ast.Literal:
        if value is None:
            return ast.Literal(ast.LiteralKind.NULL, None, 0)
        if isinstance(value, bool):
            return ast.Literal(ast.LiteralKind.BOOLEAN, value, 0)
        if isinstance(value, int | float):
            return ast.Literal(ast.LiteralKind.NUMBER, Decimal(str(value)), 0)
        if not isinstance(value, str):
            raise _fail(f"The value of the filter on {ref.api_name} must be a single value.")
        text = value.replace("\\\\", "\\")
        if ref.type in {model.FieldType.DATE, model.FieldType.DATETIME}:
            text = _relative_words(text)
        return ast.Literal(ast.LiteralKind.STRING, text, 0)

    def blank(self, ref: plan.FieldRef, *, negated: bool) -> plan.Condition:
        found: plan.Condition = plan.NullCheck(ref, False)
        if ref.type in TEXTUAL:
            empty = plan.Comparison("=", ref, plan.Constant(ref.type, ""))
            found = plan.AnyOf((found, empty))
        return plan.Negation(found) if negated else found

    def text_match(self, ref: plan.FieldRef, op: str, value: object) -> plan.Condition:
        if ref.type not in TEXTUAL:
            raise _fail(f"'{op}' needs a text field; {ref.api_name} is {ref.type}.")
        if not isinstance(value, str) or value == "":
            raise _fail(f"The filter '{op}' on {ref.api_name} needs a text value.")
        mode, negated = TEXT_MATCHES[op]
        return plan.TextMatch(ref, value.replace("\\\\", "\\"), mode, negated)

    def period(self, value: object, ref: plan.FieldRef) -> tuple[object, object]:
        if ref.type not in {model.FieldType.DATE, model.FieldType.DATETIME}:
            raise _fail(f"'is during' needs a date field; {ref.api_name} is {ref.type}.")
        if isinstance(value, Mapping) and "start" in value and "end" in value:
            return value["start"], value["end"]
        if isinstance(value, list) and len(value) == 2:
            return value[0], value[1]
        if isinstance(value, str):
            today = self.now.astimezone(self.time_zone).date()
            found = calendar_period(value, today)
            if found is not None:
                return found[0].isoformat(), found[1].isoformat()
        raise _fail(
            f'The \'is during\' filter on {ref.api_name} needs {{"start", "end"}}, '
            "[start, end] or a period such as 'the previous 3 months'."
        )


def _options(value: object, ref: plan.FieldRef) -> list[object]:
    if isinstance(value, str):
        value = [part.strip() for part in value.split(",") if part.strip()]
    if not isinstance(value, list) or not value:
        raise _fail(f"The 'in' filter on {ref.api_name} needs a non-empty list of values.")
    return value


def _relative_words(text: str) -> str:
    """``yesterday``, ``tomorrow`` and ``N units ago`` in ZOQL's relative form."""
    lowered = text.strip().lower()
    if lowered == "yesterday":
        return "today - 1 day"
    if lowered == "tomorrow":
        return "today + 1 day"
    match = AGO_RE.fullmatch(text)
    if match is not None:
        return f"today - {match['count']} {match['unit'].lower()}s"
    return text


def _add_months(day: dt.date, months: int) -> dt.date:
    """The first day of the month ``months`` after ``day``'s month."""
    index = day.year * 12 + day.month - 1 + months
    return dt.date(index // 12, index % 12 + 1, 1)


def _bucket_start(day: dt.date, unit: str) -> dt.date:
    if unit == "day":
        return day
    if unit == "week":
        return day - dt.timedelta(days=day.weekday())
    month = day.month - (day.month - 1) % MONTHS_PER[unit]
    return dt.date(day.year, month, 1)


def _shift(start: dt.date, unit: str, count: int) -> dt.date:
    if unit == "day":
        return start + dt.timedelta(days=count)
    if unit == "week":
        return start + dt.timedelta(weeks=count)
    return _add_months(start, count * MONTHS_PER[unit])


def calendar_period(text: str, today: dt.date) -> tuple[dt.date, dt.date] | None:
    """``the previous|current|next [N] unit(s)`` as inclusive dates around ``today``.

    None when ``text`` is not such a phrase. Previous and next cover full periods; current is
    the period containing today.
    """
    match = PERIOD_RE.fullmatch(text)
    if match is None:
        return None
    unit = match["unit"].lower()
    count = int(match["count"] or 1)
    which = match["which"].lower()
    current = _bucket_start(today, unit)
    try:
        if which in {"current", "this"}:
            return current, _shift(current, unit, 1) - dt.timedelta(days=1)
        if which in {"previous", "last"}:
            return _shift(current, unit, -count), current - dt.timedelta(days=1)
        return _shift(current, unit, 1), _shift(current, unit, count + 1) - dt.timedelta(days=1)
    except (ValueError, OverflowError):
        raise _fail(f"The period '{text}' falls outside years 1-9999.") from None
