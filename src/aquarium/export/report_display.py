"""How report values are shown: Zuora's display strings, as DuckDB expressions.

A report run's PROCESSINGDATA phase (:mod:`report_output`) projects each raw column through
:func:`display`, so DuckDB formats every row and no Python loop does.

Display rules (reference §4.4 examples, §7.5, §8):

==========================  =====================================================================
TEXT, PICKLIST              as is
BOOLEAN                     ``true`` / ``false``
DATE                        ``Dec 7, 2013``
DATETIME                    ``Dec 7, 2013 2:18:00 PM`` in the processor's time zone
DECIMAL                     ``1,729.76`` (2 decimals, half away from zero, exact)
INTEGER                     ``1,234,567``
VALUE role, numeric         3 decimals, trailing zeros dropped: ``1,430.5``, ``12``, ``0.333``
date group (ROW/COLUMN)     ``Dec 7, 2013``, ``Week of Dec 2, 2013``, ``Dec 2013``, ``Q4 2013``,
                            ``2013``
null                        ``""``; in a ROW/COLUMN group ``(none)`` (and ``""`` is ``(blank)``)
==========================  =====================================================================
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from sqlglot import exp

from aquarium.catalog import model
from aquarium.zoql import formatting

NONE_LABEL = "(none)"  # a null group value (reference §7.5)
BLANK_LABEL = "(blank)"  # an empty-string group value (reference §7.5)
MONEY_DECIMALS = 2  # DECIMAL fields and groups: "1,729.76", "900.00"
SUMMARY_DECIMALS = 3  # aggregates: "rounded to 3 decimal places" (reference §8)
MAX_DECIMAL_WIDTH = 38  # DuckDB's widest DECIMAL
DATE_FORMAT = "%b %-d, %Y"
DATETIME_FORMAT = "%b %-d, %Y %-I:%M:%S %p"


class ColumnRole(enum.StrEnum):
    """What a report column is in its report's layout."""

    FIELD = "field"  #: a Detail report's column
    ROW = "row"  #: a Summary row group
    COLUMN = "column"  #: a Summary column group
    VALUE = "value"  #: a Summary aggregate


class DateGrouping(enum.StrEnum):
    """The bucket of a date/datetime group, values as in a report's ``dateOptions.groupBy``."""

    NONE = "NG"  #: no bucket: the value's own type rules
    DAY = "CD"  #: calendar day
    WEEK = "CW"  #: calendar week
    MONTH = "CM"  #: calendar month
    QUARTER = "CQ"  #: calendar quarter
    YEAR = "CY"  #: calendar year


@dataclass(frozen=True)
class ReportColumn:
    """One column of the raw result and how it is shown.

    ``key`` names it in the raw Parquet; ``field_id`` in report-data rows and the data Parquet;
    ``header`` in the exports. ``grouping`` applies to ROW/COLUMN groups whose raw value is the
    DATE a bucket starts on.
    """

    key: str
    field_id: str
    header: str
    type: model.FieldType
    role: ColumnRole
    grouping: DateGrouping = DateGrouping.NONE


# -- display formatting, as DuckDB expressions ---------------------------------------------------

GROUP_ROLES = frozenset({ColumnRole.ROW, ColumnRole.COLUMN})
SUMMARY_ROLES = (ColumnRole.ROW, ColumnRole.COLUMN, ColumnRole.VALUE)  # their export order
TEXT_TYPES = frozenset({model.FieldType.TEXT, model.FieldType.PICKLIST})
NUMERIC_TYPES = frozenset({model.FieldType.DECIMAL, model.FieldType.INTEGER})


def text(value: str) -> exp.Literal:
    return exp.Literal.string(value)


def call(name: str, *args: exp.Expr | str) -> exp.Expr:
    """A function call generated verbatim (no dialect translation of names or formats)."""
    return exp.Anonymous(
        this=name, expressions=[text(a) if isinstance(a, str) else a for a in args]
    )


def _concat(*parts: exp.Expr | str) -> exp.Expr:
    texts = [text(p) if isinstance(p, str) else p for p in parts]
    joined = texts[0]
    for part in texts[1:]:
        joined = exp.DPipe(this=joined, expression=part)
    return joined


def _as(value: exp.Expr, type_sql: str) -> exp.Expr:
    return exp.cast(value, exp.DataType.build(type_sql, dialect=formatting.DUCKDB))


