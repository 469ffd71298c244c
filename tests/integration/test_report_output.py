"""Report runs, PROCESSINGDATA (reference reporting.md §4.4, §4.5, §7.5, §8): raw Parquet in,
display strings out as a data Parquet, a UTF-16LE tab-separated export and a crosstab."""

from __future__ import annotations

import codecs
import threading
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest

from aquarium.catalog import model
from aquarium.domain import errors
from aquarium.export import report_display as rd
from aquarium.export import report_output as ro
from aquarium.export import writer

F = model.FieldType
R = rd.ColumnRole
G = rd.DateGrouping
TIME_ZONE = "America/Los_Angeles"  # has DST: -08:00 in winter, -07:00 in summer


def _raw(path: Path, schema: str, rows: Sequence[tuple[object, ...]]) -> Path:
    """A raw Parquet with columns ``schema`` (DuckDB column definitions) holding ``rows``."""
    with duckdb.connect() as con:
        con.execute(f"CREATE TABLE raw ({schema})")
        if rows:
            marks = ", ".join("?" * len(rows[0]))
            con.executemany(f"INSERT INTO raw VALUES ({marks})", rows)
        con.execute(f"COPY raw TO '{path}' (FORMAT parquet)")
    return path


def _generated(path: Path, select: str) -> Path:
    with duckdb.connect() as con:
        con.execute(f"COPY ({select}) TO '{path}' (FORMAT parquet)")
    return path


def _process(
    tmp_path: Path,
    raw: Path,
    columns: Sequence[rd.ReportColumn],
    *,
    summary: bool,
    pivoted: bool = False,
) -> ro.ReportFiles:
    with ro.ReportProcessor(TIME_ZONE) as processor:
        return processor.process(
            raw,
            columns,
            summary=summary,
            data_path=tmp_path / "data.parquet",
            export_path=tmp_path / "export.csv",
            pivoted_path=tmp_path / "pivoted.csv" if pivoted else None,
        )


def _tsv(path: Path) -> str:
    """The text of an export, checking its BOM and encoding."""
    data = path.read_bytes()
    assert data.startswith(codecs.BOM_UTF16_LE)
    return data[len(codecs.BOM_UTF16_LE) :].decode("utf-16-le")


def _describes_the_file(written: writer.WrittenFile, content_type: str) -> None:
    assert written.path.exists()
    assert written.size == written.path.stat().st_size
    assert written.sha256 == writer.sha256_of(written.path)
    assert written.content_type == content_type


# -- one value, one rule ------------------------------------------------------------------------

