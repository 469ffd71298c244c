"""dataquery/trino_types.py: a truncation of a date is cast back to a date, as Trino types it,
where the translation can tell the value is a date; elsewhere the engines' type is kept."""

from __future__ import annotations

import pytest

from aquarium.catalog import model
from aquarium.dataquery import sql

CATALOG = model.default()
CAST = "CAST(DATE_TRUNC('MONTH', {}) AS DATE)"


def translated(text: str, dialect: sql.Dialect = "duckdb") -> str:
    found = sql.translate(text, CATALOG, schema="tenant_t", dialect=dialect).sql
    assert found is not None
    return found


@pytest.mark.parametrize("dialect", ["duckdb", "postgres"])
@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("select date_trunc('month', invoicedate) from invoice", '"invoicedate"'),
        (
            "select date_trunc('month', i.invoicedate) from invoice i "
            "join account a on a.id = i.accountid",
            '"i"."invoicedate"',
        ),
        (
            "select date_trunc('month', servicestartdate), count(*) from invoiceitem "
            "group by date_trunc('month', servicestartdate)",
            '"servicestartdate"',
        ),
        (
            "select date_trunc('month', cast(createddate as date)) from invoice",
            'CAST("createddate" AS DATE)',
        ),
    ],
    ids=["column", "qualified", "grouped", "cast"],
)
def test_a_truncated_date_stays_a_date(text: str, value: str, dialect: sql.Dialect) -> None:
    found = translated(text, dialect)
    assert CAST.format(value) in found
    if "group by" in text:
        assert found.count(CAST.format(value)) == 2  # the grouping matches the selection


@pytest.mark.parametrize(
    "text",
    [
        "select date_trunc('month', createddate) from invoice",  # a datetime
        "select date_trunc('month', d) from (select invoicedate as d from invoice) x",
        "with invoice as (select createddate as invoicedate from account) "
        "select date_trunc('month', invoicedate) from invoice",  # the CTE's column, a datetime
    ],
    ids=["datetime", "subquery", "cte"],
)
def test_anything_else_keeps_the_engines_type(text: str) -> None:
    assert "AS DATE)" not in translated(text, "postgres")
