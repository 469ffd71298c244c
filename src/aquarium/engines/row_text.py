"""How Data Query results are rendered, as SQL wrapped around the query, per engine.

The engines' own writers produce the bytes (DuckDB ``COPY ... TO`` as JSON or CSV, PostgreSQL
``COPY ... TO STDOUT``); what they write is made identical by a projection over the query that
turns each result column into the text Zuora's files hold (dataquery.md 7, 8.7, 12.10/12.11):

==================  ==========================================================================
column type         JSON Lines / delimited text
==================  ==========================================================================
integer             the number: ``15``
decimal             trailing fractional zeros dropped, one digit kept after the point:
                    ``230.0``, ``345.4``, ``395.63``; a scale-0 decimal is an integer (``15``).
                    Delimited text is exact at any size; JSON holds the double (what Zuora's
                    ``230.0`` is, and what JSON readers keep): exact up to 15 significant
                    digits, the nearest double beyond
double / real       the shortest round-trip text, ``2.0`` for a whole number; NaN and the
                    infinities are JSON ``null`` and ``NaN`` / ``Infinity`` / ``-Infinity``
                    in delimited text. Outside 0.0001 to 10^15 the notation (exponent or
                    not) is the engine's own
boolean             ``true`` / ``false``
date                ``2018-05-16``
timestamp with      ``2018-06-14T11:40:51-07:00`` in the session time zone; ``.123`` milliseconds
time zone           only when they are not zero (microseconds are cut, not rounded); an offset
                    with seconds (local mean time before 1900) loses them
timestamp           the same without the offset
arrays, structs,    their JSON (nested values as the engine writes them)
maps, json
anything else       the engine's text for it (intervals, times, uuids, binary)
null                JSON ``null``; an empty field (an empty string is ``""``)
==================  ==========================================================================

Control characters in JSON strings are ``\\u00XX`` escapes with upper-case hex on both engines.
Repeated labels are made unique (:func:`unique_labels`).

DuckDB formats a ``TIMESTAMPTZ`` through ICU, which is slow, and its ``%z`` writes ``-07`` where
Zuora writes ``-07:00``: the value is converted to local time once (an inner projection), the
offset is the difference of the two, and each offset the zone uses is a ``CASE`` branch whose
``strftime`` format holds the offset as text. An offset not listed (a zone's local mean time
before 1900) takes a slower branch that builds the same text.
"""

from __future__ import annotations

import datetime as dt
import enum
import functools
import re
import zoneinfo
from collections.abc import Sequence
from dataclasses import dataclass

from sqlglot import exp

from aquarium.engines import base


class Kind(enum.Enum):
    """What a result column is, for rendering."""

    TEXT = "text"
    INTEGER = "integer"
    DECIMAL = "decimal"
    FLOAT = "float"
    BOOLEAN = "boolean"
    DATE = "date"
    TIMESTAMPTZ = "timestamptz"
    TIMESTAMP = "timestamp"
    NESTED = "nested"
    OTHER = "other"


@dataclass(frozen=True)
class Column:
    """One result column: its label (the file's key / header) and how it renders.
    ``scale`` and ``precision`` are a DuckDB decimal's declared ones (PostgreSQL's vary by
    value)."""

    label: str
    kind: Kind
    scale: int = 0
    precision: int = 0


#: Significant digits a double holds exactly: a decimal of at most this many digits prints
#: the same through a double (its shortest round-trip text), which DuckDB writes fastest.
DOUBLE_DIGITS = 15
#: The widest decimal DuckDB holds in 64 bits, and the largest scale rendered by narrowing
#: casts (below): 3M values of a DECIMAL(18,4), 145 ms against the double's 268 ms; casts of
#: a 128-bit DECIMAL(38,4) cost 1,247 ms, so a wide value is narrowed to 64 bits first.
NARROW_PRECISION = 18
NARROW_MAX_SCALE = 4
#: Trailing zeros of a decimal's text, keeping one digit after the point.
TRAILING_ZEROS = r"(\.[0-9]*?[0-9])0+$"
CLOCK_FORMAT = "%Y-%m-%dT%H:%M:%S"
MILLIS_FORMAT = CLOCK_FORMAT + ".%g"
PG_CLOCK = 'YYYY-MM-DD"T"HH24:MI:SS.MS'


def quoted(name: str, dialect: str) -> str:
    """``name`` as a quoted identifier of ``dialect``."""
    return exp.to_identifier(name, quoted=True).sql(dialect=dialect)


