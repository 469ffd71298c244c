"""dataquery.sql: Data Query SQL checked, refused or rewritten (reference dataquery.md 8, 10).

Real sqlglot throughout; a few tests run the DuckDB output on an in-memory DuckDB holding two
billing tables made from the catalogue, to prove the SQL runs and deleted rows stay hidden.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import duckdb
import pytest

from aquarium.catalog import model, views
from aquarium.dataquery import errors, sql
from aquarium.domain import tenancy
from aquarium.engines import ddl, naming

TENANT = "acme"
SCHEMA = naming.schema_name(TENANT)
AIRBYTE = "select * from account where updateddate >= TIMESTAMP '2024-01-01 00:00:00'"


@pytest.fixture(scope="module")
def catalog() -> model.Catalog:
    return model.default()


def _query(text: str, catalog: model.Catalog, **options: object) -> str:
    translated = sql.translate(
        text,
        catalog,
        schema=SCHEMA,
        dialect=options.pop("dialect", "duckdb"),  # type: ignore[arg-type]
        read_deleted=bool(options.pop("read_deleted", False)),
    )
    assert translated.kind is sql.Kind.QUERY
    assert translated.sql is not None
    return translated.sql


def _refused(text: str, catalog: model.Catalog) -> errors.DataQuerySqlError:
    with pytest.raises(errors.DataQuerySqlError) as raised:
        sql.translate(text, catalog, schema=SCHEMA, dialect="duckdb")
    return raised.value


# -- metadata statements (8.2) ----------------------------------------------------------------
def test_show_tables_lists_every_object_in_lower_case(catalog: model.Catalog) -> None:
    answer = sql.translate("SHOW TABLES", catalog, schema=SCHEMA, dialect="duckdb")
    assert answer.kind is sql.Kind.METADATA
    assert answer.sql is None
    assert answer.columns == ("Table",)
    names = [row[0] for row in answer.rows]
    assert names == sorted(names)
    assert len(names) == len(catalog)
    assert {"account", "invoiceitem", "rateplancharge", "orders"} <= set(names)


@pytest.mark.parametrize(
    "text", ["DESCRIBE account", "describe Account;", "DESC account", "show columns from ACCOUNT"]
)
def test_describe_gives_column_type_extra_comment(catalog: model.Catalog, text: str) -> None:
    answer = sql.translate(text, catalog, schema=SCHEMA, dialect="postgres")
    assert answer.kind is sql.Kind.METADATA
    assert answer.columns == ("Column", "Type", "Extra", "Comment")
    rows = {row[0]: row for row in answer.rows}
    assert rows["accountnumber"] == ("accountnumber", "varchar", "", "AccountNumber")
    assert rows["updateddate"] == ("updateddate", "timestamp with time zone", "", "UpdatedDate")
    assert rows["balance"][1] == "decimal(18,6)"
    assert len(answer.rows) == len(catalog.require("Account").fields)


def test_describe_of_an_unknown_table_is_refused(catalog: model.Catalog) -> None:
    assert (
        _refused("DESCRIBE acccount", catalog).message == "Table 'owl.data.acccount' does not exist"
    )


# -- queries ----------------------------------------------------------------------------------
def test_airbyte_incremental_query_reads_live_rows_with_a_utc_bound(
    catalog: model.Catalog,
) -> None:
    text = _query(AIRBYTE, catalog)
    assert f'FROM "{SCHEMA}"."Account" WHERE "_DeletedDate" IS NULL) AS "account"' in text
    assert '"UpdatedDate" AS "updateddate"' in text
    assert "CAST('2024-01-01 00:00:00+00:00' AS TIMESTAMPTZ)" in text


@pytest.mark.parametrize(
    ("literal", "expected"),
    [
        ("2018-06-02 18:17:07 -07:00", "2018-06-02 18:17:07-07:00"),
        ("2019-01-01 -7:00", "2019-01-01 00:00:00-07:00"),
        ("2023-01-02 00:00:00.000 +00:00", "2023-01-02 00:00:00.000+00:00"),
        ("2021-07-15 07:45:55.000000 -07:00", "2021-07-15 07:45:55.000000-07:00"),
        ("2024-01-01", "2024-01-01 00:00:00+00:00"),
    ],
)
def test_timestamp_literals_get_an_explicit_offset(
    catalog: model.Catalog, literal: str, expected: str
) -> None:
    text = _query(f"select id from account where createddate < TIMESTAMP '{literal}'", catalog)
    assert f"CAST('{expected}' AS TIMESTAMPTZ)" in text


def test_custom_fields_are_lower_case_columns_with_their_name_as_comment(
    catalog: model.Catalog,
) -> None:
    bad_debt = tenancy.CustomField("Account", "BadDebt__c", tenancy.CustomFieldType.TEXT, "Bad")
    tenant = views.tenant_view(catalog, features=None, fields=[bad_debt])
    described = sql.translate("DESCRIBE account", tenant, schema=SCHEMA, dialect="duckdb")
    assert ("baddebt__c", "varchar", "", "BadDebt__c") in described.rows
    text = _query("select baddebt__c from account where BadDebt__c is not null", tenant)
    assert '"BadDebt__c" AS "baddebt__c"' in text
    assert _refused("select baddebt__c from account", catalog).message == (
        "Column 'baddebt__c' cannot be resolved"
    )


def test_the_order_object_is_the_orders_table(catalog: model.Catalog) -> None:
    shown = sql.translate("show tables", catalog, schema=SCHEMA, dialect="duckdb")
    assert ("orders",) in shown.rows
    assert ("order",) not in shown.rows
    assert f'FROM "{SCHEMA}"."Order" WHERE' in _query("select id from orders", catalog)
    described = sql.translate("DESCRIBE orders", catalog, schema=SCHEMA, dialect="duckdb")
    assert described.rows[0] == ("id", "varchar", "", "Id")


def test_subqueries_and_set_operations_read_live_rows(catalog: model.Catalog) -> None:
    text = _query(
        "select id from account where exists (select 1 from invoice i where i.accountid = "
        "account.id) union select accountid from invoice where amount > "
        "(select avg(amount) from invoice) order by 1 limit 3",
        catalog,
    )
    assert text.count('WHERE "_DeletedDate" IS NULL') == 4
    assert text.endswith("ORDER BY 1 LIMIT 3")


def test_a_table_alias_keeps_its_column_names(catalog: model.Catalog) -> None:
    text = _query("select i.n from invoice i(n) limit 1", catalog)
    assert 'AS "i"("n")' in text


def test_names_are_case_insensitive(catalog: model.Catalog) -> None:
    assert _query("SELECT Account.Name FROM Account", catalog) == _query(
        'select account."name" from account', catalog
    )


def test_join_aggregate_window_and_cte(catalog: model.Catalog) -> None:
    text = _query(
        "with totals as (select accountid, sum(amount) as total from invoice group by accountid)"
        " select a.name, t.total, rank() over (order by t.total desc) as place"
        " from account a join totals t on t.accountid = a.id where t.total > 10",
        catalog,
    )
    assert f'"{SCHEMA}"."Invoice"' in text
    assert f'"{SCHEMA}"."Account"' in text
    assert "RANK() OVER (ORDER BY" in text


def test_a_cte_shadows_a_table_but_its_own_body_reads_the_table(catalog: model.Catalog) -> None:
    text = _query("with account as (select id from account) select id from account", catalog)
    assert text.count(f'"{SCHEMA}"."Account"') == 1
    assert text.endswith('SELECT "id" FROM "account"')


def test_read_deleted_reads_only_deleted_rows(catalog: model.Catalog) -> None:
    text = _query("select id from account", catalog, read_deleted=True)
    assert 'WHERE NOT "_DeletedDate" IS NULL' in text


def test_a_deleted_column_reads_both(catalog: model.Catalog) -> None:
    text = _query("select id, deleted from account where deleted = true", catalog)
    assert 'NOT "_DeletedDate" IS NULL AS "deleted"' in text
    assert 'WHERE "_DeletedDate"' not in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (AIRBYTE, "CAST('2024-01-01 00:00:00+00:00' AS TIMESTAMPTZ)"),
        ("select year(createddate) as y from account", 'EXTRACT(YEAR FROM "createddate")'),
        ("select date(createddate) from account", 'DATE("createddate")'),
        ("select day_of_week(createddate) from account", "EXTRACT(ISODOW FROM"),
        ("select id from account limit 5", "LIMIT 5"),
        ("select hour(createddate) from account", 'EXTRACT(HOUR FROM "createddate")'),
        ("select day_of_year(createddate) from account", 'EXTRACT(DOY FROM "createddate")'),
        ("select at_timezone(createddate, 'UTC') from account", "AT TIME ZONE 'UTC'"),
        ("select a.id from account a left join invoice i on i.accountid = a.id", "LEFT JOIN ("),
    ],
)
def test_postgres_output(catalog: model.Catalog, text: str, expected: str) -> None:
    out = _query(text, catalog, dialect="postgres")
    assert expected in out
    assert f'"{SCHEMA}"' in out


# -- refusals (each: a clear error, no SQL) ---------------------------------------------------
@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("select * from read_csv('/etc/passwd')", "table functions are not allowed"),
        ("select * from read_parquet('x.parquet')", "table functions are not allowed"),
        ("select * from glob('*')", "syntax error"),
        ("select read_csv('x')", "Function 'read_csv' not registered"),
        ("select pg_read_file('x')", "Function 'pg_read_file' not registered"),
        ("select current_setting('x')", "Function 'current_setting' not registered"),
        ("ATTACH 'other.duckdb' AS o", "ATTACH statements are not allowed"),
        ("COPY account TO 'x.csv'", "COPY statements are not allowed"),
        ("PRAGMA database_list", "PRAGMA statements are not allowed"),
        ("SET memory_limit = '1GB'", "SET statements are not allowed"),
        ("INSTALL httpfs", "INSTALL statements are not allowed"),
        ("LOAD httpfs", "LOAD statements are not allowed"),
        ("CALL pragma_version()", "CALL statements are not allowed"),
        ("CREATE TABLE x AS SELECT 1", "CREATE statements are not allowed"),
        ("INSERT INTO account (id) VALUES ('1')", "INSERT statements are not allowed"),
        ("UPDATE account SET name = 'x'", "UPDATE statements are not allowed"),
        ("DELETE FROM account", "DELETE statements are not allowed"),
        ("DROP TABLE account", "DROP statements are not allowed"),
        ("SHOW CATALOGS", "SHOW statements are not allowed"),
        ("SHOW SESSION", "SHOW statements are not allowed"),
        ("select * from information_schema.tables", "Table 'information_schema.tables'"),
        ("select * from pg_catalog.pg_tables", "Table 'pg_catalog.pg_tables'"),
        ("select * from duckdb_tables", "Table 'owl.data.duckdb_tables' does not exist"),
        ("select * from tenant_other.account", "Table 'tenant_other.account' does not exist"),
        ('select * from "tenant_other"."Account"', "name tables without a schema"),
        ("select * from owl.data.account", "Table 'owl.data.account' does not exist"),
        ("select * from acccount", "Table 'owl.data.acccount' does not exist"),
        (
            "with recursive r(n) as (select 1 union all select n + 1 from r) select * from r",
            "recursive WITH queries are not supported",
        ),
        ("select 1; select 2", "only one statement per query is allowed"),
        ("select nope from account", "Column 'nope' cannot be resolved"),
        ("select a.nope from account a", "Column 'nope' cannot be resolved"),
        ("select x.id from account a", "Column 'x.id' cannot be resolved"),
        (
            "select id from account a join invoice i on i.accountid = a.id",
            "Column 'id' is ambiguous",
        ),
        ("select _deleteddate from account", "Column '_deleteddate' cannot be resolved"),
        ("select id from account where id = ?", "a parameter placeholder is not allowed"),
        ("select * from account for update", "FOR UPDATE / FOR SHARE is not allowed"),
        ("select * from account, lateral (select 1)", "LATERAL is not allowed"),
        (
            'select "tenant_other"."Account"."Id" from account',
            "Column 'tenant_other.account.id' cannot be resolved",
        ),
        ("select account.id.x from account", "Column 'account.id.x' cannot be resolved"),
        ('select * from "order"', "Table 'owl.data.order' does not exist"),
        (
            "with account as (select id from account) select name from account",
            "Column 'name' cannot be resolved",
        ),
        ("", "the query is empty"),
        ("select * from 'x.csv'", "Table 'owl.data.x.csv' does not exist"),
        ('select * from "x.csv"', "Table 'owl.data.x.csv' does not exist"),
        ("select 'abc from account", "check its quotes"),
        ("select * from account; drop table account", "only one statement"),
        ("select " + "(" * 300 + "1" + ")" * 300 + " from account", "nested too deeply"),
        ("select to_uuid32(id, id) from account", "Function 'to_uuid32' takes 1 argument(s)"),
        ("select regexp_extract(name, 'a') from account", "Function 'regexp_extract' not"),
        ("select version()", "not registered"),
        ("select current_user", "not registered"),
    ],
)
def test_refused(catalog: model.Catalog, text: str, message: str) -> None:
    error = _refused(text, catalog)
    assert message in error.message
    assert "sqlglot" not in error.message.lower()


def test_column_error_keeps_trinos_wording_and_position(catalog: model.Catalog) -> None:
    error = _refused("select id,\n  updateddatex from account", catalog)
    assert error.message == "Column 'updateddatex' cannot be resolved"
    assert (error.line, error.column) == (2, 3)
    assert str(error) == "line 2:3: Column 'updateddatex' cannot be resolved"


@pytest.mark.parametrize(
    ("text", "line", "column"),
    [
        ("select * frm account", 1, 14),
        ("select id\nfrom account\nwhere (", 3, 7),
        ("select foo(1) from account", 1, 8),
        ("select * from acccount", 1, 15),
        ("\n  attach 'x'", 2, 3),
        ("select * from read_csv('/etc/passwd')", 1, 15),
        ("select id from account /* ; */; drop table account", 1, 33),
        ("select id from account -- x\n; drop table account", 2, 3),
    ],
)
def test_positions(catalog: model.Catalog, text: str, line: int, column: int) -> None:
    error = _refused(text, catalog)
    assert (error.line, error.column) == (line, column)


# -- the DuckDB output runs -------------------------------------------------------------------
@pytest.fixture
def billing(catalog: model.Catalog) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = duckdb.connect(":memory:")
    connection.execute("SET TimeZone = 'America/Los_Angeles'")  # the literals must not care
    connection.execute(f'CREATE SCHEMA "{SCHEMA}"')
    for name in ("Account", "Invoice"):
        connection.execute(ddl.create_table(TENANT, catalog.require(name), "duckdb").sql("duckdb"))
    utc = dt.UTC
    accounts = [
        ("A1", "Live old", dt.datetime(2023, 6, 1, tzinfo=utc), None),
        ("A2", "Live new", dt.datetime(2024, 1, 1, 0, 0, 1, tzinfo=utc), None),
        (
            "A3",
            "Gone new",
            dt.datetime(2024, 2, 1, tzinfo=utc),
            dt.datetime(2024, 3, 1, tzinfo=utc),
        ),
    ]
    connection.executemany(
        f'INSERT INTO "{SCHEMA}"."Account" ("Id", "Name", "UpdatedDate", "_DeletedDate")'
        " VALUES (?, ?, ?, ?)",
        accounts,
    )
    connection.executemany(
        f'INSERT INTO "{SCHEMA}"."Invoice" ("Id", "AccountId", "Amount", "_DeletedDate")'
        " VALUES (?, ?, ?, ?)",
        [
            ("I1", "A1", 10, None),
            ("I2", "A1", 5, None),
            ("I3", "A2", 7, None),
            ("I4", "A3", 1, None),
        ],
    )
    yield connection
    connection.close()


def _run(
    connection: duckdb.DuckDBPyConnection, text: str, catalog: model.Catalog, **options: object
) -> list[tuple[object, ...]]:
    return connection.execute(_query(text, catalog, **options)).fetchall()


def test_duckdb_runs_the_airbyte_query_without_deleted_rows(
    billing: duckdb.DuckDBPyConnection, catalog: model.Catalog
) -> None:
    rows = _run(billing, AIRBYTE + " order by updateddate", catalog)
    columns = [f.name.lower() for f in catalog.require("Account").fields]
    assert [dict(zip(columns, row, strict=True))["id"] for row in rows] == ["A2"]


def test_duckdb_reads_deleted_rows_on_request(
    billing: duckdb.DuckDBPyConnection, catalog: model.Catalog
) -> None:
    assert _run(billing, "select id from account", catalog, read_deleted=True) == [("A3",)]
    both = _run(billing, "select id, deleted from account order by id", catalog)
    assert both == [("A1", False), ("A2", False), ("A3", True)]


def test_duckdb_runs_a_join_aggregate_window_and_cte(
    billing: duckdb.DuckDBPyConnection, catalog: model.Catalog
) -> None:
    rows = _run(
        billing,
        "with totals as (select accountid, sum(amount) as total, count(*) as n"
        " from invoice group by accountid)"
        " select a.name, t.total, t.n, row_number() over (order by t.total desc) as place"
        " from account a join totals t on t.accountid = a.id order by place",
        catalog,
    )
    assert rows == [("Live old", 15, 2, 1), ("Live new", 7, 1, 2)]


def test_duckdb_runs_the_date_functions(
    billing: duckdb.DuckDBPyConnection, catalog: model.Catalog
) -> None:
    # The session zone is Los Angeles: AT TIME ZONE 'UTC' makes the day independent of it.
    rows = _run(
        billing,
        "select year(updateddate), date(updateddate at time zone 'UTC'),"
        " day_of_week(updateddate at time zone 'UTC'),"
        " date_trunc('month', updateddate) < current_timestamp from account where id = 'A1'",
        catalog,
    )
    assert rows == [(2023, dt.date(2023, 6, 1), 4, True)]


#: One call of each kind the allow-list admits, run on DuckDB (the PostgreSQL text of the tricky
#: ones is pinned by test_postgres_output).
FUNCTION_SAMPLES = [
    "date_add('day', 1, updateddate)",
    "date_diff('day', createddate, updateddate)",
    "date_format(updateddate, '%Y-%m-%d')",
    "date_parse('2024-01-02', '%Y-%m-%d')",
    "date_trunc('month', updateddate)",
    "extract(year from updateddate)",
    "hour(updateddate) + minute(updateddate) + second(updateddate)",
    "quarter(updateddate) + week(updateddate) + day_of_year(updateddate)",
    "day_of_week(updateddate) + year_of_week(updateddate) + day(updateddate)",
    "last_day_of_month(updateddate)",
    "from_unixtime(0)",
    "to_unixtime(updateddate)",
    "from_iso8601_timestamp('2024-01-01T00:00:00Z')",
    "current_date",
    "now()",
    "strpos(name, 'b')",
    "substr(name, 1, 1)",
    "length(lower(upper(trim(name))))",
    "lpad(name, 4, '0')",
    "split_part(name, 'b', 1)",
    "regexp_like(name, 'A')",
    "regexp_replace(name, 'A', 'x')",
    "concat(name, 'x') || reverse(name)",
    "round(balance, 0) + ceil(balance) + floor(balance) + abs(balance)",
    "power(2, 3) + mod(5, 3) + sqrt(4) + ln(1)",
    "greatest(1, 2) + least(1, 2)",
    "if(balance > 1, 'y', 'n')",
    "cast(balance as varchar)",
    "coalesce(nullif(name, 'x'), 'x')",
    "count_if(balance > 1)",
    "bool_and(balance > 1)",
    "array_agg(name)",
    "stddev(balance)",
    "updateddate at time zone 'America/Los_Angeles'",
    "at_timezone(updateddate, 'UTC')",
    "to_uuid32(id) || to_uuid36(id)",
    "updateddate + interval '1' day",
    "date '2024-01-01'",
    "case when balance > 0 then 'owes' else 'even' end",
]


@pytest.mark.parametrize("call", FUNCTION_SAMPLES)
def test_allowed_functions_run_on_duckdb(
    billing: duckdb.DuckDBPyConnection, catalog: model.Catalog, call: str
) -> None:
    aggregate = any(call.startswith(name) for name in ("count_if", "bool_and", "array_agg", "std"))
    text = f"select {call} from account" + ("" if aggregate else " where id = 'A1'")
    assert len(_run(billing, text, catalog)) == 1


def test_zuora_uuid_functions(billing: duckdb.DuckDBPyConnection, catalog: model.Catalog) -> None:
    rows = _run(
        billing,
        "select to_uuid32('2c92c0f9-67bb-659c-0167-be58d878735f'),"
        " to_uuid36('2c92c0f967bb659c0167be58d878735f')",
        catalog,
    )
    assert rows == [("2c92c0f967bb659c0167be58d878735f", "2c92c0f9-67bb-659c-0167-be58d878735f")]


@pytest.mark.parametrize(
    "where",
    [
        "a.balance > 1 and a.name <> 'x'",
        "a.balance > 1 or a.name <> 'x'",
        "(a.balance > 1 or a.balance < 0) and not a.name = 'x' and a.id is not null",
    ],
)
def test_connectives_are_no_functions_to_refuse(where: str, catalog: model.Catalog) -> None:
    """sqlglot models AND/OR as functions: the allow-list must not refuse them."""
    for dialect in ("duckdb", "postgres"):
        assert _query(f"select a.id from account a where {where}", catalog, dialect=dialect)


@pytest.mark.parametrize(
    ("text", "labels"),
    [
        ("select count(*), name, a.id, 1 + 2 as x from account a group by name, a.id",
         ["_col0", "name", "id", "x"]),
        ("select 1 union all select 2", ["_col0"]),
        ("with t as (select count(*) from account) select * from t", ["_col0"]),
        ("select * from (select upper(name), id from account) s", ["_col0", "id"]),
    ],
)  # fmt: skip
def test_unnamed_columns_are_named_as_trino_names_them(
    billing: duckdb.DuckDBPyConnection, text: str, labels: list[str], catalog: model.Catalog
) -> None:
    found = billing.execute(_query(text, catalog))
    assert [column[0] for column in found.description or ()] == labels
