"""Hostile Data Queries (issue 13): the text a client sends, the words the translation refuses it
with, and the engine SQL a lax translation might have written for DuckDB and for PostgreSQL.

Adding a case is adding one entry; ``test_dataquery_security.py`` tries each on every line of
defence.
"""

from __future__ import annotations

import dataclasses

NESTING = 200


@dataclasses.dataclass(frozen=True)
class Hostile:
    """A hostile Data Query, what the translation says, and engine SQL a lax translation might
    have written (``{s}``: the tenant's schema, ``{o}``: the other tenant's)."""

    name: str
    text: str
    refusal: str
    duckdb: str
    postgres: str


def _nested(inner: str, depth: int = NESTING) -> str:
    return "abs(" * depth + inner + ")" * depth


HOSTILE = [
    Hostile(
        "read_csv",
        "select * from read_csv('/etc/passwd')",
        "table functions are not allowed",
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT pg_read_file('/etc/passwd')",
    ),
    Hostile(
        "read_text",
        "select * from read_text('/etc/passwd')",
        "table functions are not allowed",
        "SELECT content FROM read_text('/etc/passwd')",
        "SELECT pg_read_binary_file('/etc/passwd')",
    ),
    Hostile(
        "glob",
        "select * from glob('/etc/*')",
        "syntax error",
        "SELECT * FROM glob('/etc/*')",
        "SELECT pg_ls_dir('/etc')",
    ),
    Hostile(
        "read_parquet",
        "select * from read_parquet('/tmp/x.parquet')",
        "table functions are not allowed",
        "SELECT * FROM read_parquet('/tmp/x.parquet')",
        "SELECT * FROM pg_stat_file('/etc/passwd')",
    ),
    Hostile(
        "scalar file reader",
        "select read_csv('/etc/passwd') from account",
        "Function 'read_csv' not registered",
        'SELECT (SELECT count(*) FROM read_csv(\'/etc/passwd\')) FROM "{s}"."Account"',
        "SELECT lo_import('/etc/passwd')",
    ),
    Hostile(
        "file as table",
        "select * from '/etc/passwd'",
        "Table 'owl.data./etc/passwd' does not exist",
        "SELECT * FROM '/etc/passwd'",
        'SELECT * FROM "/etc/passwd"',
    ),
    Hostile(
        "file in the tenant's schema",
        'select * from "/etc/passwd"',
        "Table 'owl.data./etc/passwd' does not exist",
        'SELECT * FROM "{s}"."/etc/passwd" UNION ALL SELECT * FROM \'/etc/passwd\'',
        'SELECT * FROM "{s}"."Account" UNION ALL SELECT * FROM "/etc/passwd"',
    ),
    Hostile(
        "attach",
        "ATTACH ':memory:' AS o",
        "ATTACH statements are not allowed",
        "ATTACH ':memory:' AS o",
        "SELECT * FROM dblink('dbname=test', 'SELECT 1') AS t(x int)",
    ),
    Hostile(
        "copy",
        "COPY account TO '/tmp/aq-dq-copy.csv'",
        "COPY statements are not allowed",
        'COPY "{s}"."Account" TO \'/tmp/aq-dq-copy.csv\'',
        'COPY "{s}"."Account" TO \'/tmp/aq-dq-copy.csv\'',
    ),
    Hostile(
        "copy in a query",
        "select * from (COPY account TO '/tmp/aq-dq-copy.csv')",
        "syntax error",
        'SELECT 1; COPY "{s}"."Account" TO \'/tmp/aq-dq-copy.csv\'',
        'SELECT 1; COPY "{s}"."Account" TO \'/tmp/aq-dq-copy.csv\'',
    ),
    Hostile(
        "pragma",
        "PRAGMA database_list",
        "PRAGMA statements are not allowed",
        "PRAGMA database_list",
        "SHOW data_directory",
    ),
    Hostile(
        "pragma as a table",
        "select * from pragma_database_list()",
        "table functions are not allowed",
        "SELECT * FROM pragma_database_list()",
        "SELECT * FROM pg_settings",
    ),
    Hostile(
        "set",
        "SET memory_limit = '1GB'",
        "SET statements are not allowed",
        "SET memory_limit = '1GB'",
        "SET work_mem = '1GB'",
    ),
    Hostile(
        "set_config",
        "select set_config('role', 'postgres', false)",
        "Function 'set_config' not registered",
        "SELECT set_config('role', 'postgres', false)",
        "SELECT set_config('role', 'postgres', false)",
    ),
    Hostile(
        "call",
        "CALL pragma_version()",
        "CALL statements are not allowed",
        "CALL pragma_version()",
        "CALL pg_catalog.pg_sleep(0)",
    ),
    Hostile(
        "other tenant",
        "select * from {o}.account",
        "does not exist: name tables without a schema",
        'SELECT * FROM "{o}"."Account"',
        'SELECT * FROM "{o}"."Account"',
    ),
    Hostile(
        "other tenant, quoted",
        'select * from "{o}"."Account"',
        "name tables without a schema",
        'SELECT "Name" FROM "{s}"."Account" UNION ALL SELECT "Name" FROM "{o}"."Account"',
        'SELECT "Name" FROM "{s}"."Account" UNION ALL SELECT "Name" FROM "{o}"."Account"',
    ),
    Hostile(
        "other tenant in a subquery",
        "select id from account where id in (select id from {o}.account)",
        "name tables without a schema",
        'SELECT "Id" FROM "{s}"."Account" WHERE "Id" IN (SELECT "Id" FROM "{o}"."Account")',
        'SELECT "Id" FROM "{s}"."Account" WHERE "Id" IN (SELECT "Id" FROM "{o}"."Account")',
    ),
    Hostile(
        "other tenant by a catalogue name",
        "select * from memory.{o}.account",
        "name tables without a schema",
        'SELECT * FROM billing."{o}"."Account"',
        'SELECT * FROM test."{o}"."Account"',
    ),
    Hostile(
        "case-changed schema",
        'select * from "{O}"."Account"',
        "name tables without a schema",
        'SELECT * FROM "{O}"."Account"',
        'SELECT * FROM "{O}"."Account"',
    ),
    Hostile(
        "other tenant joined under an alias",
        "select a.id from account a, {o}.account b",
        "Table '{o}.account' does not exist: name tables without a schema",
        'SELECT a."Id" FROM "{s}"."Account" AS a, "{o}"."Account" AS b',
        'SELECT a."Id" FROM "{s}"."Account" AS a, "{o}"."Account" AS b',
    ),
    Hostile(
        "system table in LIMIT",
        "select id from account limit (select count(*) from duckdb_settings)",
        "Table 'owl.data.duckdb_settings' does not exist",
        'SELECT "Id" FROM "{s}"."Account" LIMIT (SELECT count(*) FROM duckdb_settings())',
        'SELECT "Id" FROM "{s}"."Account" LIMIT (SELECT count(*) FROM pg_settings)',
    ),
    Hostile(
        "system table in ORDER BY",
        "select id from account order by (select max(name) from sqlite_master)",
        "Table 'owl.data.sqlite_master' does not exist",
        'SELECT "Id" FROM "{s}"."Account" ORDER BY (SELECT max(name) FROM sqlite_master)',
        'SELECT "Id" FROM "{s}"."Account" ORDER BY (SELECT max(rolname) FROM pg_authid)',
    ),
    Hostile(
        "duckdb_tables",
        "select * from duckdb_tables()",
        "table functions are not allowed",
        "SELECT * FROM duckdb_tables()",
        "SELECT * FROM pg_class",
    ),
    Hostile(
        "duckdb_settings as a view",
        "select * from duckdb_settings",
        "Table 'owl.data.duckdb_settings' does not exist",
        "SELECT * FROM duckdb_settings",
        "SELECT * FROM pg_roles",
    ),
    Hostile(
        "pg_catalog",
        "select * from pg_catalog.pg_tables",
        "Table 'pg_catalog.pg_tables' does not exist",
        "SELECT * FROM pg_catalog.pg_tables",
        "SELECT * FROM pg_catalog.pg_tables",
    ),
    Hostile(
        "information_schema.tables",
        "select * from information_schema.tables",
        "Table 'information_schema.tables' does not exist",
        "SELECT * FROM information_schema.tables",
        "SELECT * FROM information_schema.tables",
    ),
    Hostile(
        "information_schema.columns",
        "select column_name from information_schema.columns",
        "Table 'information_schema.columns' does not exist",
        "SELECT column_name FROM information_schema.columns",
        "SELECT column_name FROM information_schema.columns",
    ),
    Hostile(
        "sqlite_master",
        "select * from sqlite_master",
        "Table 'owl.data.sqlite_master' does not exist",
        "SELECT * FROM sqlite_master",
        "SELECT * FROM sqlite_master",
    ),
    Hostile(
        "recursive CTE bomb",
        "with recursive r(n) as (select 1 union all select n + 1 from r) select count(*) from r",
        "recursive WITH queries are not supported",
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
        "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM r) SELECT count(*) FROM r",
    ),
    Hostile(
        "a CTE named like a system table, used before it is defined",
        "with a as (select * from duckdb_settings), duckdb_settings as (select 1 as x) "
        "select * from a",
        "Table 'owl.data.duckdb_settings' does not exist",
        "WITH a AS (SELECT * FROM duckdb_settings), duckdb_settings AS (SELECT 1 AS x) "
        "SELECT * FROM a",
        "WITH a AS (SELECT * FROM pg_roles), pg_roles AS (SELECT 1 AS x) SELECT * FROM a",
    ),
    Hostile(
        "getenv",
        "select getenv('HOME')",
        "Function 'getenv' not registered",
        "SELECT getenv('HOME')",
        "SELECT inet_server_addr()",
    ),
    Hostile(
        "current_setting",
        "select current_setting('memory_limit')",
        "Function 'current_setting' not registered",
        "SELECT current_setting('memory_limit')",
        "SELECT current_setting('data_directory')",
    ),
    Hostile(
        "a deeply nested forbidden function",
        "select " + _nested("getenv('HOME')", 12) + " from account",
        "not registered",
        "SELECT " + _nested("getenv('HOME')"),
        "SELECT " + _nested("length(current_setting('data_directory'))"),
    ),
    Hostile(
        "deeply nested brackets",
        "select " + "(" * 300 + "1" + ")" * 300 + " from account",
        "nested too deeply",
        "SELECT " + "(" * 3000 + "getenv('HOME')" + ")" * 3000,
        "SELECT " + "(" * 3000 + "current_setting('data_directory')" + ")" * 3000,
    ),
    Hostile(
        "unicode look-alike table",
        "select * from \u0430ccount",  # Cyrillic a
        "Table 'owl.data.\u0430ccount' does not exist",
        'SELECT * FROM "{s}\u200b"."Account"',  # a zero-width space after the schema
        'SELECT * FROM "{s}\u200b"."Account"',
    ),
    Hostile(
        "full-width schema",
        "select * from \uff54enant_other.account",
        "name tables without a schema",
        'SELECT * FROM "\uff54{s_tail}"."Account"',
        'SELECT * FROM "\uff54{s_tail}"."Account"',
    ),
    Hostile(
        "comment hiding a second statement",
        "select id from account /* x */; drop table account",
        "only one statement per query is allowed",
        'SELECT "Id" FROM "{s}"."Account" /* x */; DROP TABLE "{s}"."Account"',
        'SELECT "Id" FROM "{s}"."Account" /* x */; DROP TABLE "{s}"."Account"',
    ),
    Hostile(
        "line comment before a second statement",
        "select id from account -- x\n; drop table account",
        "only one statement per query is allowed",
        'SELECT "Id" FROM "{s}"."Account" -- x\n; DROP TABLE "{s}"."Account"',
        'SELECT "Id" FROM "{s}"."Account" -- x\n; DROP TABLE "{s}"."Account"',
    ),
    Hostile(
        "SQL built from strings and run",
        "select * from query_table('tenant_' || 'other.account')",
        "table functions are not allowed",
        "SELECT * FROM query('SELECT * FROM \"' || '{o}\".\"Account\"')",
        "SELECT query_to_xml('SELECT * FROM \"' || '{o}\".\"Account\"', true, false, '')",
    ),
    Hostile(
        "SQL built from strings in a scalar call",
        "select query_to_xml('select * from tenant_' || 'other.account', true, false, '')",
        "Function 'query_to_xml' not registered",
        "SELECT (SELECT count(*) FROM query_table('{o}' || '.Account'))",
        "SELECT query_to_xml('SELECT * FROM \"' || '{o}\".\"Account\"', true, false, '')",
    ),
    Hostile(
        "select into",
        "select * into stolen from account",
        "SELECT INTO is not allowed",
        'CREATE TABLE stolen AS SELECT * FROM "{s}"."Account"',
        'SELECT * INTO stolen FROM "{s}"."Account"',
    ),
    Hostile(
        "row lock",
        "select * from account for update",
        "FOR UPDATE / FOR SHARE is not allowed",
        'SELECT * FROM "{s}"."Account" FOR UPDATE',
        'SELECT * FROM "{s}"."Account" FOR UPDATE',
    ),
    Hostile(
        "describe in FROM",
        "select * from (describe account)",
        "DESCRIBE is not allowed in a query",
        'SELECT * FROM (DESCRIBE "{o}"."Account")',
        'SELECT * FROM (SELECT * FROM "{o}"."Account") AS d',
    ),
    Hostile(
        "parameter",
        "select id from account where id = ?",
        "a parameter placeholder is not allowed",
        'SELECT "Id" FROM "{s}"."Account" WHERE "Id" = ?',
        'SELECT "Id" FROM "{s}"."Account" WHERE "Id" = $1',
    ),
    Hostile(
        "advisory lock",
        "select pg_advisory_lock(1)",
        "Function 'pg_advisory_lock' not registered",
        "SELECT pg_advisory_lock(1)",
        "SELECT pg_advisory_lock(1)",
    ),
    Hostile(
        "notify",
        "select pg_notify('procrastinate_any_queue', 'x')",
        "Function 'pg_notify' not registered",
        "SELECT pg_notify('procrastinate_any_queue', 'x')",
        "SELECT pg_notify('procrastinate_any_queue', 'x')",
    ),
]
