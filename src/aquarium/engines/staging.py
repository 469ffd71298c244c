"""A scratch DuckDB where ``aquarium load`` reads files, checks their values and types them.

A CSV file is read by DuckDB's ``read_csv`` as text, exactly as AQuA writes it (RFC 4180, a
header row; a null is an unquoted empty field, an empty text a quoted one, ``""``); a Parquet
file by ``read_parquet`` with its own types. Each file becomes one staged table whose columns
are ``c0..cN`` in file order, and whose ``rowid`` is the row's position after the header.

Checks and conversions are SQL over the staged table, one statement per file, never a Python
loop over rows. Text is turned into a field's type only when it is written the way AQuA writes
that type (:data:`TEXT_RULES`): a value that would merely cast (``1.5`` into an integer, rounded)
is refused, so that exporting the loaded data gives back the bytes that were loaded. An empty
text in a typed column is a null. Typed Parquet columns are cast (``TRY_CAST``); naive
timestamps are read as UTC.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
from sqlglot import exp

from aquarium.catalog import model, views
from aquarium.domain import errors
from aquarium.engines import base, ddl, duckdb_snapshot

_literal = duckdb_snapshot.sql_literal  # a string as a DuckDB literal (sqlglot escapes it)

#: DuckDB's memory budget for the staged files; past it DuckDB spills to its temporary directory.
STAGING_MEMORY_LIMIT = "1GB"
TEXT = "VARCHAR"


@dataclass(frozen=True)
class TextRule:
    """How AQuA writes a type as text: the whole value matches ``pattern`` (a regular
    expression); ``convert`` is the SQL that types it (``{v}`` the text); ``shown`` is how an
    error describes the expected form."""

    pattern: str
    convert: str
    shown: str


TEXT_RULES: dict[model.FieldType, TextRule] = {
    model.FieldType.INTEGER: TextRule(
        r"-?[0-9]{1,18}", "TRY_CAST({v} AS BIGINT)", "a whole number"
    ),
    model.FieldType.DECIMAL: TextRule(
        r"-?[0-9]{1,14}(\.[0-9]{1,4})?",
        "TRY_CAST({v} AS DECIMAL(18, 4))",
        "a number with at most 14 digits before the point and 4 after (77.86)",
    ),
    model.FieldType.BOOLEAN: TextRule(
        r"(?i)true|false", "lower({v}) = 'true'", "true or false (AQuA writes lower case)"
    ),
    model.FieldType.DATE: TextRule(
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}",
        "CAST(try_strptime({v}, '%Y-%m-%d') AS DATE)",
        "a date YYYY-MM-DD",
    ),
    model.FieldType.DATETIME: TextRule(
        r"[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}[+-][0-9]{4}",
        "try_strptime({v}, '%Y-%m-%dT%H:%M:%S%z')",
        "a datetime YYYY-MM-DDThh:mm:ss+hhmm (2026-01-31T09:30:00-0800)",
    ),
}


@dataclass(frozen=True)
class StagedColumn:
    """A staged column (``c<index>``) going into ``field``; ``source_type`` is DuckDB's type
    of the staged column (``VARCHAR`` for CSV)."""

    index: int
    field: model.Field
    source_type: str = TEXT


@dataclass(frozen=True)
class BadValue:
    """The first value of a file that does not parse: its row (1 = the first after the header),
    the column's position and the value as text."""

    row: int
    index: int
    value: str


def _staged(index: int) -> str:
    return f'"c{index}"'


