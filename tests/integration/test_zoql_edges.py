"""Issue 11, defects 2 and 4: literals at the calendar's and the numbers' edges give the rows a
plain query gives, on DuckDB and PostgreSQL (they used to raise OverflowError, or make DuckDB
fail with "Binder Error ... BIGNUM").

Each case pairs an edge predicate with an ordinary one that selects the same rows, and both
must find the same ids: the answer is checked, not only that there is one.
"""

from __future__ import annotations

import pytest

from aquarium.catalog import model
from aquarium.engines import base, duckdb_engine, naming, postgres_engine
from aquarium.zoql import check, lower, translate
from tests.integration.conftest import NOW, TIME_ZONE

BIG = "9" * 51  # the 51-digit number
CASES = [
    # dates at the calendar's edge (CreatedDate is a datetime: a date is that whole day)
    ("CreatedDate < '9999-12-31'", "CreatedDate is not null"),
    ("CreatedDate <= '9999-12-31'", "CreatedDate is not null"),
    ("CreatedDate >= '9999-12-31'", "CreatedDate is null"),
    ("CreatedDate = '9999-12-31'", "CreatedDate is null"),
    ("CreatedDate != '9999-12-31'", "CreatedDate is not null"),
    ("CreatedDate < '9999-12-31T23:59:59-12:00'", "CreatedDate is not null"),
    ("CreatedDate > '9999-12-31T23:59:59-12:00'", "CreatedDate is null"),
    ("CreatedDate > '0001-01-01T00:00:00+14:00'", "CreatedDate is not null"),
    ("CreatedDate <= '0001-01-01T00:00:00+14:00'", "CreatedDate is null"),
    ("CreatedDate >= '0001-01-01'", "CreatedDate is not null"),
    ("not (CreatedDate > '9999-12-31T23:59:59-12:00')", "CreatedDate is not null"),
    # numbers beyond a field's range or finer than its scale (Balance: DECIMAL(18, 4))
    (f"Balance > {BIG}", "Balance is null"),
    (f"Balance < {BIG}", "Balance is not null"),
    (f"Balance > -{BIG}", "Balance is not null"),
    (f"Balance != {BIG}", "Balance is not null"),
    ("Balance = 1.00001", "Balance is null"),
    ("Balance != 1.00001", "Balance is not null"),
    ("Balance >= 0.00001", "Balance > 0"),
    ("Balance > -0.00001", "Balance >= 0"),
    ("Balance < 0.00001", "Balance <= 0"),
    ("Balance <= -0.00001", "Balance < 0"),
    ("Balance >= 20000.00001", "Balance > 20000"),
    ("Balance < 20000.00001", "Balance <= 20000"),
    ("Balance < 1." + "0" * 50 + "1", "Balance <= 1"),
    ("Balance = 100.000000000000000000000000000000000000000", "Balance = 100"),
    # BillCycleDay: BIGINT
    (f"BillCycleDay < {BIG}", "BillCycleDay is not null"),
    (f"BillCycleDay > -{BIG}", "BillCycleDay is not null"),
    ("BillCycleDay >= 1.5", "BillCycleDay >= 2"),
    ("BillCycleDay < 15.5", "BillCycleDay <= 15"),
    ("BillCycleDay = 15.5", "BillCycleDay is null"),
    (f"not (BillCycleDay = {BIG})", "BillCycleDay is not null"),
]
GROUPED = [
    (f"sum(Balance) < {BIG}", "count(*) > 0"),
    (f"count(*) < {'9' * 31}", "count(*) > 0"),
    (f"avg(Balance) > -{BIG}", "count(Balance) > 0"),
    (f"max(BillCycleDay) < {BIG}", "count(BillCycleDay) > 0"),
    (f"sum(BillCycleDay) > {BIG}", "count(*) < 0"),
]


def _rows(engine: base.QueryEngine, tenant: str, text: str) -> list[tuple[object, ...]]:
    context = check.Context(catalog=model.default(), time_zone=TIME_ZONE, now=NOW)
    options = lower.Options(dialect=engine.dialect, schema=naming.schema_name(tenant))
    lowered = translate.translate(text, context=context, options=options)
    with engine.snapshot(tenant) as snapshot:
        return sorted(snapshot.fetch(lowered), key=repr)


def _agree(engine: base.QueryEngine, tenant: str, edge: str, plain: str, shape: str) -> None:
    found = _rows(engine, tenant, shape.format(edge))
    expected = _rows(engine, tenant, shape.format(plain))
    assert found == expected, (edge, plain)


WHERE = "select Id from Account where {}"
HAVING = "select Status from Account group by Status having {}"


@pytest.mark.parametrize(("edge", "plain"), CASES)
def test_duckdb_answers_edge_literals_exactly(
    duck: duckdb_engine.DuckDbEngine, edge: str, plain: str
) -> None:
    _agree(duck, "acme", edge, plain, WHERE)


@pytest.mark.parametrize(("edge", "plain"), GROUPED)
def test_duckdb_answers_edge_literals_in_having(
    duck: duckdb_engine.DuckDbEngine, edge: str, plain: str
) -> None:
    _agree(duck, "acme", edge, plain, HAVING)


def test_the_cases_are_not_trivial(duck: duckdb_engine.DuckDbEngine) -> None:
    """Some accounts have balances above and below 20,000, bill cycle days above and below 15,
    and the plain predicates split them: otherwise the cases above prove little."""
    everyone = len(_rows(duck, "acme", "select Id from Account"))
    for plain in ("Balance > 20000", "Balance <= 20000", "BillCycleDay >= 2", "BillCycleDay <= 15"):
        assert 0 < len(_rows(duck, "acme", WHERE.format(plain))) < everyone, plain


@pytest.mark.postgres
@pytest.mark.parametrize(("edge", "plain"), CASES[::3] + GROUPED[:2])
def test_postgresql_answers_them_the_same(
    pg: postgres_engine.PostgresEngine, pg_tenant: str, edge: str, plain: str
) -> None:
    shape = HAVING if "(" in edge.split(" ", maxsplit=1)[0] else WHERE
    _agree(pg, pg_tenant, edge, plain, shape)