# (DuckDB literal, type, role, grouping, display string)
CASES: list[tuple[str, model.FieldType, rd.ColumnRole, rd.DateGrouping, str]] = [
    ("'Zoë 東京 😀'", F.TEXT, R.FIELD, G.NONE, "Zoë 東京 😀"),
    ("''", F.TEXT, R.FIELD, G.NONE, ""),
    ("NULL::VARCHAR", F.TEXT, R.FIELD, G.NONE, ""),
    ("'Gold'", F.PICKLIST, R.FIELD, G.NONE, "Gold"),
    ("true", F.BOOLEAN, R.FIELD, G.NONE, "true"),
    ("false", F.BOOLEAN, R.FIELD, G.NONE, "false"),
    ("NULL::BOOLEAN", F.BOOLEAN, R.FIELD, G.NONE, ""),
    ("DATE '2013-12-07'", F.DATE, R.FIELD, G.NONE, "Dec 7, 2013"),
    ("NULL::DATE", F.DATE, R.FIELD, G.NONE, ""),
    ("TIMESTAMPTZ '2013-12-07 22:18:00+00'", F.DATETIME, R.FIELD, G.NONE, "Dec 7, 2013 2:18:00 PM"),
    ("TIMESTAMPTZ '2013-07-07 00:18:05+00'", F.DATETIME, R.FIELD, G.NONE, "Jul 6, 2013 5:18:05 PM"),
    (
        "TIMESTAMPTZ '2024-03-10 10:30:00+00'",
        F.DATETIME,
        R.FIELD,
        G.NONE,
        "Mar 10, 2024 3:30:00 AM",
    ),
    (
        "TIMESTAMPTZ '2014-01-01 08:00:00+00'",
        F.DATETIME,
        R.FIELD,
        G.NONE,
        "Jan 1, 2014 12:00:00 AM",
    ),
    (
        "TIMESTAMPTZ '2014-01-01 20:00:09+00'",
        F.DATETIME,
        R.FIELD,
        G.NONE,
        "Jan 1, 2014 12:00:09 PM",
    ),
    ("NULL::TIMESTAMPTZ", F.DATETIME, R.FIELD, G.NONE, ""),
    ("1729.76::DECIMAL(18,2)", F.DECIMAL, R.FIELD, G.NONE, "1,729.76"),
    ("900::DECIMAL(18,2)", F.DECIMAL, R.FIELD, G.NONE, "900.00"),
    ("-0.5::DECIMAL(18,2)", F.DECIMAL, R.FIELD, G.NONE, "-0.50"),
    ("0::DECIMAL(18,2)", F.DECIMAL, R.FIELD, G.NONE, "0.00"),
    ("2.675::DECIMAL(18,3)", F.DECIMAL, R.FIELD, G.NONE, "2.68"),
    ("-2.675::DECIMAL(18,3)", F.DECIMAL, R.FIELD, G.NONE, "-2.68"),
    ("-0.004::DECIMAL(18,3)", F.DECIMAL, R.FIELD, G.NONE, "0.00"),
    ("-1234567.891::DECIMAL(18,3)", F.DECIMAL, R.FIELD, G.NONE, "-1,234,567.89"),
    (
        "12345678901234567.89::DECIMAL(38,2)",
        F.DECIMAL,
        R.FIELD,
        G.NONE,
        "12,345,678,901,234,567.89",
    ),
    ("NULL::DECIMAL(18,2)", F.DECIMAL, R.FIELD, G.NONE, ""),
    ("1234567::BIGINT", F.INTEGER, R.FIELD, G.NONE, "1,234,567"),
    ("-1234::BIGINT", F.INTEGER, R.FIELD, G.NONE, "-1,234"),
    ("0::INTEGER", F.INTEGER, R.FIELD, G.NONE, "0"),
    ("NULL::BIGINT", F.INTEGER, R.FIELD, G.NONE, ""),
    # Aggregates: 3 decimals at most, trailing zeros dropped (reference §8).
    ("1430.5::DECIMAL(38,2)", F.DECIMAL, R.VALUE, G.NONE, "1,430.5"),
    ("-120.2::DECIMAL(38,2)", F.DECIMAL, R.VALUE, G.NONE, "-120.2"),
    ("12::HUGEINT", F.INTEGER, R.VALUE, G.NONE, "12"),
    ("1000::BIGINT", F.INTEGER, R.VALUE, G.NONE, "1,000"),
    ("(1 / 3)::DOUBLE", F.DECIMAL, R.VALUE, G.NONE, "0.333"),
    ("2.0005::DECIMAL(18,4)", F.DECIMAL, R.VALUE, G.NONE, "2.001"),
    ("-0.0004::DECIMAL(18,4)", F.DECIMAL, R.VALUE, G.NONE, "0"),
    ("1234567.8::DECIMAL(38,1)", F.DECIMAL, R.VALUE, G.NONE, "1,234,567.8"),
    ("NULL::DECIMAL(38,2)", F.DECIMAL, R.VALUE, G.NONE, ""),
    ("DATE '2013-12-07'", F.DATE, R.VALUE, G.NONE, "Dec 7, 2013"),
    ("TIMESTAMPTZ '2013-12-07 22:18:00+00'", F.DATETIME, R.VALUE, G.NONE, "Dec 7, 2013 2:18:00 PM"),
    ("'Zoë'", F.TEXT, R.VALUE, G.NONE, "Zoë"),
    ("NULL::DATE", F.DATE, R.VALUE, G.NONE, ""),
    # Groups: null is (none), empty is (blank) (reference §7.5); otherwise the type's rules.
    ("NULL::VARCHAR", F.TEXT, R.ROW, G.NONE, "(none)"),
    ("''", F.TEXT, R.ROW, G.NONE, "(blank)"),
    ("''", F.PICKLIST, R.COLUMN, G.NONE, "(blank)"),
    ("'East'", F.TEXT, R.ROW, G.NONE, "East"),
    ("42::BIGINT", F.TEXT, R.ROW, G.NONE, "42"),  # an id stored as a number
    ("NULL::DECIMAL(18,2)", F.DECIMAL, R.ROW, G.NONE, "(none)"),
    ("1729.756::DECIMAL(18,3)", F.DECIMAL, R.ROW, G.NONE, "1,729.76"),
    ("1234567::BIGINT", F.INTEGER, R.COLUMN, G.NONE, "1,234,567"),
    ("true", F.BOOLEAN, R.ROW, G.NONE, "true"),
    ("DATE '2013-12-07'", F.DATE, R.ROW, G.NONE, "Dec 7, 2013"),
    ("TIMESTAMPTZ '2013-07-07 00:18:05+00'", F.DATETIME, R.ROW, G.NONE, "Jul 6, 2013 5:18:05 PM"),
    # Date groups: the raw value is the DATE the bucket starts on.
    ("DATE '2013-12-07'", F.DATE, R.ROW, G.DAY, "Dec 7, 2013"),
    ("DATE '2013-12-02'", F.DATETIME, R.ROW, G.WEEK, "Week of Dec 2, 2013"),
    ("DATE '2013-12-01'", F.DATE, R.COLUMN, G.MONTH, "Dec 2013"),
    ("DATE '2013-10-01'", F.DATE, R.COLUMN, G.QUARTER, "Q4 2013"),
    ("DATE '2014-01-01'", F.DATETIME, R.ROW, G.QUARTER, "Q1 2014"),
    ("DATE '2013-01-01'", F.DATE, R.ROW, G.YEAR, "2013"),
    ("NULL::DATE", F.DATE, R.COLUMN, G.MONTH, "(none)"),
]


