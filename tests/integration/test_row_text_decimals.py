"""Data Query's decimal text in delimited files, DuckDB's rendering against Python's.

``row_text`` renders a decimal of scale 1-4 by narrowing casts (the value cast to the fewest
places that still equal it) and a wider one through its text; both must give what Zuora's files
hold: the exact value, trailing fractional zeros dropped, one digit kept after the point.
"""

from __future__ import annotations

import decimal
import random

import duckdb
import pytest

from aquarium.engines import row_text

decimal.getcontext().prec = 60  # DECIMAL(38) values exactly (the default context holds 28 digits)
PRECISIONS_AND_SCALES = [(9, 2), (18, 1), (18, 2), (18, 3), (18, 4), (38, 4), (38, 2), (30, 8)]


def expected(value: decimal.Decimal) -> str:
    """Zuora's text: exact, at least one place, no trailing zero after it."""
    text = f"{value:f}"
    if "." not in text:
        return text + ".0"
    whole, places = text.split(".")
    return f"{whole}.{places.rstrip('0') or '0'}"


def values(precision: int, scale: int) -> list[decimal.Decimal]:
    """Edge values of DECIMAL(precision, scale) and random ones of every size."""
    unit = decimal.Decimal(1).scaleb(-scale)
    largest = decimal.Decimal(10) ** (precision - scale) - unit
    narrow_edge = decimal.Decimal(10) ** (row_text.NARROW_PRECISION - scale)
    found = [decimal.Decimal(0), unit, -unit, largest, -largest, decimal.Decimal("0.5")]
    if precision > row_text.NARROW_PRECISION:
        found += [narrow_edge - unit, narrow_edge, -(narrow_edge - unit), -narrow_edge]
    draw = random.Random(precision * 100 + scale)
    for _ in range(400):
        digits = draw.randint(1, precision)
        number = draw.randint(0, 10**digits - 1)
        if draw.random() < 0.5:  # whole, or few places, as money mostly is
            number -= number % 10 ** draw.randint(0, scale)
        found.append(decimal.Decimal(number * draw.choice((1, -1))).scaleb(-scale))
    return found


@pytest.mark.parametrize(("precision", "scale"), PRECISIONS_AND_SCALES)
def test_a_decimal_renders_exactly_with_its_trailing_zeros_dropped(
    precision: int, scale: int
) -> None:
    cases = values(precision, scale)
    column = row_text.duckdb_column("v", f"DECIMAL({precision},{scale})")
    assert (column.precision, column.scale) == (precision, scale)
    rendered = row_text._duck_value(column, "v", False)
    with duckdb.connect() as con:
        con.execute(f"CREATE TABLE t (i INTEGER, v DECIMAL({precision}, {scale}))")
        con.executemany("INSERT INTO t VALUES (?, ?)", [(i, f"{v:f}") for i, v in enumerate(cases)])
        got = dict(con.execute(f"SELECT i, {rendered} FROM t").fetchall())
    wrong = [(str(v), got[i], expected(v)) for i, v in enumerate(cases) if got[i] != expected(v)]
    assert wrong == []
