"""Tables, columns, functions and literals of Zuora's Data Query dialect, as data.

Tables are catalogue objects in lower case, columns fields in lower case (dataquery.md 8.4).
``SHOW TABLES``, ``SHOW FUNCTIONS`` and ``DESCRIBE`` are answered here from the catalogue (8.2),
with the documented unparameterised type names (8.3, decision 12.17).
"""

from __future__ import annotations

import re
from collections.abc import Callable

from sqlglot import exp

from aquarium.catalog import model
from aquarium.dataquery import errors, functions

SHOW_TABLES_COLUMNS = ("Table",)
DESCRIBE_COLUMNS = ("Column", "Type", "Extra", "Comment")
#: Type names shown by ``DESCRIBE`` (dataquery.md 8.3).
TYPE_NAMES: dict[model.FieldType, str] = {
    model.FieldType.TEXT: "varchar",
    model.FieldType.PICKLIST: "varchar",
    model.FieldType.DECIMAL: "decimal(18,6)",
    model.FieldType.INTEGER: "bigint",
    model.FieldType.BOOLEAN: "boolean",
    model.FieldType.DATE: "date",
    model.FieldType.DATETIME: "timestamp with time zone",
}

_LIKE = r"(?:\s+like\s+'(?P<like>(?:[^']|'')*)')?"
_SHOW_TABLES = re.compile(
    r"\s*show\s+tables(?:\s+(?:from|in)\s+(?P<schema>[A-Za-z_][A-Za-z0-9_.]*))?"
    + _LIKE
    + r"\s*;?\s*",
    re.IGNORECASE,
)
_SHOW_FUNCTIONS = re.compile(r"\s*show\s+functions" + _LIKE + r"\s*;?\s*", re.IGNORECASE)
#: The schema ``SHOW TABLES FROM|IN`` may name: Zuora's errors call tables ``owl.data.<t>``
#: (dataquery.md 8.4), Trino's catalog ``owl``, schema ``data``.
DEFAULT_SCHEMAS = frozenset(("data", "owl.data"))
_DESCRIBE = re.compile(
    r"\s*(?:describe|desc|show\s+columns\s+(?:from|in))\s+(\"?)([A-Za-z_][A-Za-z0-9_]*)\1\s*;?\s*",
    re.IGNORECASE,
)

Rows = tuple[tuple[str, ...], ...]

#: How Zuora's errors name a table (``Table 'owl.data.acccount' does not exist``, reference
#: dataquery.md section 10): Trino's catalogue ``owl`` and schema ``data``.
QUALIFIER = "owl.data."


#: Objects whose Data Query table is not their lower-case name (dataquery.md 8.4: ``orders``;
#: ``order`` is an SQL keyword).
TABLE_NAMES: dict[str, str] = {"Order": "orders"}
_OBJECT_NAMES = {table: name for name, table in TABLE_NAMES.items()}


def table_name(obj: model.ObjectDef) -> str:
    """The Data Query table of an object: its name in lower case, save :data:`TABLE_NAMES`."""
    return TABLE_NAMES.get(obj.name, obj.name.lower())


def table_object(name: str, catalog: model.Catalog) -> model.ObjectDef | None:
    """The object a table name denotes (any letter case), or ``None``."""
    obj = catalog.object(_OBJECT_NAMES.get(name.lower(), name))
    return obj if obj is not None and table_name(obj) == name.lower() else None


def _like(pattern: str | None) -> Callable[[str], bool]:
    """A test of SQL ``LIKE`` (``%`` any characters, ``_`` one; case-sensitive, as Trino's)
    for the pattern of ``SHOW ... LIKE '<pattern>'``; ``None`` matches everything."""
    if pattern is None:
        return lambda name: True
    parts = {"%": ".*", "_": "."}
    regex = "".join(parts.get(char, re.escape(char)) for char in pattern.replace("''", "'"))
    compiled = re.compile(regex, re.DOTALL)
    return lambda name: compiled.fullmatch(name) is not None