def _case_columns(summary: bool) -> list[tuple[int, rd.ReportColumn]]:
    """The cases of a detail or summary run, in export order (rows, columns, then values)."""
    order = [R.FIELD] if not summary else [R.ROW, R.COLUMN, R.VALUE]
    return [
        (i, rd.ReportColumn(f"c{i}", f"Case.F{i}", f"Case: {i}", field_type, role, grouping))
        for wanted in order
        for i, (_, field_type, role, grouping, _) in enumerate(CASES)
        if role is wanted
    ]


@pytest.fixture(scope="module")
def shown(tmp_path_factory: pytest.TempPathFactory) -> dict[int, tuple[str, str]]:
    """Each case's display string in the data file and its export line, by case index.

    All cases go through two runs, a detail one (FIELD cases) and a summary one (the others).
    """
    base = tmp_path_factory.mktemp("cases")
    raw = _generated(
        base / "raw.parquet",
        "SELECT " + ", ".join(f"{literal} AS c{i}" for i, (literal, *_) in enumerate(CASES)),
    )
    found: dict[int, tuple[str, str]] = {}
    for summary in (False, True):
        indexed = _case_columns(summary)
        out = base / str(summary)
        out.mkdir()
        files = _process(out, raw, [column for _, column in indexed], summary=summary)
        (row,) = ro.read_page(files.data.path, 0, 10)
        header, line, end = _tsv(files.export.path).split("\n")
        assert header == "\t".join(column.header for _, column in indexed)
        assert end == ""
        for i, _ in indexed:
            found[i] = (row[f"Case.F{i}"], line)
    return found


@pytest.mark.parametrize("case", range(len(CASES)), ids=[f"{c[0]}-{c[2]}-{c[3]}" for c in CASES])
def test_each_value_is_shown_as_zuora_shows_it(
    shown: dict[int, tuple[str, str]], case: int
) -> None:
    assert shown[case][0] == CASES[case][4]


