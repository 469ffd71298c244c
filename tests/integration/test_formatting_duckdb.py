"""DuckDB renders datetimes and decimals as Zuora writes them (``zoql/formatting.py``), checked
against Python's own arithmetic: whole-hour offsets take a short path, the rest the general one."""

from __future__ import annotations

import datetime as dt
import decimal
from zoneinfo import ZoneInfo

import duckdb
import pytest
from sqlglot import exp

from aquarium.catalog import model
from aquarium.zoql import formatting

ZONES = ("America/Los_Angeles", "Asia/Kolkata", "Asia/Kathmandu", "UTC", "Pacific/Chatham")
INSTANTS = (
    dt.datetime(2024, 3, 10, 9, 59, 59, tzinfo=dt.UTC),  # Los Angeles changes to DST at 10:00Z
    dt.datetime(2024, 3, 10, 10, 0, 0, tzinfo=dt.UTC),
    dt.datetime(2021, 7, 1, 23, 30, 5, tzinfo=dt.UTC),
    dt.datetime(1999, 12, 31, 23, 59, 59, tzinfo=dt.UTC),
)


def _zuora_datetime(instant: dt.datetime, zone: str) -> str:
    local = instant.astimezone(ZoneInfo(zone))
    return local.strftime("%Y-%m-%dT%H:%M:%S") + local.strftime("%z")[:5]


def _rendered(con: duckdb.DuckDBPyConnection, field_type: model.FieldType, sql: str) -> str:
    expression = formatting.render(formatting.DUCKDB, field_type, exp.maybe_parse(sql))
    found = con.execute(f"SELECT {expression.sql(dialect='duckdb')}").fetchone()
    assert found is not None
    return str(found[0])


@pytest.mark.parametrize("zone", ZONES)
def test_datetimes_carry_the_offset_as_four_digits(zone: str) -> None:
    con = duckdb.connect()
    con.execute(f"SET TimeZone = '{zone}'")
    for instant in INSTANTS:
        literal = f"TIMESTAMPTZ '{instant.isoformat()}'"
        assert _rendered(con, model.FieldType.DATETIME, literal) == _zuora_datetime(instant, zone)


@pytest.mark.parametrize(
    "value",
    [
        "0",
        "0.0000",
        "-0.5000",
        "77.8600",
        "100.0000",
        "1000",
        "-11095.0000",
        "0.0001",
        "12345678901234.5000",
        "10.1010",
        "5.0500",
    ],
)
def test_decimals_lose_only_trailing_zeros(value: str) -> None:
    con = duckdb.connect()
    typed = f"CAST('{value}' AS DECIMAL(18, 4))"
    expected = format(decimal.Decimal(value).quantize(decimal.Decimal("0.0001")).normalize(), "f")
    assert _rendered(con, model.FieldType.DECIMAL, typed) == expected
    # A sum keeps the column's scale, and so its text
    summed = f"(SELECT sum(v) FROM (VALUES ({typed}), ({typed})) AS t(v))"
    doubled = format(
        (2 * decimal.Decimal(value)).quantize(decimal.Decimal("0.0001")).normalize(), "f"
    )
    assert _rendered(con, model.FieldType.DECIMAL, summed) == doubled


def test_stored_decimal_columns_lose_only_trailing_zeros_at_every_number_of_places() -> None:
    # A stored column takes the exact-arithmetic path, any other expression the pattern: both
    # must give Python's text for every value, at each number of significant places.
    con = duckdb.connect()
    con.execute(f"CREATE TABLE t (v DECIMAL({model.DECIMAL_PRECISION}, {model.DECIMAL_SCALE}))")
    values = [
        "0", "0.5", "-0.5", "0.05", "-0.05", "0.005", "0.0005", "-0.0005", "1", "-1", "10",
        "100.1", "100.01", "100.001", "100.0001", "99999999999999.9999", "-99999999999999.9999",
        "99999999999999", "12345678901234.5", "0.9999", "0.99995",
    ]  # fmt: skip
    con.executemany("INSERT INTO t VALUES (CAST(? AS VARCHAR))", [[v] for v in values])
    column = exp.column("v", table="t")
    stored = formatting.render(formatting.DUCKDB, model.FieldType.DECIMAL, column)
    assert isinstance(stored, exp.Case), "a stored column takes the exact-arithmetic path"
    found = con.execute(f"SELECT CAST(t.v AS VARCHAR), {stored.sql(dialect='duckdb')} FROM t")
    for typed, text in found.fetchall():
        expected = format(decimal.Decimal(typed).normalize(), "f")
        assert text == expected, typed
