"""Zuora Data Query SQL (Trino) -> checked, rewritten SQL for DuckDB or PostgreSQL.

A pipeline of small pure stages (STYLE 4): ``metadata`` answers ``SHOW TABLES`` / ``DESCRIBE``
from the catalogue; otherwise ``parse`` -> ``check`` (statement kind, tables, functions, columns)
-> ``rewrite`` (tables, deleted rows, timestamp literals) -> ``generate``. Nothing runs here.

Naming (dataquery.md 8.4): tables are the catalogue objects in lower case, columns the fields in
lower case; both case-insensitive. Every table reference becomes a derived table over the quoted
billing table that renames each field to its lower-case name, so the rest of the query is left as
written (identifiers lower-cased and quoted).

Deleted rows (8.6): by default only live rows (``_DeletedDate`` null); ``read_deleted`` gives only
deleted rows; a query naming a ``deleted`` column sees both, with ``deleted`` a boolean column.

Time zones (8.7): the billing columns are ``TIMESTAMPTZ`` holding UTC instants. A ``TIMESTAMP``
literal with an offset (``'2018-06-02 18:17:07 -07:00'``, ``-7:00`` too) is that instant; one
without an offset is read as UTC (the tenant's preferred zone is not modelled yet: decision
12.11). Both become ``TIMESTAMPTZ`` literals with an explicit offset, so the engine's session
zone never matters for comparisons. Date functions of a ``TIMESTAMPTZ`` without ``AT TIME ZONE``
(``year(createddate)``, ``date(createddate)``) do use the session zone: the runner must set it
(the tenant's zone, or UTC) before running a query.
"""

from __future__ import annotations

import dataclasses
import enum
import itertools
import re
from typing import Literal

import sqlglot
from sqlglot import errors as sqlglot_errors
from sqlglot import exp
from sqlglot.optimizer import qualify

from aquarium.catalog import model
from aquarium.dataquery import errors, naming, portable, trino_types
from aquarium.engines import naming as engine_naming

Dialect = Literal["duckdb", "postgres"]
READ_DIALECT = "trino"
#: Name of the boolean column telling deleted rows apart (dataquery.md 8.6).
DELETED = "deleted"
#: Statements refused by their first word, before parsing (a clearer message than a syntax error).
_WRITE_STATEMENTS = frozenset(
    (
        *("ALTER", "ANALYZE", "ATTACH", "BEGIN", "CALL", "CHECKPOINT", "COMMIT", "COPY", "CREATE"),
        *("DEALLOCATE", "DELETE", "DETACH", "DROP", "EXECUTE", "EXPLAIN", "EXPORT", "GRANT"),
        *("IMPORT", "INSERT", "INSTALL", "LOAD", "MERGE", "PRAGMA", "PREPARE", "RESET", "REVOKE"),
        *("ROLLBACK", "SET", "SHOW", "SUMMARIZE", "TRUNCATE", "UPDATE", "USE", "VACUUM"),
    )
)
_FIRST_WORD = re.compile(r"\s*([A-Za-z]+)")


class Kind(enum.StrEnum):
    """What a translated statement is."""

    QUERY = "query"  #: SQL for the engine, in ``Translated.sql``
    METADATA = "metadata"  #: rows computed from the catalogue, in ``Translated.rows``


@dataclasses.dataclass(frozen=True)
class Translated:
    """The outcome of :func:`translate`: engine SQL, or a metadata answer (columns and rows)."""

    kind: Kind
    sql: str | None = None
    columns: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()


def translate(
    text: str,
    catalog: model.Catalog,
    *,
    schema: str,
    dialect: Dialect,
    read_deleted: bool = False,
) -> Translated:
    """Translate one Data Query statement; :class:`DataQuerySqlError` when it is refused.

    ``schema`` is the tenant's schema holding the billing tables (``tenant_<name>``).
    """
    answer = naming.metadata(text, catalog)
    if answer is not None:
        columns, rows = answer
        return Translated(Kind.METADATA, columns=columns, rows=rows)
    try:
        tree = parse(text)
        check(tree, catalog)
        check_dialect(tree, dialect)
        rewritten = rewrite(tree, catalog, schema=schema, read_deleted=read_deleted)
        return Translated(Kind.QUERY, sql=rewritten.sql(dialect=dialect, identify=True))
    except RecursionError:
        # sqlglot's parser and tree walks recurse: a deeply nested query ends here, refused.
        raise errors.DataQuerySqlError("the query is nested too deeply") from None