@pytest.mark.parametrize("summary", [False, True])
def test_the_export_line_holds_the_same_strings(
    shown: dict[int, tuple[str, str]], summary: bool
) -> None:
    cases = [i for i, _ in _case_columns(summary)]
    assert shown[cases[0]][1] == "\t".join(CASES[i][4] for i in cases)


# -- a detail report ------------------------------------------------------------------------------

DETAIL_COLUMNS = [
    rd.ReportColumn("c1", "Invoice.InvoiceNumber", "Invoice: Invoice Number", F.TEXT, R.FIELD),
    rd.ReportColumn("c2", "Invoice.Comments", 'Invoice: "Comments"', F.TEXT, R.FIELD),
    rd.ReportColumn("c3", "Account.AutoPay", "Account: Auto Pay", F.BOOLEAN, R.FIELD),
    rd.ReportColumn("c4", "Invoice.InvoiceDate", "Invoice: Invoice Date", F.DATE, R.FIELD),
    rd.ReportColumn("c5", "Invoice.CreatedDate", "Invoice: Created Date", F.DATETIME, R.FIELD),
    rd.ReportColumn("c6", "Invoice.Amount", "Invoice: Amount", F.DECIMAL, R.FIELD),
    rd.ReportColumn("c7", "Account.Quantity", "Account: Quantity", F.INTEGER, R.FIELD),
]
DETAIL_SCHEMA = (
    "c1 VARCHAR, c2 VARCHAR, c3 BOOLEAN, c4 DATE, c5 TIMESTAMPTZ, c6 DECIMAL(18,2), c7 BIGINT"
)
WINTER = "2013-12-07 22:18:00+00"
SUMMER = "2014-07-04 19:00:00+00"
DETAIL_ROWS: list[tuple[object, ...]] = [
    ("INV-1", "plain", True, "2013-12-07", WINTER, Decimal("1729.76"), 1234567),
    ("INV-2", "tab\there", False, None, None, Decimal("900"), -5),
    ("INV-3", 'say "hi"', None, "2014-07-04", SUMMER, Decimal("-0.5"), None),
    ("INV-4", "two\nlines\r\n", True, "2014-07-04", SUMMER, None, 0),
    ("INV-5", "", True, "2014-07-04", SUMMER, Decimal("0"), 1),
    ("INV-6", None, True, "2014-07-04", SUMMER, Decimal("1"), 2),
    ("Zoë 東京 😀", "#hash, comma", True, "2014-07-04", SUMMER, Decimal("2"), 3),
    ("NULL", " lead", False, "2014-07-04", SUMMER, Decimal("3"), 4),
]
WINTER_SHOWN = "Dec 7, 2013 2:18:00 PM"
SUMMER_SHOWN = "Jul 4, 2014 12:00:00 PM"
DETAIL_DATA = [
    ["INV-1", "plain", "true", "Dec 7, 2013", WINTER_SHOWN, "1,729.76", "1,234,567"],
    ["INV-2", "tab\there", "false", "", "", "900.00", "-5"],
    ["INV-3", 'say "hi"', "", "Jul 4, 2014", SUMMER_SHOWN, "-0.50", ""],
    ["INV-4", "two\nlines\r\n", "true", "Jul 4, 2014", SUMMER_SHOWN, "", "0"],
    ["INV-5", "", "true", "Jul 4, 2014", SUMMER_SHOWN, "0.00", "1"],
    ["INV-6", "", "true", "Jul 4, 2014", SUMMER_SHOWN, "1.00", "2"],
    ["Zoë 東京 😀", "#hash, comma", "true", "Jul 4, 2014", SUMMER_SHOWN, "2.00", "3"],
    ["NULL", " lead", "false", "Jul 4, 2014", SUMMER_SHOWN, "3.00", "4"],
]
DETAIL_TSV = (
    'Invoice: Invoice Number\t"Invoice: ""Comments"""\tAccount: Auto Pay\t'
    "Invoice: Invoice Date\tInvoice: Created Date\tInvoice: Amount\tAccount: Quantity\n"
    f"INV-1\tplain\ttrue\tDec 7, 2013\t{WINTER_SHOWN}\t1,729.76\t1,234,567\n"
    'INV-2\t"tab\there"\tfalse\t\t\t900.00\t-5\n'
    f'INV-3\t"say ""hi"""\t\tJul 4, 2014\t{SUMMER_SHOWN}\t-0.50\t\n'
    f'INV-4\t"two\nlines\r\n"\ttrue\tJul 4, 2014\t{SUMMER_SHOWN}\t\t0\n'
    f"INV-5\t\ttrue\tJul 4, 2014\t{SUMMER_SHOWN}\t0.00\t1\n"
    f"INV-6\t\ttrue\tJul 4, 2014\t{SUMMER_SHOWN}\t1.00\t2\n"
    f"Zoë 東京 😀\t#hash, comma\ttrue\tJul 4, 2014\t{SUMMER_SHOWN}\t2.00\t3\n"
    f"NULL\t lead\tfalse\tJul 4, 2014\t{SUMMER_SHOWN}\t3.00\t4\n"
)


