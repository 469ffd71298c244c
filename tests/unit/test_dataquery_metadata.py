"""dataquery: the metadata statements (SHOW TABLES / FUNCTIONS / COLUMNS, DESCRIBE) and what the
translation does per engine (reference dataquery.md 8.1-8.3).

The functions of ``SHOW FUNCTIONS`` are each called with their argument types on an in-memory
DuckDB holding an empty Account table (binding is where DuckDB refuses a wrong call).
"""

from __future__ import annotations

from collections.abc import Iterator

import duckdb
import pytest

from aquarium.catalog import model
from aquarium.dataquery import errors, functions, sql
from aquarium.engines import ddl, naming

TENANT = "acme"
SCHEMA = naming.schema_name(TENANT)
DOCUMENTED_TYPES = {"varchar", "bigint", "boolean", "date", "decimal(18,6)"}
DOCUMENTED_TYPES.add("timestamp with time zone")


@pytest.fixture(scope="module")
def catalog() -> model.Catalog:
    return model.default()


def _answer(text: str, catalog: model.Catalog) -> sql.Translated:
    answer = sql.translate(text, catalog, schema=SCHEMA, dialect="duckdb")
    assert answer.kind is sql.Kind.METADATA
    return answer


def _refused(text: str, catalog: model.Catalog, dialect: sql.Dialect = "duckdb") -> str:
    with pytest.raises(errors.DataQuerySqlError) as raised:
        sql.translate(text, catalog, schema=SCHEMA, dialect=dialect)
    return raised.value.message


# -- SHOW TABLES ------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "tables"),
    [
        ("SHOW TABLES LIKE 'acc%'", ["account", "accountingcode", "accountingperiod"]),
        ("show tables like 'invoice_tem'", ["invoiceitem"]),
        ("show tables like 'ACC%'", []),  # Trino's LIKE is case-sensitive; tables are lower case
        ("show tables like 'orders'", ["orders"]),
        ("SHOW TABLES FROM data LIKE 'account'", ["account"]),
        ("show tables in owl.data like 'accountingc%';", ["accountingcode"]),
    ],
)
def test_show_tables_like(catalog: model.Catalog, text: str, tables: list[str]) -> None:
    answer = _answer(text, catalog)
    assert answer.columns == ("Table",)
    assert [row[0] for row in answer.rows] == tables


def test_show_tables_from_the_default_schema_lists_them_all(catalog: model.Catalog) -> None:
    everything = _answer("SHOW TABLES", catalog).rows
    assert _answer("show tables from data", catalog).rows == everything
    assert _answer("SHOW TABLES IN owl.data", catalog).rows == everything


def test_show_tables_from_another_schema_is_refused(catalog: model.Catalog) -> None:
    assert _refused("show tables from tenant_other", catalog) == (
        "Schema 'tenant_other' does not exist"
    )


# -- SHOW FUNCTIONS ---------------------------------------------------------------------------
def test_show_functions_has_zuoras_columns_and_the_documented_min_row(
    catalog: model.Catalog,
) -> None:
    answer = _answer("SHOW FUNCTIONS", catalog)
    assert answer.columns == (
        "Function",
        "Return Type",
        "Argument Types",
        "Function Type",
        "Deterministic",
        "Description",
    )
    rows = {row[0]: row for row in answer.rows}
    assert rows["min"][:5] == ("min", "E", "E", "aggregate", "true")  # dataquery.md 8.2
    assert rows["now"][4] == "false"
    assert rows["row_number"][3] == "window"
    names = [row[0] for row in answer.rows]
    assert names == sorted(names)
    assert {"to_uuid32", "to_uuid36", "at_timezone", "date_diff"} <= set(names)
    assert {row[3] for row in answer.rows} == {"scalar", "aggregate", "window"}


def test_show_functions_like(catalog: model.Catalog) -> None:
    answer = _answer("show functions like 'to\\_uuid%'", catalog)
    assert answer.rows == ()  # no escape character in Trino's SHOW ... LIKE without ESCAPE
    names = [row[0] for row in _answer("show functions like 'to_uuid%'", catalog).rows]
    assert names == ["to_uuid32", "to_uuid36"]