def parse(text: str) -> exp.Query:
    """The single read statement of ``text``; refuses syntax errors, several statements, writes."""
    statement = _FIRST_WORD.match(text)
    if statement is not None and statement.group(1).upper() in _WRITE_STATEMENTS:
        raise errors.DataQuerySqlError(
            f"{statement.group(1).upper()} statements are not allowed: "
            "only SELECT, SHOW TABLES and DESCRIBE",
            *_line_column(text, statement.start(1)),
        )
    try:
        trees = [tree for tree in sqlglot.parse(text, read=READ_DIALECT) if tree is not None]
    except sqlglot_errors.ParseError as error:
        raise _syntax_error(error) from None
    except sqlglot_errors.SqlglotError:
        # The tokenizer's errors: an unterminated string or quoted name, almost always.
        raise errors.DataQuerySqlError(
            "the statement cannot be parsed: check its quotes and brackets"
        ) from None
    if not trees:
        raise errors.DataQuerySqlError("the query is empty")
    if len(trees) > 1:
        raise errors.DataQuerySqlError(
            "only one statement per query is allowed", *_second_statement(text)
        )
    tree = trees[0]
    if not isinstance(tree, exp.Query):
        word = text.strip().split(None, 1)[0].upper() if text.strip() else ""
        raise errors.DataQuerySqlError(
            f"{word} statements are not allowed: only SELECT, SHOW TABLES and DESCRIBE"
        )
    return tree


def _second_statement(text: str) -> tuple[int | None, int | None]:
    """Where the second statement of ``text`` starts (the token after the first ``;``; comments
    are no tokens), or ``(None, None)``."""
    tokens = sqlglot.tokenize(text, read=READ_DIALECT)
    for token, following in itertools.pairwise(tokens):
        # By name: sqlglot's TokenType moved between modules across versions.
        if token.token_type.name == "SEMICOLON" and following.token_type.name != "SEMICOLON":
            return _line_column(text, following.start)
    return None, None


def _line_column(text: str, offset: int) -> tuple[int, int]:
    """1-based line and column of a 0-based character offset."""
    return text.count("\n", 0, offset) + 1, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _syntax_error(error: sqlglot_errors.ParseError) -> errors.DataQuerySqlError:
    detail = error.errors[0] if error.errors else {}
    line, end = detail.get("line"), detail.get("col")
    token = str(detail.get("highlight") or "")
    if line is None or end is None:
        return errors.DataQuerySqlError("the statement cannot be parsed: check its syntax")
    column = max(int(end) - len(token) + 1, 1)
    near = f" at '{token}'" if token else ""
    return errors.DataQuerySqlError(f"syntax error{near}", int(line), column)


def _position(node: exp.Expr) -> tuple[int | None, int | None]:
    """The 1-based line and column where ``node``'s text starts: its earliest token that
    sqlglot kept metadata for (``col`` is where a token ends); ``(None, None)`` when none."""
    found: list[tuple[int, int]] = []
    for candidate in node.walk():
        meta = candidate.meta
        if "line" in meta and "col" in meta:
            width = (
                int(meta["end"]) - int(meta["start"]) if "start" in meta and "end" in meta else 0
            )
            found.append((int(meta["line"]), max(int(meta["col"]) - width, 1)))
    return min(found) if found else (None, None)


def _refuse(message: str, node: exp.Expr) -> errors.DataQuerySqlError:
    line, column = _position(node)
    return errors.DataQuerySqlError(message, line, column)


def cte_reference(table: exp.Table) -> bool:
    """Whether ``table`` names a CTE in scope rather than a billing table: a CTE shadows a table
    in its ``WITH``'s query and in the CTEs after it, not in its own body (no recursion)."""
    name = table.name.lower()
    child: exp.Expr = table
    parent = table.parent
    while parent is not None:
        with_ = parent.args.get("with_") if isinstance(parent, exp.Query) else None
        if isinstance(with_, exp.With):
            visible = with_.expressions
            if child is with_:
                visible = []
            for index, cte in enumerate(with_.expressions):
                if any(node is table for node in cte.this.walk()):
                    visible = with_.expressions[:index]
            if any(cte.alias_or_name.lower() == name for cte in visible):
                return True
        child, parent = parent, parent.parent
    return False


def check(tree: exp.Query, catalog: model.Catalog) -> None:
    """Refuse what a Data Query may not do (:class:`DataQuerySqlError`)."""
    for with_ in tree.find_all(exp.With):
        if with_.args.get("recursive"):
            raise _refuse("recursive WITH queries are not supported", with_)
    for node in tree.walk():
        if isinstance(node, exp.Table):
            _check_table(node, catalog)
        elif isinstance(node, exp.Column) and (node.args.get("db") or node.args.get("catalog")):
            # ``schema.table.column`` (another tenant's table) or a field of a field: neither
            # exists in Data Query.
            name = ".".join(part.name.lower() for part in node.parts)
            raise _refuse(f"Column '{name}' cannot be resolved", node)
        elif isinstance(node, exp.Func) and not portable.allowed(node):
            raise _refuse(f"Function '{portable.function_name(node)}' not registered", node)
        elif isinstance(node, exp.Anonymous) and (message := portable.arity_error(node)):
            raise _refuse(message, node)
        elif type(node) in naming.REFUSED_NODES:
            raise _refuse(f"{naming.REFUSED_NODES[type(node)]} is not allowed in a query", node)
    _check_columns(tree, catalog)