def _separated(value: exp.Expr, decimals: int) -> exp.Expr:
    """``value`` rounded half away from zero to ``decimals`` places, with thousands separators.

    DuckDB's ``format('{:,.2f}', …)`` goes through DOUBLE (2.675 would show as 2.67, and large
    amounts lose digits), so the whole part and the fraction are formatted separately from the
    rounded DECIMAL. ``round`` of a DECIMAL rounds half away from zero; the sign is that of the
    rounded value, so -0.001 shows as 0.00, never -0.00. A whole part beyond UBIGINT (about
    1.8e19) fails the statement rather than show wrong digits.
    """
    rounded = _as(
        exp.Round(this=value, decimals=exp.Literal.number(decimals)),
        f"DECIMAL({MAX_DECIMAL_WIDTH}, {decimals})",
    )
    negative = exp.LT(this=rounded, expression=exp.Literal.number(0))
    sign = exp.Case().when(negative, text("-")).else_(text(""))
    # UBIGINT, not HUGEINT: DuckDB formats HUGEINT about ten times slower.
    whole = call("format", "{:,}", _as(call("trunc", exp.Abs(this=rounded)), "UBIGINT"))
    fraction = call("split_part", _as(rounded, "VARCHAR"), ".", exp.Literal.number(2))
    return _concat(sign, whole, ".", fraction)


def _as_text(value: exp.Expr, time_zone: str) -> exp.Expr:
    # BOOLEAN casts to 'true' / 'false'; text stays as it is.
    return _as(value, "VARCHAR")


def _date(value: exp.Expr, time_zone: str) -> exp.Expr:
    return call("strftime", _as(value, "DATE"), DATE_FORMAT)


def datetime(value: exp.Expr, time_zone: str) -> exp.Expr:
    # AT TIME ZONE turns the instant into the zone's wall-clock time, DST included.
    local = exp.AtTimeZone(this=_as(value, "TIMESTAMPTZ"), zone=text(time_zone))
    return call("strftime", local, DATETIME_FORMAT)


def _money(value: exp.Expr, time_zone: str) -> exp.Expr:
    return _separated(value, MONEY_DECIMALS)


def _integer(value: exp.Expr, time_zone: str) -> exp.Expr:
    # BIGINT, not HUGEINT: DuckDB formats HUGEINT about ten times slower.
    return call("format", "{:,}", _as(value, "BIGINT"))


def _aggregate(value: exp.Expr) -> exp.Expr:
    # The text always holds a '.', so stripping zeros stops there at the latest.
    return call("rtrim", call("rtrim", _separated(value, SUMMARY_DECIMALS), "0"), ".")


FORMATTERS = {
    model.FieldType.TEXT: _as_text,
    model.FieldType.PICKLIST: _as_text,
    model.FieldType.BOOLEAN: _as_text,
    model.FieldType.DATE: _date,
    model.FieldType.DATETIME: datetime,
    model.FieldType.DECIMAL: _money,
    model.FieldType.INTEGER: _integer,
}


def _bucket(grouping: DateGrouping, day: exp.Expr) -> exp.Expr:
    """The label of the date group starting on ``day`` (a DATE)."""
    if grouping is DateGrouping.WEEK:
        return _concat("Week of ", call("strftime", day, DATE_FORMAT))
    if grouping is DateGrouping.MONTH:
        return call("strftime", day, "%b %Y")
    if grouping is DateGrouping.QUARTER:
        quarter = _as(call("quarter", day), "VARCHAR")
        return _concat("Q", quarter, " ", call("strftime", day, "%Y"))
    if grouping is DateGrouping.YEAR:
        return call("strftime", day, "%Y")
    return call("strftime", day, DATE_FORMAT)


def display(column: ReportColumn, time_zone: str) -> exp.Expr:
    """The display string of ``column`` as a DuckDB expression over the raw Parquet; never null."""
    raw = exp.column(column.key, quoted=True)
    if column.role in GROUP_ROLES:
        if column.grouping is DateGrouping.NONE:
            shown = FORMATTERS[column.type](raw, time_zone)
        else:
            shown = _bucket(column.grouping, _as(raw, "DATE"))
        label = exp.Case().when(exp.Is(this=raw, expression=exp.Null()), text(NONE_LABEL))
        if column.type in TEXT_TYPES:
            # Compared as text: a TEXT field may be stored as a number (an id, say).
            empty = exp.EQ(this=_as(raw, "VARCHAR"), expression=text(""))
            label = label.when(empty, text(BLANK_LABEL))
        return label.else_(shown)
    if column.role is ColumnRole.VALUE and column.type in NUMERIC_TYPES:
        shown = _aggregate(raw)
    else:
        shown = FORMATTERS[column.type](raw, time_zone)
    return exp.Coalesce(this=shown, expressions=[text("")])
