"""Numbers compared with numeric expressions, made exact for the engine before it sees them.

An engine types a literal by its digits. DuckDB makes 51 digits a ``BIGNUM`` it cannot compare
with a ``DECIMAL(18, 4)`` (a Binder Error), 38 digits a ``DECIMAL(38, 0)`` it fails to cast
beside one (a Conversion Error) and 40 decimals a ``DOUBLE`` that compares inexactly. Yet every
value of a numeric expression lies in a known :class:`Domain`: multiples of ``10^-scale``
strictly between ``-bound`` and ``bound`` (``engines/ddl.py``: a decimal field is
``DECIMAL(18, 4)``, an integer ``BIGINT``). So :func:`fit` replaces a literal by one inside the
engine's exact range that every value of the domain compares with in the same way:

- beyond the domain: its bound, itself outside the domain;
- finer than the scale: for ``>`` and ``<=`` the literal rounded down, for ``>=`` and ``<``
  rounded up; for ``=`` and ``!=`` the bound, which no value equals (none equals the literal).

Nulls compare as before, so ``not (Balance > 1e50)`` still leaves out a null balance.
"""

from __future__ import annotations

import decimal
from dataclasses import dataclass
from decimal import Decimal

from aquarium.catalog import model
from aquarium.zoql import plan

_EXACT = decimal.Context(prec=60)  # more digits than any domain's bound and scale together


@dataclass(frozen=True)
class Domain:
    """Every value is a multiple of ``10^-scale`` strictly between ``-bound`` and ``bound``; the
    bound is a literal both engines type exactly beside such values."""

    scale: int
    bound: Decimal


#: a decimal field, DECIMAL(18, 4) (engines/ddl.py)
DECIMAL = Domain(4, Decimal(10) ** 14)
#: an integer field, a count, a date part: BIGINT, from -2^63 to 2^63 - 1
INTEGER = Domain(0, Decimal(2**63 + 1))
#: sum() of decimals, DECIMAL(38, 4): 10^19 rows of the largest decimal stay below the bound
DECIMAL_SUM = Domain(4, Decimal(10) ** 33)
#: sum() of integers, HUGEINT (DuckDB) or NUMERIC (PostgreSQL)
INTEGER_SUM = Domain(0, Decimal(10) ** 38)
#: avg() of decimals or integers, DECIMAL(38, 6) (lower.AVG_TYPE)
AVERAGE = Domain(6, Decimal(2**63 + 1))


def domain_of(expr: plan.Expr) -> Domain:
    """The domain of a numeric expression's values."""
    if isinstance(expr, plan.Aggregate) and expr.arg is not None:
        decimal_arg = expr.arg.type is model.FieldType.DECIMAL
        if expr.func == "avg":
            return AVERAGE
        if expr.func == "sum":
            return DECIMAL_SUM if decimal_arg else INTEGER_SUM
        if expr.func in {"min", "max"}:
            return DECIMAL if decimal_arg else INTEGER
    return DECIMAL if expr.type is model.FieldType.DECIMAL else INTEGER


def fit(value: Decimal, op: str, domain: Domain) -> Decimal:
    """A number every value of ``domain`` compares with by ``op`` exactly as with ``value``."""
    if value >= domain.bound:
        return domain.bound
    if value <= -domain.bound:
        return -domain.bound
    step = Decimal(1).scaleb(-domain.scale)
    down = value.quantize(step, rounding=decimal.ROUND_FLOOR, context=_EXACT)
    if down == value:
        # As written, unless written with more decimals than the domain has (1.50000000...).
        exponent = value.as_tuple().exponent
        return value if isinstance(exponent, int) and exponent >= -domain.scale else down
    if op in {"=", "!="}:
        return domain.bound
    return down if op in {">", "<="} else _EXACT.add(down, step)