def literal(text: str, dialect: str) -> str:
    """``text`` as a string literal of ``dialect``."""
    return exp.Literal.string(text).sql(dialect=dialect)


# DuckDB ------------------------------------------------------------------------------------

_DUCK_DECIMAL = re.compile(r"DECIMAL\((\d+),\s*(\d+)\)")
_DUCK_KINDS = {
    **dict.fromkeys(("VARCHAR", "CHAR", "BPCHAR", "TEXT", "STRING"), Kind.TEXT),
    **dict.fromkeys(
        (
            *("TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"),
            *("UTINYINT", "USMALLINT", "UINTEGER", "UBIGINT", "UHUGEINT"),
        ),
        Kind.INTEGER,
    ),
    **dict.fromkeys(("DOUBLE", "FLOAT", "REAL"), Kind.FLOAT),
    "BOOLEAN": Kind.BOOLEAN,
    "DATE": Kind.DATE,
    **dict.fromkeys(("TIMESTAMP WITH TIME ZONE", "TIMESTAMPTZ_NS"), Kind.TIMESTAMPTZ),
    **dict.fromkeys(("TIMESTAMP", "TIMESTAMP_NS", "TIMESTAMP_MS", "TIMESTAMP_S"), Kind.TIMESTAMP),
    "JSON": Kind.NESTED,
}


def duckdb_column(label: str, type_text: str) -> Column:
    """A column as ``DESCRIBE`` gives it (name, type text)."""
    decimal = _DUCK_DECIMAL.fullmatch(type_text)
    if decimal:
        precision, scale = int(decimal.group(1)), int(decimal.group(2))
        return Column(label, Kind.DECIMAL, scale, precision)
    if type_text.endswith("]") or type_text.startswith(("STRUCT(", "MAP(", "UNION(")):
        return Column(label, Kind.NESTED)
    return Column(label, _DUCK_KINDS.get(type_text, Kind.OTHER))