def check_dialect(tree: exp.Query, dialect: Dialect) -> None:
    """Refuse what ``dialect`` cannot do as Trino does: PostgreSQL has no cast that gives null
    for a value it cannot convert (``try_cast``; sqlglot would write a plain ``CAST``, which
    fails the whole query instead)."""
    if dialect == "postgres":
        for node in tree.find_all(exp.TryCast):
            raise _refuse(
                "Function 'try_cast' is not supported on this server's PostgreSQL engine: "
                "use cast and filter out the values that do not convert",
                node,
            )


def _check_table(node: exp.Table, catalog: model.Catalog) -> None:
    if not isinstance(node.this, exp.Identifier):
        raise _refuse("table functions are not allowed: query the tenant's tables", node)
    if node.args.get("db") or node.args.get("catalog"):
        raise _refuse(
            f"Table '{'.'.join(part.name.lower() for part in node.parts)}' does not exist: "
            "name tables without a schema or catalogue",
            node,
        )
    name = node.name.lower()
    if not cte_reference(node) and naming.table_object(name, catalog) is None:
        raise _refuse(f"Table '{naming.QUALIFIER}{name}' does not exist", node)


_UNKNOWN_COLUMN = re.compile(r"(?:Unknown column: |Column ')\"?([^\"' ]+)")
_QUALIFIER = re.compile(r"for table: '([^']+)'")


def _check_columns(tree: exp.Query, catalog: model.Catalog) -> None:
    schema: dict[str, object] = {}
    for table in tree.find_all(exp.Table):
        obj = naming.table_object(table.name.lower(), catalog)
        if obj is not None and not cte_reference(table):
            schema[table.name.lower()] = {
                **{f.name.lower(): "VARCHAR" for f in obj.fields},
                DELETED: "BOOLEAN",
            }
    try:
        qualify.qualify(
            naming.lower_identifiers(tree.copy()),
            schema=schema,
            dialect=READ_DIALECT,
            validate_qualify_columns=True,
            quote_identifiers=False,
        )
    except sqlglot_errors.SqlglotError as error:
        raise _column_error(str(error), tree, schema) from None


def _column_error(
    text: str, tree: exp.Query, schema: dict[str, object]
) -> errors.DataQuerySqlError:
    """Trino's wording for sqlglot's column errors (dataquery.md 10), at the column's position."""
    match = _UNKNOWN_COLUMN.search(text)
    if match is None:
        return errors.DataQuerySqlError("a column reference cannot be resolved")
    name = match.group(1).lower()
    qualifier = _QUALIFIER.search(text)
    node = next((c for c in tree.find_all(exp.Column) if c.name.lower() == name), tree)
    if qualifier is not None:
        return _refuse(f"Column '{qualifier.group(1).lower()}.{name}' cannot be resolved", node)
    owners = [table for table, columns in schema.items() if name in columns]  # type: ignore[operator]
    if len(owners) > 1 and not (isinstance(node, exp.Column) and node.table):
        return _refuse(f"Column '{name}' is ambiguous", node)
    return _refuse(f"Column '{name}' cannot be resolved", node)


def rewrite(
    tree: exp.Query,
    catalog: model.Catalog,
    *,
    schema: str,
    read_deleted: bool,
) -> exp.Query:
    """The checked query over the billing tables of ``schema`` (a new tree)."""
    tree = naming.lower_identifiers(tree.copy())
    naming.name_unnamed_columns(tree)
    with_deleted = any(column.name == DELETED for column in tree.find_all(exp.Column))
    trino_types.keep_dates(tree, catalog, is_cte=cte_reference)
    for table in list(tree.find_all(exp.Table)):
        if cte_reference(table):
            continue
        obj = naming.table_object(table.name, catalog)
        assert obj is not None  # check() refused unknown tables
        # The table's own alias, column aliases included (``account a(x, y)``); else its name.
        alias = table.args.get("alias") or exp.TableAlias(this=exp.to_identifier(table.name))
        source = _live_view(obj, schema, with_deleted=with_deleted, read_deleted=read_deleted)
        table.replace(exp.Subquery(this=source, alias=alias))
    portable.rewrite(tree)
    for cast in list(tree.find_all(exp.Cast)):
        if naming.is_timestamp_literal(cast):
            cast.replace(naming.timestamptz_literal(cast.this.this))
    return tree


def _live_view(
    obj: model.ObjectDef, schema: str, *, with_deleted: bool, read_deleted: bool
) -> exp.Select:
    deleted_date = exp.column(engine_naming.DELETED_COLUMN, quoted=True)
    projection: list[exp.Expr] = [
        exp.alias_(exp.column(f.name, quoted=True), f.name.lower()) for f in obj.fields
    ]
    if with_deleted:
        projection.append(
            exp.alias_(exp.Not(this=exp.Is(this=deleted_date, expression=exp.Null())), DELETED)
        )
    source = exp.Table(
        this=exp.to_identifier(obj.name, quoted=True), db=exp.to_identifier(schema, quoted=True)
    )
    select = exp.select(*projection).from_(source)
    if with_deleted:
        return select
    is_null = exp.Is(this=deleted_date.copy(), expression=exp.Null())
    return select.where(exp.Not(this=is_null) if read_deleted else is_null)
