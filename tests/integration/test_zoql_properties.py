"""Properties of ZOQL over mutated statements and edge literals, through to DuckDB (issue 11:
"any input gives the documented error shape, never an exception").

Valid statements (``tests/strategies.py``) are mutated the way people and fuzzers get them wrong:
a token dropped, doubled, swapped or replaced by another of ZOQL's words or by a literal at an
edge (of the calendar, of numbers, of lengths). Through parse -> check -> lower each is either
SQL or a ZoqlError with Zuora's code and, when it has a position, a line and column inside the
text and a caret excerpt. What the translator accepts, DuckDB runs: written with the engine's
own CSV writer as a job writes it, it never fails with the engine's words ("Binder Error",
"Conversion Error", "BIGNUM" ...). Unit-level properties over arbitrary text and token soup:
``tests/unit/test_zoql_hostile.py``.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from aquarium.catalog import model
from aquarium.domain import errors
from aquarium.engines import base, duckdb_engine, naming
from aquarium.zoql import ast, check, lower, translate
from tests import strategies
from tests.integration.conftest import NOW, TIME_ZONE

CATALOG = model.default()
CONTEXT = check.Context(catalog=CATALOG, time_zone=TIME_ZONE, now=NOW)
TENANT = "acme"


def _settings(examples: int) -> settings:
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,  # nothing written into the working tree
        derandomize=True,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )


#: Literals at the edges: of the calendar, of numbers, of lengths, of what text holds.
EDGE_LITERALS = [
    "'9999-12-31'",
    "'9999-12-31T23:59:59-12:00'",
    "'0001-01-01T00:00:00+14:00'",
    "'0001-01-01'",
    "'0000-01-01'",
    "'10000-01-01'",
    "'2024-02-30'",
    "'2024-13-01T25:61:61Z'",
    "'today - 3000000 days'",
    "'now + 999999999 hours'",
    "'today + 10000 years'",
    "9" * 51,
    "-" + "9" * 51,
    "1." + "0" * 50 + "1",
    "0.000000000000000000000000000001",
    "9223372036854775808",
    "-9223372036854775809",
    "2147483648",
    "-0",
    "1e400",
    "''",
    "'" + "x" * 5_000 + "'",
    "'%'",
    "'_%\\'",
    "'it''s'",
    "'a\nb'",
    "'\U0001f600'",
    "'NaN'",
    "'Infinity'",
    "'true'",
    "null",
    "true",
]
WORDS = [
    "select", "from", "where", "and", "or", "not", "is", "null", "like", "in", "group", "by",
    "having", "order", "asc", "desc", "limit", "distinct", "as", "count", "sum", "avg", "min",
    "max", "*", ",", ".", "(", ")", "=", "!=", "<", "<=", ">", ">=", "'", '"', ";", "--",
    "Account", "Id", "Name", "Balance", "CreatedDate", "BillToContact", "InvoiceItem",
]  # fmt: skip
REPLACEMENTS = st.sampled_from(WORDS + EDGE_LITERALS)
#: Tokens of a statement: quoted strings and identifiers whole, numbers whole, else a character.
TOKEN = re.compile(r"'(?:[^']|'')*'|\"[^\"]*\"|-?\d+(?:\.\d+)?|\w+|\S")
LITERAL = re.compile(r"'|-?\d")


ANY_MUTATION = ("edge", "edge", "replace", "drop", "double", "swap")


@st.composite
def mutated_statements(draw: st.DrawFn, actions: tuple[str, ...] = ANY_MUTATION) -> str:
    """A valid statement with one to three mutations spliced into its text, of ``actions``."""
    text = draw(strategies.zoql_queries(CATALOG))
    for _ in range(draw(st.sampled_from([1, 1, 2, 3]))):
        spans = [m.span() for m in TOKEN.finditer(text)]
        literals = [span for span in spans if LITERAL.match(text, span[0])]
        action = draw(st.sampled_from(actions))
        if action == "edge" and literals:
            start, end = draw(st.sampled_from(literals))
            text = text[:start] + draw(st.sampled_from(EDGE_LITERALS)) + text[end:]
            continue
        start, end = draw(st.sampled_from(spans))
        token = text[start:end]
        if action == "drop":
            text = text[:start] + text[end:]
        elif action == "double":
            text = text[:start] + token + " " + token + text[end:]
        elif action == "swap":
            other_start, other_end = draw(st.sampled_from(spans))
            if other_start > end:
                other = text[other_start:other_end]
                text = text[:start] + other + text[end:other_start] + token + text[other_end:]
        else:
            text = text[:start] + draw(REPLACEMENTS) + text[end:]
    return text


@st.composite
def edge_conditions(draw: st.DrawFn) -> str:
    """``select <a field> from <object> where <field> <op> <edge literal>``: any field of any
    object (joined fields too), any comparison, any edge literal, whether or not it fits."""
    obj = draw(st.sampled_from(sorted(CATALOG, key=lambda o: o.name)))
    fields = [f.name for f in obj.export_fields]
    for relation in obj.related:
        fields += [f"{relation.name}.{f.name}" for f in CATALOG.require(relation.object).fields]
    field = draw(st.sampled_from(fields))
    op = draw(st.sampled_from(["=", "!=", "<", "<=", ">", ">=", "like"]))
    literal = draw(st.sampled_from(EDGE_LITERALS))
    negated = draw(st.sampled_from(["", "not "]))
    shape = draw(st.sampled_from(["where {}", "group by {f} having count(*) > 0 and {}"]))
    condition = f"{negated}{field} {op} {literal}"
    if "group" in shape:
        return f"select {field}, count(*) from {obj.name} " + shape.format(condition, f=field)
    return f"select {obj.export_fields[0].name}, {field} from {obj.name} where {condition}"


# -- the judgement ------------------------------------------------------------------------------


def translated_or_refused(text: str, dialect: ast.Dialect) -> lower.LoweredQuery | None:
    """The lowered query, or None when a ZoqlError refused ``text`` as documented: Zuora's code,
    a reason, and a position inside the text with a caret excerpt when it has one."""
    options = lower.Options(schema=naming.schema_name(TENANT))
    try:
        lowered = translate.translate(text, context=CONTEXT, options=options, dialect=dialect)
    except errors.ZoqlError as refused:
        event("refused")
        assert refused.code in {"90005", "90020"} and refused.reason, refused
        position = refused.position
        if position is not None:
            lines = text.split("\n")
            assert 1 <= position.line <= len(lines), (position, text)
            assert 1 <= position.column <= len(lines[position.line - 1]) + 1, (position, text)
            assert "^" in position.excerpt, position
            assert f"line {position.line}, column {position.column}" in refused.describe()
        return None
    event("translated")
    return lowered


def runs_on_duckdb(
    engine: duckdb_engine.DuckDbEngine, lowered: lower.LoweredQuery, path: Path
) -> None:
    """Writes the query's CSV as a job does; any exception (QueryFailed: engine words) fails."""
    with engine.snapshot(TENANT) as snapshot:
        count = snapshot.copy_csv(lowered, path, base.CsvOptions(null="NULL"))
    assert count >= 0
    assert path.read_bytes().count(b"\n") == count + 1


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("zoql-properties") / "out.csv"


@_settings(400)
@given(text=mutated_statements(), dialect=st.sampled_from(list(ast.Dialect)))
def test_a_mutated_statement_translates_or_is_refused_with_its_position(
    text: str, dialect: ast.Dialect
) -> None:
    translated_or_refused(text, dialect)


@_settings(300)
@given(text=mutated_statements(actions=("edge",)))
def test_a_statement_with_edge_literals_the_translator_accepts_runs_on_duckdb(
    duck: duckdb_engine.DuckDbEngine, out: Path, text: str
) -> None:
    lowered = translated_or_refused(text, ast.Dialect.EXPORT)
    if lowered is not None:
        runs_on_duckdb(duck, lowered, out)


@_settings(400)
@given(text=edge_conditions(), dialect=st.sampled_from(list(ast.Dialect)))
def test_edge_literals_on_any_field_run_on_duckdb_or_are_refused(
    duck: duckdb_engine.DuckDbEngine, out: Path, text: str, dialect: ast.Dialect
) -> None:
    lowered = translated_or_refused(text, dialect)
    if lowered is not None:
        runs_on_duckdb(duck, lowered, out)