@functools.lru_cache(maxsize=64)
def zone_offsets(time_zone: str) -> tuple[int, ...]:
    """The whole-minute UTC offsets (seconds) ``time_zone`` used from 1900 to 2100, sampled
    twice a month: each gets a fast ``CASE`` branch. A missed one still renders right, slower.
    An unknown zone has none (the engine refuses the zone itself)."""
    try:
        zone = zoneinfo.ZoneInfo(time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return ()
    found: set[int] = set()
    for year in range(1900, 2101):
        for month in range(1, 13):
            for day in (1, 15):
                offset = dt.datetime(year, month, day, 12, tzinfo=zone).utcoffset()
                if offset is not None:
                    found.add(int(offset.total_seconds()))
    return tuple(sorted(offset for offset in found if offset % 60 == 0))


def offset_text(seconds: int) -> str:
    """``-07:00`` for -25,200 seconds."""
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return f"{'-' if seconds < 0 else '+'}{hours:02d}:{minutes:02d}"


def _duck_timestamptz(local: str, epoch_us: str, offsets: Sequence[int]) -> str:
    """The text of a TIMESTAMPTZ from its local time and its instant (inner projection)."""
    offset = f"(epoch_us({local}) - {epoch_us}) // 1000000"
    general_offset = (
        f"CASE WHEN {offset} < 0 THEN '-' ELSE '+' END "
        f"|| lpad(CAST(abs({offset}) // 3600 AS VARCHAR), 2, '0') || ':' "
        f"|| lpad(CAST(abs({offset}) % 3600 // 60 AS VARCHAR), 2, '0')"
    )

    def branches(clock: str) -> str:
        known = " ".join(
            f"WHEN {seconds} THEN strftime({local}, '{clock}{offset_text(seconds)}')"
            for seconds in offsets
        )
        general = f"strftime({local}, '{clock}') || {general_offset}"
        return f"CASE {offset} {known} ELSE {general} END" if known else general

    return (
        f"CASE WHEN millisecond({local}) % 1000 = 0 THEN {branches(CLOCK_FORMAT)} "
        f"ELSE {branches(MILLIS_FORMAT)} END"
    )


def _duck_decimal(value: str, scale: int, json: bool, precision: int = 38) -> str:
    if scale == 0:
        # An integer: DuckDB's JSON writer would give a scale-0 decimal a '.0'.
        return f"CAST({value} AS HUGEINT)" if json else value
    if json:
        # A double (what Zuora's 230.0 is, and what JSON readers hold): DuckDB's JSON writer
        # parses JSON-typed text as doubles anyway, so an exact longer number cannot be had.
        return f"CAST({value} AS DOUBLE)"
    exact = f"regexp_replace(CAST({value} AS VARCHAR), '{TRAILING_ZEROS}', '\\1')"
    if scale <= NARROW_MAX_SCALE:
        return _duck_narrowed_decimal(value, scale, precision, exact)
    if scale > DOUBLE_DIGITS:
        return exact
    fast = f"CAST(CAST({value} AS DOUBLE) AS VARCHAR)"
    # A double's text takes an exponent below 0.0001 (9e-05): such values take the exact text.
    within = f"abs({value}) < {10 ** (DOUBLE_DIGITS - scale)} AND abs({value}) >= 0.0001"
    return f"CASE WHEN {within} OR {value} = 0 THEN {fast} ELSE {exact} END"


def _duck_narrowed_decimal(value: str, scale: int, precision: int, exact: str) -> str:
    """A decimal's text with one to ``scale`` places, by exact arithmetic: the value cast to the
    fewest places (one at least) that still equal it; no text is scanned, no double made."""
    if scale == 1:
        return f"CAST({value} AS VARCHAR)"  # one place: already the text
    narrow = value
    if precision > NARROW_PRECISION:
        narrow = f"CAST({value} AS DECIMAL({NARROW_PRECISION}, {scale}))"
    branches = " ".join(
        f"WHEN CAST({narrow} AS DECIMAL({NARROW_PRECISION}, {places})) = {narrow} "
        f"THEN CAST(CAST({narrow} AS DECIMAL({NARROW_PRECISION}, {places})) AS VARCHAR)"
        for places in range(1, scale)
    )
    fitted = f"CASE {branches} ELSE CAST({narrow} AS VARCHAR) END"
    if precision <= NARROW_PRECISION:
        return fitted
    # Fewer places never overflow: DECIMAL(18, k) holds more whole digits than (18, scale).
    bound = 10 ** (NARROW_PRECISION - scale)
    return f"CASE WHEN abs({value}) < {bound} THEN {fitted} ELSE {exact} END"


def _duck_value(column: Column, name: str, json: bool) -> str:
    """The outer projection's expression for ``column`` (``name`` in the inner one)."""
    kind = column.kind
    if kind is Kind.DECIMAL:
        return _duck_decimal(name, column.scale, json, column.precision or 38)
    if kind is Kind.FLOAT:
        if json:
            return f"CASE WHEN isfinite({name}) THEN {name} END"
        return (
            f"CASE WHEN isnan({name}) THEN 'NaN' WHEN {name} = 'inf'::DOUBLE THEN 'Infinity' "
            f"WHEN {name} = '-inf'::DOUBLE THEN '-Infinity' ELSE CAST({name} AS VARCHAR) END"
        )
    if kind is Kind.TIMESTAMP:
        plain = f"CAST({name} AS TIMESTAMP)"
        return (
            f"CASE WHEN millisecond({plain}) % 1000 = 0 THEN strftime({plain}, '{CLOCK_FORMAT}') "
            f"ELSE strftime({plain}, '{MILLIS_FORMAT}') END"
        )
    if kind is Kind.NESTED and not json:
        return f"CAST(to_json({name}) AS VARCHAR)"
    if kind is Kind.OTHER:
        return f"CAST({name} AS VARCHAR)"
    return name


def duckdb_select(sql: str, columns: Sequence[Column], layout: base.RowLayout) -> str:
    """``sql`` wrapped so that its columns hold the rendered values, labelled as the result."""
    json = layout.format is base.RowFormat.JSON_LINES
    offsets = zone_offsets(layout.time_zone)
    positions = ", ".join(f"c{index}" for index in range(len(columns)))
    inner: list[str] = []
    outer: list[str] = []
    for index, column in enumerate(columns):
        label = quoted(column.label, "duckdb")
        if column.kind is Kind.TIMESTAMPTZ:
            instant = f"CAST(c{index} AS TIMESTAMPTZ)"
            inner += [
                f"CAST({instant} AS TIMESTAMP) AS l{index}",
                f"epoch_us({instant}) AS e{index}",
            ]
            outer.append(f"{_duck_timestamptz(f'l{index}', f'e{index}', offsets)} AS {label}")
        else:
            inner.append(f"c{index}")
            outer.append(f"{_duck_value(column, f'c{index}', json)} AS {label}")
    return (
        f"SELECT {', '.join(outer)} FROM (SELECT {', '.join(inner)} "
        f"FROM ({sql}) AS q({positions})) AS r"
    )


def unique_labels(labels: Sequence[str]) -> list[str]:
    """Labels made unique: a repeated ``x`` becomes ``x_1``, ``x_2`` ... (skipping labels
    already taken), as DuckDB names a result's repeated columns. A JSON object cannot hold a
    key twice, and both engines must write the same header."""
    seen: set[str] = set()
    unique: list[str] = []
    for label in labels:
        candidate, number = label, 0
        while candidate in seen:
            number += 1
            candidate = f"{label}_{number}"
        seen.add(candidate)
        unique.append(candidate)
    return unique


# PostgreSQL --------------------------------------------------------------------------------

PG_INTEGERS = {20, 21, 23, 26}  # int8, int2, int4, oid
PG_KINDS = {
    **dict.fromkeys((25, 1043, 1042, 18, 19), Kind.TEXT),  # text, varchar, bpchar, char, name
    **dict.fromkeys(PG_INTEGERS, Kind.INTEGER),
    1700: Kind.DECIMAL,
    **dict.fromkeys((700, 701), Kind.FLOAT),
    16: Kind.BOOLEAN,
    1082: Kind.DATE,
    1184: Kind.TIMESTAMPTZ,
    1114: Kind.TIMESTAMP,
    **dict.fromkeys((114, 3802), Kind.NESTED),  # json, jsonb
}
#: ``pg_type.typcategory`` of arrays and composite types: rendered as their JSON.
PG_NESTED_CATEGORIES = {"A", "C"}


def postgres_column(label: str, type_oid: int, category: str) -> Column:
    """A column as a cursor's description and ``pg_type`` give it."""
    if category in PG_NESTED_CATEGORIES:
        return Column(label, Kind.NESTED)
    return Column(label, PG_KINDS.get(type_oid, Kind.OTHER))


def _pg_float_text(name: str) -> str:
    return f"CASE WHEN {name}::text ~ '^-?[0-9]+$' THEN {name}::text || '.0' ELSE {name}::text END"


def _pg_float_json(name: str) -> str:
    return (
        f"CASE WHEN {name} IN ('NaN', 'Infinity', '-Infinity') THEN NULL "
        f"ELSE ({_pg_float_text(name)})::json END"
    )


def _pg_decimal(name: str, json: bool) -> str:
    """As DuckDB's: an integer when the value has no scale (``sum`` of integers), else a
    double in JSON, exact text with trailing zeros dropped in delimited files."""
    if json:
        return (
            f"CASE WHEN scale({name}) = 0 THEN {name}::text::json "
            f"ELSE {_pg_float_json(f'{name}::float8')} END"
        )
    return (
        f"CASE WHEN scale({name}) = 0 THEN {name}::text "
        f"WHEN {name} = trunc({name}) THEN trunc({name})::text || '.0' "
        f"ELSE trim_scale({name})::text END"
    )


def _pg_value(column: Column, name: str, json: bool) -> str:
    kind = column.kind
    if kind is Kind.DECIMAL:
        return _pg_decimal(name, json)
    if kind is Kind.FLOAT:
        return _pg_float_json(name) if json else _pg_float_text(name)
    if kind is Kind.TIMESTAMPTZ:
        return f"replace(to_char({name}, '{PG_CLOCK}TZH:TZM'), '.000', '')"
    if kind is Kind.TIMESTAMP:
        return f"replace(to_char({name}, '{PG_CLOCK}'), '.000', '')"
    if kind is Kind.NESTED:
        return f"to_json({name})" if json else f"to_json({name})::text"
    if (kind is Kind.BOOLEAN and not json) or kind is Kind.OTHER:
        return f"{name}::text"
    return name


def postgres_select(sql: str, columns: Sequence[Column], layout: base.RowLayout) -> str:
    """``sql`` wrapped so that it yields the rendered rows: one JSON text per row for JSON
    Lines (``row_to_json``), else the rendered columns."""
    json = layout.format is base.RowFormat.JSON_LINES
    positions = ", ".join(f"c{index}" for index in range(len(columns)))
    values = ", ".join(
        f"{_pg_value(column, f'c{index}', json)} AS {quoted(column.label, 'postgres')}"
        for index, column in enumerate(columns)
    )
    select = f"SELECT {values} FROM ({sql}) AS q({positions})"
    return f"SELECT row_to_json(r) FROM ({select}) AS r" if json else select
