"""The engine's own check of a translated Data Query statement, just before DuckDB runs it.

The translation (``dataquery/sql.py``) already refuses everything a Data Query may not do, on
sqlglot's reading of the query. This is a second, independent line of defence on the *engine*
SQL: DuckDB's own parser (``json_serialize_sql``) gives the statement tree, and
:func:`check_duckdb` refuses anything that is not exactly one ``SELECT`` (set operations and
``WITH`` included, recursion not), any table that is not in the tenant's schema or a CTE in
scope, any table function or ``DESCRIBE`` in ``FROM``, any function outside
:data:`DUCKDB_FUNCTIONS` (the DuckDB names the translation emits; file readers, ``getenv``,
``current_setting``, ``duckdb_*``, ``query`` ... are not among them) and any parameter.

DuckDB offers no per-connection safety net: ``enable_external_access``, ``allowed_directories``,
``lock_configuration`` and ``disabled_filesystems`` are database-wide (``SET SESSION`` refuses
them) and external access cannot be enabled again once disabled, which would stop AQuA's own
``COPY ... TO`` result files and the loaders. The shared database's settings are left alone.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Protocol

from aquarium.dataquery import errors

#: What a client reads when the guard refuses: plain words, never the engine's.
REFUSED = "the query reaches beyond the tenant's billing tables and was not run"

#: Functions (DuckDB's names, operators included) a translated statement may call: what the
#: translation writes for the functions of ``dataquery/portable.py``.
DUCKDB_FUNCTIONS = frozenset(
    (
        # operators
        *("+", "-", "*", "/", "//", "%", "^", "**", "||", "~~", "!~~", "~~*", "!~~*"),
        # aggregates and windows
        *("count", "count_star", "sum", "avg", "min", "max", "stddev", "stddev_pop"),
        *("stddev_samp", "variance", "var_pop", "var_samp", "count_if", "array_agg", "list"),
        *("bool_and", "bool_or", "row_number", "rank", "dense_rank", "percent_rank"),
        *("cume_dist", "ntile", "lag", "lead", "first_value", "last_value", "nth_value"),
        # conditionals and strings
        *("nullif", "greatest", "least", "coalesce", "lower", "upper", "length", "trim"),
        *("ltrim", "rtrim", "substring", "substr", "concat", "concat_ws", "replace", "strpos"),
        *("left", "right", "lpad", "rpad", "reverse", "split_part", "regexp_matches"),
        *("regexp_full_match", "regexp_replace", "regexp_extract_all", "array_to_string"),
        *("list_transform", "chr", "row", "upper", "lower"),
        # numbers
        *("abs", "round", "floor", "ceil", "ceiling", "sign", "mod", "power", "pow", "sqrt"),
        *("ln", "log", "log10", "log2", "exp", "trunc"),
        # dates and times
        *("current_date", "current_timestamp", "now", "get_current_timestamp", "today"),
        *("localtimestamp", "date_part", "date_trunc", "date_diff", "datediff", "last_day"),
        *("strftime", "strptime", "to_timestamp", "epoch", "timezone", "make_interval"),
        *("to_days", "to_hours", "to_minutes", "to_seconds", "to_months", "to_years"),
        *("to_weeks", "to_milliseconds", "to_microseconds", "try_strptime"),
    )
)
#: Kinds of expression node a translated statement may hold (a parameter, for one, is not).
EXPRESSION_CLASSES = frozenset(
    (
        *("CONSTANT", "COLUMN_REF", "FUNCTION", "WINDOW", "CAST", "OPERATOR", "COMPARISON"),
        *("CONJUNCTION", "CASE", "SUBQUERY", "STAR", "BETWEEN", "TYPE", "LAMBDA", "COLLATE"),
    )
)
#: Kinds of ``FROM`` item: a table, a join, a subquery, no table, ``VALUES``.
TABLE_REFS = frozenset(("BASE_TABLE", "JOIN", "SUBQUERY", "EMPTY", "EXPRESSION_LIST"))
#: Kinds of query: ``SELECT`` and set operations (a recursive CTE is not one).
QUERY_NODES = frozenset(("SELECT_NODE", "SET_OPERATION_NODE"))


class Cursor(Protocol):
    """What the guard needs of a DuckDB connection or cursor."""

    def execute(self, query: str, parameters: object = None) -> Cursor: ...

    def fetchone(self) -> tuple[object, ...] | None: ...


def check_duckdb(cursor: Cursor, sql: str, schema: str) -> None:
    """Refuse (:class:`errors.DataQueryRefused`) a statement that could reach beyond ``schema``'s
    tables, change a setting or touch anything outside the database; return when it cannot.

    ``cursor`` only parses (``json_serialize_sql``): nothing of ``sql`` runs here.
    """
    found = cursor.execute("SELECT json_serialize_sql(?)", [sql]).fetchone()
    try:
        tree = json.loads(str(found[0])) if found else {"error": True}
        _check_tree(tree, schema)
    except RecursionError:
        raise errors.DataQueryRefused(f"{REFUSED}: it is nested too deeply") from None


def _check_tree(tree: dict[str, object], schema: str) -> None:
    # Anything but SELECT (PRAGMA, ATTACH, COPY, SET, CALL...) cannot be serialised: an error.
    statements = tree.get("statements")
    if tree.get("error") or not isinstance(statements, list) or len(statements) != 1:
        raise errors.DataQueryRefused(f"{REFUSED}: only one SELECT statement may run")
    statement = statements[0]
    if statement.get("named_param_map"):
        raise errors.DataQueryRefused(f"{REFUSED}: parameters are not allowed")
    _Walk(schema.lower()).value(statement["node"], frozenset())


class _Walk:
    """One walk over DuckDB's statement tree, carrying the CTE names in scope."""

    def __init__(self, schema: str) -> None:
        self.schema = schema

    def value(self, value: object, ctes: frozenset[str]) -> None:
        if isinstance(value, list):
            for item in value:
                self.value(item, ctes)
        elif isinstance(value, dict):
            if "cte_map" in value:
                self.query(value, ctes)
            elif "class" in value:
                self.expression(value, ctes)
            elif "sample" in value:  # every FROM item has one, no expression does
                self.table_ref(value, ctes)
            else:
                self.children(value.values(), ctes)

    def children(self, values: Iterable[object], ctes: frozenset[str]) -> None:
        for child in values:
            self.value(child, ctes)

    def query(self, node: dict[str, object], ctes: frozenset[str]) -> None:
        if node.get("type") not in QUERY_NODES:
            raise errors.DataQueryRefused(f"{REFUSED}: recursive queries are not allowed")
        cte_map = node["cte_map"]
        entries = cte_map.get("map", []) if isinstance(cte_map, dict) else []
        names = [str(entry["key"]).lower() for entry in entries]
        for index, entry in enumerate(entries):
            # A CTE sees the CTEs before it, not itself (no recursion) nor those after it.
            self.value(entry["value"], ctes | frozenset(names[:index]))
        inner = ctes | frozenset(names)
        self.children((v for k, v in node.items() if k != "cte_map"), inner)

    def expression(self, node: dict[str, object], ctes: frozenset[str]) -> None:
        kind = node.get("class")
        if kind not in EXPRESSION_CLASSES:
            raise errors.DataQueryRefused(f"{REFUSED}: {str(kind).lower()} is not allowed")
        if kind in ("FUNCTION", "WINDOW"):
            name = str(node.get("function_name", ""))
            qualified = node.get("schema") or node.get("catalog")
            if qualified or name.lower() not in DUCKDB_FUNCTIONS:
                raise errors.DataQueryRefused(f"{REFUSED}: function '{name}' is not allowed")
        self.children(node.values(), ctes)

    def table_ref(self, node: dict[str, object], ctes: frozenset[str]) -> None:
        kind = node.get("type")
        if kind == "TABLE_FUNCTION":
            raise errors.DataQueryRefused(f"{REFUSED}: table functions are not allowed")
        if kind not in TABLE_REFS:  # SHOW / DESCRIBE / SUMMARIZE, PIVOT...
            raise errors.DataQueryRefused(f"{REFUSED}: only tables and subqueries may be read")
        if kind == "BASE_TABLE":
            schema = str(node.get("schema_name") or "").lower()
            table = str(node.get("table_name") or "").lower()
            own = schema == self.schema or (not schema and table in ctes)
            if node.get("catalog_name") or node.get("at_clause") or not own:
                raise errors.DataQueryRefused(f"{REFUSED}: table '{table}' is not the tenant's")
        self.children(node.values(), ctes)