#: Arguments for each argument type; some calls need literals (units, formats).
SAMPLE = {
    "T": "balance",
    "E": "balance",
    "varchar": "name",
    "bigint": "billcycleday",
    "double": "balance",
    "boolean": "autopay",
    functions.TS: "updateddate",
}
CALLS = {
    "count": "count(*)",
    "current_date": "current_date",
    "current_timestamp": "current_timestamp",
    "date_add": "date_add('day', billcycleday, updateddate)",
    "date_diff": "date_diff('day', createddate, updateddate)",
    "date_trunc": "date_trunc('month', updateddate)",
    "date_format": "date_format(updateddate, '%Y-%m-%d')",
    "date_parse": "date_parse('2024-01-02', '%Y-%m-%d')",
    "at_timezone": "at_timezone(updateddate, 'UTC')",
    "from_iso8601_timestamp": "from_iso8601_timestamp('2024-01-01T00:00:00Z')",
    "round": "round(balance, 2)",  # DuckDB rounds a decimal only to a constant precision
}


def sample_call(row: functions.Row) -> str:
    """A call of the row's function with columns (or literals) of its argument types."""
    name, _, arguments, kind = row[:4]
    if name in CALLS and (name != "count" or not arguments):
        call = CALLS[name]
    else:
        values = [SAMPLE[argument] for argument in arguments.split(", ") if argument]
        call = f"{name}({', '.join(values)})"
    return call + (" over (order by id)" if kind == "window" else "")


@pytest.fixture(scope="module")
def billing(catalog: model.Catalog) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(":memory:")
    connection.execute(f'CREATE SCHEMA "{SCHEMA}"')
    account = ddl.create_table(TENANT, catalog.require("Account"), "duckdb")
    connection.execute(account.sql("duckdb"))
    yield connection
    connection.close()


@pytest.mark.parametrize("row", functions.rows(), ids=lambda row: f"{row[0]}({row[2]})")
def test_every_listed_function_is_accepted_and_runs(
    catalog: model.Catalog, billing: duckdb.DuckDBPyConnection, row: functions.Row
) -> None:
    text = f"select {sample_call(row)} from account"
    sql.translate(text, catalog, schema=SCHEMA, dialect="postgres")  # run by the PG battery
    translated = sql.translate(text, catalog, schema=SCHEMA, dialect="duckdb")
    assert translated.sql is not None
    billing.execute(translated.sql).fetchall()


# -- DESCRIBE / SHOW COLUMNS ------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    ["show columns in account", "SHOW COLUMNS FROM Account", "desc ACCOUNT", "describe account"],
)
def test_describe_types_are_the_documented_names(catalog: model.Catalog, text: str) -> None:
    answer = _answer(text, catalog)
    types = {row[1] for row in answer.rows}
    assert types <= DOCUMENTED_TYPES
    rows = {row[0]: row for row in answer.rows}
    assert rows["balance"] == ("balance", "decimal(18,6)", "", "Balance")
    assert rows["autopay"][1] == "boolean"
    assert rows["billcycleday"][1] == "bigint"
    assert rows["createddate"][1] == "timestamp with time zone"


def test_every_table_describes_with_documented_types(catalog: model.Catalog) -> None:
    for (table,) in _answer("show tables", catalog).rows:
        assert {row[1] for row in _answer(f"describe {table}", catalog).rows} <= DOCUMENTED_TYPES


# -- per-engine translation -------------------------------------------------------------------
def test_try_cast_runs_on_duckdb_and_is_refused_on_postgres(
    catalog: model.Catalog, billing: duckdb.DuckDBPyConnection
) -> None:
    text = "select try_cast('x' as bigint), try_cast('7' as bigint) from account"
    translated = sql.translate(text, catalog, schema=SCHEMA, dialect="duckdb")
    assert translated.sql is not None and "TRY_CAST" in translated.sql
    assert billing.execute(f"SELECT * FROM ({translated.sql}) UNION ALL SELECT NULL, 7").fetchall()
    message = _refused(text, catalog, "postgres")
    assert message.startswith("Function 'try_cast' is not supported on this server's PostgreSQL")


@pytest.mark.parametrize("dialect", ["duckdb", "postgres"])
def test_and_or_are_not_mistaken_for_functions(
    catalog: model.Catalog, dialect: sql.Dialect
) -> None:
    translated = sql.translate(
        "select id from account where (id = 'a' and name = 'b') or not autopay",
        catalog,
        schema=SCHEMA,
        dialect=dialect,
    )
    assert translated.sql is not None
    assert translated.sql.endswith("""WHERE ("id" = 'a' AND "name" = 'b') OR NOT "autopay\"""")


def test_describe_inside_a_query_is_refused(catalog: model.Catalog) -> None:
    assert _refused("select * from (describe account)", catalog) == (
        "DESCRIBE is not allowed in a query"
    )
