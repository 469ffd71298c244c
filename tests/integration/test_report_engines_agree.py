"""Report queries give the same typed rows on DuckDB and PostgreSQL over the same data.

A report run's QUERYDATA phase writes typed Parquet (``Snapshot.copy_parquet``): DuckDB with its
own COPY, PostgreSQL through COPY text read back with the types PostgreSQL describes.
"""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import duckdb
import pytest

from aquarium.catalog import model
from aquarium.engines import base, duckdb_engine, naming, postgres_engine
from aquarium.zoql import check, lower, report_plan
from tests.integration.conftest import NOW, TIME_ZONE

pytestmark = pytest.mark.postgres
WIDTHS = {"INTEGER": "BIGINT", "SMALLINT": "BIGINT"}  # integer widths may differ

REPORTS: list[tuple[str, str, dict[str, Any]]] = [
    (
        "InvoiceItem",
        "Summary",
        {
            "rowFields": [{"id": "Invoice.InvoiceDate", "dateOptions": {"groupBy": "CM"}}],
            "colFields": [{"id": "Account.Currency"}],
            "valFields": [
                {"id": "InvoiceItem.ChargeAmount", "aggregation": "SUM"},
                {"id": "InvoiceItem.Quantity", "aggregation": "AVG"},
                {"id": "InvoiceItem.Id", "aggregation": "COUNT"},
                {"id": "InvoiceItem.SubscriptionId", "aggregation": "COUNT UNIQUE"},
            ],
        },
    ),
    (
        "Account",
        "Detail",
        {
            "selectedFields": [
                {"id": "Account.AccountNumber", "sortDir": "ASC", "sortPriority": 0},
                {"id": "Account.Name"},
                {"id": "Account.Balance"},
                {"id": "Account.AutoPay"},
                {"id": "Account.BillCycleDay"},
                {"id": "Account.CreatedDate"},
                {"id": "Account.TaxExemptEffectiveDate"},
                {"id": "BillToContact.City"},
            ],
            "detailFilters": [
                {"field": {"id": "Account.Name"}, "operator": {"value": "contains"}, "value": "0"}
            ],
        },
    ),
    (
        "Payment",
        "Summary",
        {
            "rowFields": [{"id": "Payment.EffectiveDate", "dateOptions": {"groupBy": "CW"}}],
            "colFields": [{"id": "Payment.Status"}],
            "valFields": [
                {"id": "Payment.Amount", "aggregation": "MAX"},
                {"id": "Payment.CreatedDate", "aggregation": "MIN"},
            ],
            "detailFilters": [
                {
                    "field": {"id": "Payment.EffectiveDate"},
                    "operator": {"name": "is during"},
                    "value": "the previous 2 years",
                }
            ],
        },
    ),
]


def _rows(engine: base.QueryEngine, tenant: str, report: tuple[str, str, Any], path: Path) -> Any:
    ds, view, definition = report
    context = check.Context(catalog=model.default(), time_zone=TIME_ZONE, now=NOW)
    query = report_plan.build(definition, ds_name=ds, view_type=view, context=context)
    options = lower.Options(dialect=engine.dialect, schema=naming.schema_name(tenant), raw=True)
    lowered = lower.lower(query.plan, options)
    with engine.snapshot(tenant) as snapshot:
        count = snapshot.copy_parquet(lowered, path)
    with duckdb.connect() as con:
        rows = con.execute(f"SELECT * FROM read_parquet('{path}')").fetchall()
        types = [
            c[1] for c in con.execute(f"DESCRIBE SELECT * FROM read_parquet('{path}')").fetchall()
        ]
    assert len(rows) == count
    # 1.50 and 1.500000 are one value (PostgreSQL's sum has no fixed scale).
    same = [tuple(v.normalize() if isinstance(v, Decimal) else v for v in row) for row in rows]
    return same, [WIDTHS.get(t.split("(")[0], t.split("(")[0]) for t in types]


@pytest.mark.parametrize("report", REPORTS, ids=[f"{r[0]}-{r[1]}" for r in REPORTS])
def test_duckdb_and_postgres_write_the_same_typed_rows(
    duck: duckdb_engine.DuckDbEngine,
    pg: postgres_engine.PostgresEngine,
    pg_tenant: str,
    tmp_path: Path,
    report: tuple[str, str, Any],
) -> None:
    duck_rows, duck_types = _rows(duck, "acme", report, tmp_path / "duck.parquet")
    pg_rows, pg_types = _rows(pg, pg_tenant, report, tmp_path / "pg.parquet")
    assert duck_rows, report
    assert pg_types == duck_types
    if report[1] == "Summary":  # without a full sort, compare as sets
        assert sorted(map(repr, pg_rows)) == sorted(map(repr, duck_rows))
    else:
        assert pg_rows == duck_rows