@pytest.fixture
def detail(tmp_path: Path) -> ro.ReportFiles:
    raw = _raw(tmp_path / "raw.parquet", DETAIL_SCHEMA, DETAIL_ROWS)
    return _process(tmp_path, raw, DETAIL_COLUMNS, summary=False)


def test_a_detail_export_is_utf16_tab_separated_with_rfc4180_quotes(
    detail: ro.ReportFiles,
) -> None:
    assert detail.export.path.read_bytes()[:2] == b"\xff\xfe"
    assert _tsv(detail.export.path) == DETAIL_TSV
    assert detail.export.record_count == len(DETAIL_ROWS)
    _describes_the_file(detail.export, ro.EXPORT_CONTENT_TYPE)
    assert detail.pivoted is None


def test_the_data_parquet_holds_display_strings_named_by_field_id(
    detail: ro.ReportFiles,
) -> None:
    _describes_the_file(detail.data, ro.DATA_CONTENT_TYPE)
    assert detail.data.record_count == len(DETAIL_ROWS)
    with duckdb.connect() as con:
        described = con.execute(f"DESCRIBE SELECT * FROM '{detail.data.path}'").fetchall()
        rows = con.execute(f"SELECT * FROM '{detail.data.path}'").fetchall()
    assert [(name, kind) for name, kind, *_ in described] == [
        (c.field_id, "VARCHAR") for c in DETAIL_COLUMNS
    ]
    assert [list(row) for row in rows] == DETAIL_DATA


def test_only_the_three_files_remain(detail: ro.ReportFiles, tmp_path: Path) -> None:
    names = sorted(path.name for path in tmp_path.iterdir())
    assert names == ["data.parquet", "export.csv", "raw.parquet"]


def test_read_page_serves_rows_in_file_order(detail: ro.ReportFiles) -> None:
    keys = [c.field_id for c in DETAIL_COLUMNS]
    expected = [dict(zip(keys, row, strict=True)) for row in DETAIL_DATA]
    first = ro.read_page(detail.data.path, 0, 3)
    assert first == expected[:3]
    assert [list(row) for row in first] == [keys] * 3  # keys in column order
    assert ro.read_page(detail.data.path, 3, 3) == expected[3:6]
    assert ro.read_page(detail.data.path, 6, 3) == expected[6:]
    assert ro.read_page(detail.data.path, 8, 3) == []
    assert ro.read_page(detail.data.path, 1000, 3) == []
    assert ro.read_page(detail.data.path, 2, 0) == []
    with pytest.raises(ValueError, match="negative"):
        ro.read_page(detail.data.path, -1, 3)


def test_a_detail_report_gets_no_pivoted_file(tmp_path: Path) -> None:
    raw = _raw(tmp_path / "raw.parquet", DETAIL_SCHEMA, DETAIL_ROWS[:1])
    files = _process(tmp_path, raw, DETAIL_COLUMNS, summary=False, pivoted=True)
    assert files.pivoted is None
    assert not (tmp_path / "pivoted.csv").exists()


