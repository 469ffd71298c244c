"""Which queries a ranged export can cut, and how big each range is (``engines/ranged_copy.py``)."""

from __future__ import annotations

import itertools

import duckdb
import pytest

from aquarium.engines import ranged_copy

TABLE = '"tenant_t"."InvoiceItem" AS "InvoiceItem"'


@pytest.mark.parametrize(
    "sql",
    [
        f'SELECT "InvoiceItem"."Id" AS "a" FROM {TABLE}',
        f'SELECT "InvoiceItem"."Id" AS "a" FROM {TABLE} WHERE "InvoiceItem"."_DeletedDate" IS NULL',
        f'SELECT CASE WHEN strlen("InvoiceItem"."Id") = 1 THEN \'x\' END FROM {TABLE}',
    ],
)
def test_a_projection_of_one_table_is_bounded_by_rowid(sql: str) -> None:
    ranged = ranged_copy.cut(sql)
    assert ranged is not None
    assert (
        ranged.select.replace("(", "")
        .replace(")", "")
        .endswith('"InvoiceItem".rowid >= ? AND "InvoiceItem".rowid < ?')
    )
    assert ranged.last_rowid == f'SELECT MAX("InvoiceItem".rowid) FROM {TABLE}'
    con = duckdb.connect()
    con.execute('CREATE SCHEMA "tenant_t"')
    con.execute('CREATE TABLE "tenant_t"."InvoiceItem" ("Id" TEXT, "_DeletedDate" TIMESTAMPTZ)')
    con.execute(
        """INSERT INTO "tenant_t"."InvoiceItem" SELECT 'x' || i, NULL FROM range(10) t(i)"""
    )
    assert len(con.execute(ranged.select, [2, 5]).fetchall()) == 3
    assert con.execute(ranged.last_rowid).fetchall() == [(9,)]


@pytest.mark.parametrize(
    "sql",
    [
        f'SELECT "Invoice"."Id" FROM {TABLE} LEFT JOIN "tenant_t"."Invoice" AS "Invoice" ON true',
        f'SELECT count("InvoiceItem"."Id") FROM {TABLE}',
        f'SELECT "InvoiceItem"."Id" FROM {TABLE} GROUP BY 1',
        f'SELECT "InvoiceItem"."Id" FROM {TABLE} ORDER BY 1',
        f'SELECT "InvoiceItem"."Id" FROM {TABLE} LIMIT 5',
        f'SELECT DISTINCT "InvoiceItem"."Id" FROM {TABLE}',
        f"SELECT row_number() OVER () FROM {TABLE}",
        f'SELECT "InvoiceItem"."Id" FROM {TABLE} WHERE "InvoiceItem"."Id" IN (SELECT 1)',
        f"SELECT 1 FROM {TABLE} UNION ALL SELECT 2",
        'SELECT 1 FROM (SELECT 1) AS "t"',
        "SELECT 1",
        "not sql at all (",
    ],
)
def test_anything_else_stays_one_statement(sql: str) -> None:
    assert ranged_copy.cut(sql) is None


def test_ranges_cover_the_table_once_in_vector_sized_steps() -> None:
    ranges = ranged_copy.Ranges(0, 1_000_000)
    first = ranges.take(None)
    assert first == (0, ranged_copy.FIRST_ROWS)
    spans = [first]
    speeds = [1.0, 1e9, 300_000.0, 50_000.0]
    while (taken := ranges.take(speeds[len(spans) % len(speeds)])) is not None:
        spans.append(taken)
    assert spans[0][0] == 0 and spans[-1][1] == 1_000_000
    assert all(a[1] == b[0] for a, b in itertools.pairwise(spans))
    sizes = [stop - start for start, stop in spans[:-1]]
    assert all(size % ranged_copy.VECTOR_ROWS == 0 for size in sizes)
    assert min(sizes) == ranged_copy.MIN_ROWS  # a slow cursor still takes a few vectors
    assert max(sizes) == ranged_copy.MAX_ROWS  # a fast one stays about one task long
    expected = (
        int(300_000 * ranged_copy.TARGET_S) // ranged_copy.VECTOR_ROWS * ranged_copy.VECTOR_ROWS
    )
    assert expected in sizes  # otherwise what the cursor's speed asks for


def test_an_empty_table_has_no_range() -> None:
    assert ranged_copy.Ranges(0, 0).take(None) is None