def typed_sql(column: StagedColumn) -> tuple[str, str]:
    """SQL for the column's typed value and for "this value does not parse" (true/false)."""
    source = _staged(column.index)
    target = ddl.column_type(column.field.type, "duckdb").sql(dialect="duckdb")
    rule = TEXT_RULES.get(column.field.type)
    if checked_picklist(column.field):
        text = f"CAST({source} AS VARCHAR)" if column.source_type != TEXT else source
        options = ", ".join(_literal(option) for option in column.field.options)
        return text, f"({text} IS NOT NULL AND {text} NOT IN ({options}))"
    if column.source_type != TEXT:
        if column.field.type in (model.FieldType.TEXT, model.FieldType.PICKLIST):
            return f"CAST({source} AS VARCHAR)", "false"
        value = f"TRY_CAST({source} AS {target})"
        return value, f"({source} IS NOT NULL AND {value} IS NULL)"
    if rule is None:  # text and picklists: as written
        return source, "false"
    text = f"NULLIF({source}, '')"
    matches = f"regexp_full_match({text}, {_literal(rule.pattern)})"
    converted = rule.convert.format(v=text)
    ok = f"({matches} AND {converted} IS NOT NULL)"
    return f"CASE WHEN {ok} THEN {converted} END", f"({text} IS NOT NULL AND NOT {ok})"


def checked_picklist(field: model.Field) -> bool:
    """Whether a loaded value of ``field`` must be one of its options, as written: a custom
    picklist (its values are the tenant's own, declared with it). The catalogue's own picklists
    take any text: a cloned tenant may use values the catalogue does not list (a currency)."""
    return field.type is model.FieldType.PICKLIST and field.name.endswith(views.SUFFIX)