def test_an_empty_result_exports_the_header_only(tmp_path: Path) -> None:
    raw = _raw(tmp_path / "raw.parquet", DETAIL_SCHEMA, [])
    files = _process(tmp_path, raw, DETAIL_COLUMNS, summary=False)
    assert _tsv(files.export.path) == DETAIL_TSV.split("\n", 1)[0] + "\n"
    assert files.data.record_count == files.export.record_count == 0
    assert ro.read_page(files.data.path, 0, 10) == []


# -- a summary report ---------------------------------------------------------------------------

SUMMARY_COLUMNS = [
    rd.ReportColumn("c1", "Account.Currency", "Account: Currency", F.PICKLIST, R.ROW),
    rd.ReportColumn("c2", "Account.Name", "Account: Name", F.TEXT, R.ROW),
    rd.ReportColumn(
        "c3", "Invoice.InvoiceDate", "Invoice: Invoice Date", F.DATE, R.COLUMN, G.MONTH
    ),
    rd.ReportColumn(
        "c4", "SUM(Account.Balance)", "SUM of 'Account: Account Balance'", F.DECIMAL, R.VALUE
    ),
    rd.ReportColumn("c5", "COUNT(Invoice.Id)", "COUNT of 'Invoice: Id'", F.INTEGER, R.VALUE),
]
SUMMARY_SCHEMA = "c1 VARCHAR, c2 VARCHAR, c3 DATE, c4 DECIMAL(38,2), c5 BIGINT"
SUMMARY_ROWS: list[tuple[object, ...]] = [
    ("EUR", "East Inc", "2013-12-01", Decimal("-120.2"), 2),
    ("EUR", "East Inc", "2014-01-01", Decimal("1000"), 1),
    ("USD", None, "2013-12-01", Decimal("1430.5"), 12),
]
UNPIVOTED_TSV = (
    "Account: Currency\tAccount: Name\tInvoice: Invoice Date\t"
    "SUM of 'Account: Account Balance'\tCOUNT of 'Invoice: Id'\n"
    "EUR\tEast Inc\tDec 2013\t-120.2\t2\n"
    "EUR\tEast Inc\tJan 2014\t1,000\t1\n"
    "USD\t(none)\tDec 2013\t1,430.5\t12\n"
)
# One block per month, one line per (currency, name); USD has no January row: empty cells.
PIVOTED_TSV = (
    "\tInvoice: Invoice Date\tDec 2013\tDec 2013\tJan 2014\tJan 2014\n"
    "Account: Currency\tAccount: Name\t"
    "SUM of 'Account: Account Balance'\tCOUNT of 'Invoice: Id'\t"
    "SUM of 'Account: Account Balance'\tCOUNT of 'Invoice: Id'\n"
    "EUR\tEast Inc\t-120.2\t2\t1,000\t1\n"
    "USD\t(none)\t1,430.5\t12\t\t\n"
)


def test_a_summary_exports_unpivoted_and_as_a_crosstab(tmp_path: Path) -> None:
    raw = _raw(tmp_path / "raw.parquet", SUMMARY_SCHEMA, SUMMARY_ROWS)
    files = _process(tmp_path, raw, SUMMARY_COLUMNS, summary=True, pivoted=True)
    assert _tsv(files.export.path) == UNPIVOTED_TSV
    assert files.pivoted is not None
    assert _tsv(files.pivoted.path) == PIVOTED_TSV
    assert files.data.record_count == files.export.record_count == 3
    assert files.pivoted.record_count == 2
    _describes_the_file(files.export, ro.EXPORT_CONTENT_TYPE)
    _describes_the_file(files.pivoted, ro.EXPORT_CONTENT_TYPE)
    assert ro.read_page(files.data.path, 2, 1) == [
        {
            "Account.Currency": "USD",
            "Account.Name": "(none)",
            "Invoice.InvoiceDate": "Dec 2013",
            "SUM(Account.Balance)": "1,430.5",
            "COUNT(Invoice.Id)": "12",
        }
    ]


def test_the_unpivoted_export_orders_rows_then_columns_then_values(tmp_path: Path) -> None:
    raw = _raw(tmp_path / "raw.parquet", SUMMARY_SCHEMA, SUMMARY_ROWS)
    shuffled = [SUMMARY_COLUMNS[i] for i in (3, 2, 0, 4, 1)]
    files = _process(tmp_path, raw, shuffled, summary=True)
    assert _tsv(files.export.path) == UNPIVOTED_TSV
    assert list(ro.read_page(files.data.path, 0, 1)[0]) == [c.field_id for c in shuffled]


