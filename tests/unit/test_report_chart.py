"""The chart document of a summary's report data (services/report_chart.py): categories in the
run's order, a series per column group, a chart per value, lines for dates, money and currency."""

from __future__ import annotations

from aquarium.catalog import model
from aquarium.services import report_chart
from aquarium.zoql.report_plan import ColumnSpec

T = model.FieldType
MONTH = ColumnSpec("Invoice.InvoiceDate", "Invoice: Invoice Date", T.DATE, "row", "CM")
STATUS = ColumnSpec("Account.Status", "Account: Status", T.PICKLIST, "row")
CURRENCY_COLUMN = ColumnSpec("Account.Currency", "Account: Currency", T.PICKLIST, "column")
CURRENCY_ROW = ColumnSpec("Account.Currency", "Account: Currency", T.PICKLIST, "row")
AMOUNT = ColumnSpec("SUM(Invoice.Amount)", "SUM of 'Invoice: Amount'", T.DECIMAL, "value")
COUNT = ColumnSpec("COUNT(Invoice.Id)", "COUNT of 'Invoice: ID'", T.INTEGER, "value")


def _row(**cells: str) -> dict[str, str]:
    keys = {"month": MONTH, "status": STATUS, "currency": CURRENCY_COLUMN, "amount": AMOUNT,
            "count": COUNT}  # fmt: skip
    return {keys[name].field_id: value for name, value in cells.items()}


def test_months_by_currency_are_lines_one_series_per_currency() -> None:
    rows = [
        _row(month="Jan 2026", currency="EUR", amount="1,430.5"),
        _row(month="Jan 2026", currency="USD", amount="-120.2"),
        _row(month="Feb 2026", currency="USD", amount="12"),
    ]
    found = report_chart.shape([MONTH, CURRENCY_COLUMN, AMOUNT], rows)
    assert found["kind"] == "line"
    assert found["xLabel"] == "Invoice: Invoice Date"
    assert found["categories"] == ["Jan 2026", "Feb 2026"]
    assert found["categoryCurrencies"] is None
    [chart] = found["charts"]
    assert chart["title"] == "SUM of 'Invoice: Amount'" and chart["money"] is True
    assert chart["series"] == [
        {"name": "EUR", "currency": "EUR", "values": [1430.5, None]},  # no EUR row in Feb: a gap
        {"name": "USD", "currency": "USD", "values": [-120.2, 12.0]},
    ]
    assert found["truncated"] is False


def test_categories_are_bars_and_each_value_is_a_chart() -> None:
    rows = [
        _row(status="Active", amount="10", count="2"),
        _row(status="Draft", amount="", count="1,234"),
    ]
    found = report_chart.shape([STATUS, AMOUNT, COUNT], rows)
    assert found["kind"] == "bar"
    assert [c["title"] for c in found["charts"]] == [AMOUNT.header, COUNT.header]
    assert [c["money"] for c in found["charts"]] == [True, False]
    # Without column groups, one series named after the value.
    assert found["charts"][1]["series"] == [
        {"name": COUNT.header, "currency": None, "values": [2.0, 1234.0]}
    ]
    assert found["charts"][0]["series"][0]["values"] == [10.0, None]


def test_a_currency_row_group_gives_each_category_its_currency() -> None:
    rows = [{"Account.Currency": "USD", AMOUNT.field_id: "5"},
            {"Account.Currency": "(none)", AMOUNT.field_id: "1"}]  # fmt: skip
    found = report_chart.shape([CURRENCY_ROW, AMOUNT], rows)
    assert found["categories"] == ["USD", "(none)"]
    assert found["categoryCurrencies"] == ["USD", None]


def test_too_many_column_groups_are_cut_and_said() -> None:
    rows = [_row(status="Active", currency=f"C{n:02d}", amount="1") for n in range(20)]
    found = report_chart.shape([STATUS, CURRENCY_COLUMN, AMOUNT], rows)
    assert len(found["charts"][0]["series"]) == report_chart.MAX_SERIES
    assert found["truncated"] is True
    assert found["charts"][0]["series"][0]["currency"] is None  # "C00" is no ISO code


def test_display_values_read_back_as_numbers() -> None:
    assert report_chart.number("1,234,567.125") == 1234567.125
    assert report_chart.number("-0.5") == -0.5
    assert report_chart.number("") is None
    assert report_chart.number("(none)") is None