#: The custom-field type an unknown column gets, from DuckDB's type of a typed Parquet column.
def custom_type_of(source_type: str) -> str:
    """``text``, ``number``, ``boolean``, ``date`` or ``datetime`` for a DuckDB type name."""
    upper = source_type.upper()
    if upper == "BOOLEAN":
        return "boolean"
    if upper == "DATE":
        return "date"
    if upper.startswith("TIMESTAMP"):
        return "datetime"
    numeric = ("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "DOUBLE", "FLOAT")
    if upper.startswith(("DECIMAL", "U")) or upper in numeric:
        return "number"
    return "text"


#: The custom-field types tried, in order, on a text column: the first every value fits wins.
_GUESSES: tuple[tuple[str, model.FieldType], ...] = (
    ("boolean", model.FieldType.BOOLEAN),
    ("date", model.FieldType.DATE),
    ("datetime", model.FieldType.DATETIME),
    ("number", model.FieldType.DECIMAL),
)


@contextlib.contextmanager
def _readable(path: Path, kind: str) -> Iterator[None]:
    """DuckDB's refusal to read a file as a :class:`errors.LoadError` naming the file."""
    try:
        yield
    except duckdb.Error as exc:
        raise errors.LoadError(
            f"{path.name}: cannot be read as {kind}: {base.first_line(exc)}"
        ) from None


CSV_KIND = "CSV as AQuA writes it"
PARQUET_KIND = "Parquet"


class Staging:
    """The scratch database of one load (close it when done)."""

    def __init__(self, temp_directory: Path | None = None) -> None:
        config: dict[str, str | bool | int | float | list[str]] = {
            "memory_limit": STAGING_MEMORY_LIMIT
        }
        if temp_directory is not None:
            config["temp_directory"] = str(temp_directory)
        self.con = duckdb.connect(config=config)
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute("SET enable_progress_bar = false")

    def close(self) -> None:
        self.con.close()

    def read_csv(self, table: str, path: Path, width: int) -> int:
        """Stage the CSV at ``path`` (gzip-compressed when it ends in ``.gz``) as text; its
        rows. ``width`` is the number of columns of its header. :class:`duckdb.Error` when it is
        not CSV as AQuA writes it (a row of another width, a quote left open)."""
        columns = "{" + ", ".join(f"'c{i}': 'VARCHAR'" for i in range(width)) + "}"
        read = (
            f"read_csv({_literal(str(path))}, header = true, auto_detect = false, "
            f"delim = ',', quote = '\"', escape = '\"', allow_quoted_nulls = false, "
            f"strict_mode = true, columns = {columns})"
        )
        with _readable(path, CSV_KIND):
            return self._create(table, f"SELECT * FROM {read}")

    def parquet_columns(self, path: Path) -> list[tuple[str, str]]:
        """``(name, DuckDB type)`` of each column of the Parquet file at ``path``."""
        with _readable(path, PARQUET_KIND):
            described = self.con.execute(
                f"DESCRIBE SELECT * FROM read_parquet({_literal(str(path))})"
            ).fetchall()
        return [(str(row[0]), str(row[1])) for row in described]

    def read_parquet(self, table: str, path: Path, names: Sequence[str]) -> int:
        """Stage the Parquet file at ``path`` (its columns ``names`` renamed ``c0..``); rows."""
        picked = ", ".join(
            f"{exp.to_identifier(n, quoted=True).sql(dialect='duckdb')} AS {_staged(i)}"
            for i, n in enumerate(names)
        )
        with _readable(path, PARQUET_KIND):
            return self._create(
                table,
                f"SELECT {picked} FROM read_parquet({_literal(str(path))})",
            )

    def _create(self, table: str, select: str) -> int:
        self.con.execute(f'CREATE OR REPLACE TABLE "{table}" AS {select}')
        found = self.con.execute(f'SELECT count(*) FROM "{table}"').fetchone()
        return int(found[0]) if found else 0

    def first_bad_value(self, table: str, columns: Sequence[StagedColumn]) -> BadValue | None:
        """The first value (by row, then column) that does not parse; ``None`` when all do."""
        checks = [(column, typed_sql(column)[1]) for column in columns]
        checks = [(column, bad) for column, bad in checks if bad != "false"]
        if not checks:
            return None
        flags = ", ".join(bad for _, bad in checks)
        values = ", ".join(f"CAST({_staged(c.index)} AS VARCHAR)" for c, _ in checks)
        found = self.con.execute(
            f'SELECT rowid, {flags}, {values} FROM "{table}" '
            f"WHERE {' OR '.join(bad for _, bad in checks)} ORDER BY rowid LIMIT 1"
        ).fetchone()
        if found is None:
            return None
        first = next(i for i in range(len(checks)) if found[1 + i])
        return BadValue(
            int(found[0]) + 1, checks[first][0].index, str(found[1 + len(checks) + first])
        )

    def id_problem(self, table: str, index: int) -> str | None:
        """Why the Id column ``c<index>`` cannot be loaded (a row without one, an Id twice);
        ``None`` when every row has its own."""
        column = _staged(index)
        empty = f"NULLIF(CAST({column} AS VARCHAR), '') IS NULL"
        missing = self.con.execute(f'SELECT min(rowid) FROM "{table}" WHERE {empty}').fetchone()
        if missing is not None and missing[0] is not None:
            return f"row {int(missing[0]) + 1} has no Id (it is required)"
        twice = self.con.execute(
            f'SELECT {column} FROM "{table}" GROUP BY {column} HAVING count(*) > 1 LIMIT 1'
        ).fetchone()
        if twice is not None:
            return f"Id {twice[0]!s} is in more than one row"
        return None

    def guess_type(self, table: str, index: int, source_type: str) -> str:
        """The custom-field type for an unknown column: from a typed column's type, else the
        first of boolean, date, datetime, number that every value is written as; else text."""
        if source_type != TEXT:
            return custom_type_of(source_type)
        probes = [
            typed_sql(StagedColumn(index, model.Field("x", "x", field_type)))[1]
            for _, field_type in _GUESSES
        ]
        column = _staged(index)
        found = self.con.execute(
            "SELECT count(*), "
            + ", ".join(f"bool_or({bad})" for bad in probes)
            + f" FROM \"{table}\" WHERE NULLIF({column}, '') IS NOT NULL"
        ).fetchone()
        if found is None or not found[0]:
            return "text"
        return next(
            (name for (name, _), bad in zip(_GUESSES, found[1:], strict=True) if not bad), "text"
        )

    def typed(self, table: str, columns: Sequence[StagedColumn]) -> pa.Table:
        """The staged rows typed as the fields, columns named as the fields, in row order."""
        projections = ", ".join(
            f"{typed_sql(c)[0]} AS {exp.to_identifier(c.field.name, quoted=True).sql('duckdb')}"
            for c in columns
        )
        result: pa.Table = self.con.sql(
            f'SELECT {projections} FROM "{table}" ORDER BY rowid'
        ).to_arrow_table()
        return result

    def drop(self, table: str) -> None:
        self.con.execute(f'DROP TABLE IF EXISTS "{table}"')
