"""zoql/numbers.py: a literal fitted to a numeric domain compares with every value of the domain
as the literal itself does (issue 11, defect 4), and stays within what the engines type exactly."""

from __future__ import annotations

import decimal
import operator
from collections.abc import Callable
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aquarium.catalog import model
from aquarium.engines import ddl
from aquarium.zoql import numbers

OPS: dict[str, Callable[[Decimal, Decimal], bool]] = {
    "=": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
DOMAINS = [
    numbers.DECIMAL,
    numbers.INTEGER,
    numbers.DECIMAL_SUM,
    numbers.INTEGER_SUM,
    numbers.AVERAGE,
]
SETTINGS = settings(max_examples=300, deadline=None, database=None)
EXACT = decimal.Context(prec=200)


@st.composite
def _value_of(draw: st.DrawFn, domain: numbers.Domain) -> Decimal:
    """A value of ``domain``: near zero, near a bound, or anywhere."""
    top = int(domain.bound.scaleb(domain.scale, EXACT)) - 1  # the largest value, in steps
    steps = draw(
        st.integers(-top, top)
        | st.integers(-1000, 1000)
        | st.sampled_from([top, -top, top - 1, -top + 1])
    )
    return Decimal(steps).scaleb(-domain.scale, EXACT)


@st.composite
def _literal(draw: st.DrawFn) -> Decimal:
    """Any literal a query may write: long, short, fine-grained, beyond every bound."""
    digits = draw(st.text("0123456789", min_size=1, max_size=60))
    fraction = draw(st.text("0123456789", max_size=60))
    sign = draw(st.sampled_from(["", "-"]))
    return Decimal(f"{sign}{digits}.{fraction}" if fraction else f"{sign}{digits}")


@SETTINGS
@given(st.sampled_from(DOMAINS), st.data(), _literal(), st.sampled_from(sorted(OPS)))
def test_every_value_compares_with_the_fitted_literal_as_with_the_literal(
    domain: numbers.Domain, data: st.DataObject, literal: Decimal, op: str
) -> None:
    fitted = numbers.fit(literal, op, domain)
    value = data.draw(_value_of(domain))
    assert OPS[op](value, fitted) == OPS[op](value, literal)
    # near the literal too, where rounding matters most
    step = Decimal(1).scaleb(-domain.scale)
    inside = abs(literal) < domain.bound
    near = literal.quantize(step, decimal.ROUND_FLOOR, EXACT) if inside else value
    for candidate in (EXACT.subtract(near, step), near, EXACT.add(near, step)):
        if abs(candidate) < domain.bound:
            assert OPS[op](candidate, fitted) == OPS[op](candidate, literal), candidate


@SETTINGS
@given(st.sampled_from(DOMAINS), _literal(), st.sampled_from(sorted(OPS)))
def test_a_fitted_literal_is_short_and_within_the_bound(
    domain: numbers.Domain, literal: Decimal, op: str
) -> None:
    fitted = numbers.fit(literal, op, domain)
    assert abs(fitted) <= domain.bound
    exponent = fitted.as_tuple().exponent
    assert isinstance(exponent, int) and exponent >= -domain.scale
    assert len(format(fitted, "f").lstrip("-").replace(".", "")) <= 39


@pytest.mark.parametrize(
    ("literal", "op", "fitted"),
    [
        ("9" * 51, ">", "100000000000000"),
        ("-" + "9" * 51, "<", "-100000000000000"),
        ("1.00001", "=", "100000000000000"),
        ("1.00001", ">", "1.0000"),
        ("1.00001", ">=", "1.0001"),
        ("-5.50", "<=", "-5.50"),
        ("1.5000000000", "=", "1.5000"),
    ],
)
def test_examples_on_a_decimal_field(literal: str, op: str, fitted: str) -> None:
    assert str(numbers.fit(Decimal(literal), op, numbers.DECIMAL)) == fitted


def test_the_decimal_domain_is_the_column_type_the_engines_store() -> None:
    for dialect in ("duckdb", "postgres"):
        spelled = ddl.column_type(model.FieldType.DECIMAL, dialect).sql()  # type: ignore[arg-type]
        assert spelled.replace(" ", "").endswith("(18,4)"), spelled
    assert numbers.Domain(4, Decimal(10) ** (18 - 4)) == numbers.DECIMAL