def test_crosstab_combinations_are_told_apart_by_raw_value(tmp_path: Path) -> None:
    # A null and the text "(none)" show alike but are two groups; so are 1.001 and 1.004.
    raw = _raw(
        tmp_path / "raw.parquet",
        "c1 VARCHAR, c2 DECIMAL(18,3), c3 BIGINT",
        [(None, Decimal("1.001"), 1), ("(none)", Decimal("1.004"), 2), (None, Decimal("1.004"), 3)],
    )
    columns = [
        rd.ReportColumn("c1", "A.Name", "A: Name", F.TEXT, R.ROW),
        rd.ReportColumn("c2", "A.Amount", "A: Amount", F.DECIMAL, R.COLUMN),
        rd.ReportColumn("c3", "COUNT(A.Id)", "COUNT", F.INTEGER, R.VALUE),
    ]
    files = _process(tmp_path, raw, columns, summary=True, pivoted=True)
    assert files.pivoted is not None
    assert _tsv(files.pivoted.path) == (
        "A: Amount\t1.00\t1.00\nA: Name\tCOUNT\tCOUNT\n(none)\t1\t3\n(none)\t\t2\n"
    )
    assert files.pivoted.record_count == 2


def test_a_crosstab_without_row_groups_keeps_a_first_column(tmp_path: Path) -> None:
    raw = _raw(
        tmp_path / "raw.parquet",
        "c1 DATE, c2 DECIMAL(38,2)",
        [("2013-10-01", Decimal("5")), ("2014-01-01", Decimal("7.25"))],
    )
    columns = [
        rd.ReportColumn("c1", "Invoice.InvoiceDate", "Invoice Date", F.DATE, R.COLUMN, G.QUARTER),
        rd.ReportColumn("c2", "SUM(Invoice.Amount)", "SUM of Amount", F.DECIMAL, R.VALUE),
    ]
    files = _process(tmp_path, raw, columns, summary=True, pivoted=True)
    assert files.pivoted is not None
    assert _tsv(files.pivoted.path) == (
        "Invoice Date\tQ4 2013\tQ1 2014\n\tSUM of Amount\tSUM of Amount\n\t5\t7.25\n"
    )
    assert files.pivoted.record_count == 1


def test_without_column_groups_the_crosstab_is_the_unpivoted_file(tmp_path: Path) -> None:
    raw = _raw(tmp_path / "raw.parquet", SUMMARY_SCHEMA, SUMMARY_ROWS)
    columns = [c for c in SUMMARY_COLUMNS if c.role is not R.COLUMN]
    files = _process(tmp_path, raw, columns, summary=True, pivoted=True)
    assert files.pivoted is not None
    assert files.pivoted.path.read_bytes() == files.export.path.read_bytes()
    assert files.pivoted.sha256 == files.export.sha256 == writer.sha256_of(files.pivoted.path)
    assert files.pivoted.record_count == files.export.record_count == 3


# -- volume, interruption, failure --------------------------------------------------------------

BIG_ROWS = 300_000


def test_a_big_detail_report_round_trips(tmp_path: Path) -> None:
    # Multi-byte text on every line: the 1 MiB transcoding chunks cut UTF-8 sequences.
    raw = _generated(
        tmp_path / "raw.parquet",
        "SELECT 'Zoë-' || i AS c1, (i / 100)::DECIMAL(18,2) AS c2, i AS c3 "
        f"FROM range({BIG_ROWS}) r(i)",
    )
    columns = [
        rd.ReportColumn("c1", "Account.Name", "Account: Name", F.TEXT, R.FIELD),
        rd.ReportColumn("c2", "Invoice.Amount", "Invoice: Amount", F.DECIMAL, R.FIELD),
        rd.ReportColumn("c3", "Invoice.Count", "Invoice: Count", F.INTEGER, R.FIELD),
    ]
    files = _process(tmp_path, raw, columns, summary=False)
    assert files.data.record_count == files.export.record_count == BIG_ROWS
    assert files.export.size > 2 * writer.CHUNK_BYTES
    _describes_the_file(files.export, ro.EXPORT_CONTENT_TYPE)
    expected = "".join(f"Zoë-{i}\t{i / 100:,.2f}\t{i:,}\n" for i in range(BIG_ROWS))
    assert _tsv(files.export.path) == "Account: Name\tInvoice: Amount\tInvoice: Count\n" + expected
    last = BIG_ROWS - 1
    assert ro.read_page(files.data.path, last, 10) == [
        {
            "Account.Name": f"Zoë-{last}",
            "Invoice.Amount": f"{last / 100:,.2f}",
            "Invoice.Count": f"{last:,}",
        }
    ]