def metadata(text: str, catalog: model.Catalog) -> tuple[tuple[str, ...], Rows] | None:
    """Columns and rows answering ``SHOW TABLES [FROM|IN data] [LIKE 'p']``, ``SHOW FUNCTIONS
    [LIKE 'p']`` or ``DESCRIBE t`` (``DESC t``, ``SHOW COLUMNS FROM|IN t``); ``None`` when
    ``text`` is none of them. An unknown table or schema is a :class:`DataQuerySqlError`."""
    shown = _SHOW_TABLES.fullmatch(text)
    if shown is not None:
        schema = shown.group("schema")
        if schema is not None and schema.lower() not in DEFAULT_SCHEMAS:
            raise errors.DataQuerySqlError(f"Schema '{schema.lower()}' does not exist")
        like = _like(shown.group("like"))
        names = sorted(table_name(obj) for obj in catalog)
        return SHOW_TABLES_COLUMNS, tuple((name,) for name in names if like(name))
    listed = _SHOW_FUNCTIONS.fullmatch(text)
    if listed is not None:
        like = _like(listed.group("like"))
        return functions.COLUMNS, tuple(row for row in functions.rows() if like(row[0]))
    match = _DESCRIBE.fullmatch(text)
    if match is None:
        return None
    obj = table_object(match.group(2), catalog)
    if obj is None:
        raise errors.DataQuerySqlError(
            f"Table '{QUALIFIER}{match.group(2).lower()}' does not exist"
        )
    rows = tuple((f.name.lower(), TYPE_NAMES[f.type], "", f.name) for f in obj.fields)
    return DESCRIBE_COLUMNS, rows


#: Nodes inside a SELECT that could reach beyond the tenant's tables or change the session.
REFUSED_NODES: dict[type[exp.Expr], str] = {
    exp.Command: "this statement",
    exp.Pragma: "PRAGMA",
    exp.Set: "SET",
    exp.Into: "SELECT INTO",
    exp.Lateral: "LATERAL",
    exp.Unnest: "UNNEST",
    exp.Placeholder: "a parameter placeholder",
    exp.Parameter: "a parameter",
    exp.Lock: "FOR UPDATE / FOR SHARE",
    exp.Describe: "DESCRIBE",  # (DESCRIBE t) as a derived table: DuckDB would run it
}


def lower_identifiers(tree: exp.Query) -> exp.Query:
    """``tree`` with every identifier lower case (Trino's names are case-insensitive, even
    quoted ones); changes ``tree`` in place and returns it."""
    for identifier in tree.find_all(exp.Identifier):
        identifier.set("this", str(identifier.this).lower())
    return tree


def is_timestamp_literal(cast: exp.Cast) -> bool:
    """Whether ``cast`` is a ``TIMESTAMP '...'`` literal (a cast of a string to a timestamp)."""
    return (
        isinstance(cast.this, exp.Literal)
        and cast.this.is_string
        and cast.to.this in (exp.DataType.Type.TIMESTAMP, exp.DataType.Type.TIMESTAMPTZ)
    )


_OFFSET = re.compile(
    r"\s*(?:(?P<sign>[+-])(?P<h>\d{1,2})(?::?(?P<m>\d{2}))?|(?P<z>Z|UTC))\s*$", re.I
)
_DATE_ONLY = re.compile(r"\d{4}-\d{2}-\d{2}")


def timestamptz_literal(text: str) -> exp.Cast:
    """``CAST('<text with ±HH:MM offset>' AS TIMESTAMPTZ)``: no offset means UTC, ``-7:00`` is
    ``-07:00``, ``Z`` / ``UTC`` are ``+00:00``."""
    match = _OFFSET.search(text)
    offset = "+00:00"
    local = text.strip()
    if match is not None and (match.group("z") or _DATE_ONLY.search(text[: match.start()])):
        if not match.group("z"):
            offset = f"{match.group('sign')}{int(match.group('h')):02d}:{match.group('m') or '00'}"
        local = text[: match.start()].strip()
    if _DATE_ONLY.fullmatch(local):
        local += " 00:00:00"
    return exp.cast(exp.Literal.string(f"{local}{offset}"), exp.DataType.Type.TIMESTAMPTZ)


def name_unnamed_columns(tree: exp.Query) -> None:
    """Name unnamed columns as Trino does, ``_col<position>`` from 0, in every SELECT (a CTE's
    or a derived table's columns too: ``select count(*) from account`` answers ``_col0``), so
    both engines and Zuora agree on the labels; named columns and table columns keep theirs."""
    for select in list(tree.find_all(exp.Select)):
        for position, expression in enumerate(list(select.expressions)):
            if isinstance(expression, exp.Alias | exp.Column | exp.Star):
                continue
            expression.replace(exp.alias_(expression.copy(), f"_col{position}", quoted=True))