def test_interrupt_stops_processing_and_removes_its_files(tmp_path: Path) -> None:
    raw = _generated(
        tmp_path / "raw.parquet",
        "SELECT 'INV-' || i AS c1, (i / 100)::DECIMAL(18,2) AS c2 FROM range(3000000) r(i)",
    )
    columns = [
        rd.ReportColumn("c1", "Invoice.InvoiceNumber", "Number", F.TEXT, R.FIELD),
        rd.ReportColumn("c2", "Invoice.Amount", "Amount", F.DECIMAL, R.FIELD),
    ]
    out = tmp_path / "out"
    out.mkdir()
    outcome: list[BaseException] = []
    with ro.ReportProcessor(TIME_ZONE) as processor:
        processor.interrupt()  # nothing runs: no effect on the next run

        def run() -> None:
            try:
                processor.process(
                    raw,
                    columns,
                    summary=False,
                    data_path=out / "data.parquet",
                    export_path=out / "export.csv",
                    pivoted_path=None,
                )
            except BaseException as exc:  # handed to the test thread
                outcome.append(exc)

        worker = threading.Thread(target=run)
        worker.start()
        while worker.is_alive():
            processor.interrupt()
            worker.join(0.01)
        assert len(outcome) == 1
        assert isinstance(outcome[0], errors.ProcessingInterrupted)
        assert list(out.iterdir()) == []

        # The processor stays usable, and a new run is not stopped by the old interrupt.
        small = _raw(tmp_path / "small.parquet", DETAIL_SCHEMA, DETAIL_ROWS)
        files = processor.process(
            small,
            DETAIL_COLUMNS,
            summary=False,
            data_path=out / "data.parquet",
            export_path=out / "export.csv",
            pivoted_path=None,
        )
    assert _tsv(files.export.path) == DETAIL_TSV


def test_a_failing_run_removes_what_it_wrote(tmp_path: Path) -> None:
    raw = _raw(tmp_path / "raw.parquet", DETAIL_SCHEMA, DETAIL_ROWS)
    with ro.ReportProcessor(TIME_ZONE) as processor, pytest.raises(errors.QueryFailed) as caught:
        processor.process(
            raw,
            DETAIL_COLUMNS,
            summary=False,
            data_path=tmp_path / "data.parquet",
            export_path=tmp_path / "missing" / "export.csv",  # the export cannot be written
            pivoted_path=None,
        )
    assert isinstance(caught.value.__cause__, duckdb.IOException)  # its words for the log only
    assert "IO Error" not in caught.value.describe()
    assert [path.name for path in tmp_path.iterdir()] == ["raw.parquet"]


def test_bad_arguments_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="time zone"):
        ro.ReportProcessor("Mars/Olympus_Mons")
    raw = _raw(tmp_path / "raw.parquet", DETAIL_SCHEMA, DETAIL_ROWS[:1])
    twice = [DETAIL_COLUMNS[0], DETAIL_COLUMNS[0]]
    with pytest.raises(ValueError, match="distinct"):
        _process(tmp_path, raw, twice, summary=False)
    with pytest.raises(ValueError, match="no column"):
        _process(tmp_path, raw, DETAIL_COLUMNS, summary=True)
    assert [path.name for path in tmp_path.iterdir()] == ["raw.parquet"]
