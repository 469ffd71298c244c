"""Behaviour pinned by data files (STYLE.md item 5): adding a case is adding lines.

* ``valid.zoql``: one statement per line; each must translate for DuckDB and PostgreSQL.
* ``invalid.zoql``: a statement line, then ``! line:column reason`` (``!90020 ...`` for another
  code, ``! - reason`` for an error without a position).
* ``pairs.<engine>.sql``: ``-- zoql: <statement>`` (or ``-- zoql[labels,utc,zoql]: ...``), then the
  exact SQL that the translator emits.

In every file a statement starting with ``zoql: `` is checked as type ``'zoql'``; elsewhere it is
Export ZOQL. The two characters ``\\n`` in a statement stand for a newline, so a one-line case
can exercise line numbers.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from aquarium.catalog import model
from aquarium.domain import errors
from aquarium.zoql import ast, check, formatting, lower, plan, translate

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "zoql"
CONTEXT = check.Context(
    catalog=model.default(),
    time_zone="America/Los_Angeles",
    now=dt.datetime(2024, 3, 31, 12, 0, tzinfo=dt.UTC),
)
SCHEMA = "tenant_demo"
ZOQL_PREFIX = "zoql: "
EXPECTATION_RE = re.compile(r"!(?P<code>\d*) (?:(?P<line>\d+):(?P<column>\d+)|-) (?P<reason>.+)")
PAIR_HEADER_RE = re.compile(r"-- zoql(?:\[(?P<flags>[a-z,]*)\])?: (?P<query>.*)")
PAIR_FLAGS = frozenset({"labels", "utc", "zoql"})
LABEL_HEADER_RE = re.compile(r"[^:]+: \S.*")


@dataclass(frozen=True)
class Statement:
    """One query of a fixture file, with where it was written."""

    file: str
    lineno: int
    text: str
    dialect: ast.Dialect

    @property
    def id(self) -> str:
        return f"{self.file}:{self.lineno}"


def _statement(file: str, lineno: int, line: str) -> Statement:
    dialect = ast.Dialect.EXPORT
    if line.startswith(ZOQL_PREFIX):
        line, dialect = line[len(ZOQL_PREFIX) :], ast.Dialect.ZOQL
    return Statement(file, lineno, line.replace("\\n", "\n"), dialect)


def _is_comment(line: str) -> bool:
    return not line.strip() or line.startswith("--")


def _lines(name: str) -> list[tuple[int, str]]:
    text = (FIXTURES / name).read_text("utf-8")
    return list(enumerate(text.split("\n"), start=1))


def _translate(
    statement: Statement,
    dialect: str = formatting.DUCKDB,
    *,
    use_labels: bool = False,
    utc: bool = False,
) -> lower.LoweredQuery:
    options = lower.Options(dialect=dialect, schema=SCHEMA, use_labels=use_labels, utc=utc)
    return translate.translate(
        statement.text, context=CONTEXT, options=options, dialect=statement.dialect
    )


# -- valid.zoql -------------------------------------------------------------------------------
def _valid() -> list[Statement]:
    return [
        _statement("valid.zoql", lineno, line)
        for lineno, line in _lines("valid.zoql")
        if not _is_comment(line)
    ]


VALID = _valid()


def test_valid_file_has_enough_cases() -> None:
    assert len(VALID) >= 170


@pytest.mark.parametrize("statement", VALID, ids=lambda s: s.id)
@pytest.mark.parametrize("engine", formatting.DIALECTS)
def test_valid_translates(statement: Statement, engine: str) -> None:
    lowered = _translate(statement, engine)
    assert lowered.sql.startswith("SELECT ")
    assert len(lowered.headers) >= 1


@pytest.mark.parametrize("statement", VALID, ids=lambda s: s.id)
def test_valid_headers_are_non_empty(statement: Statement) -> None:
    api = _translate(statement).headers
    labels = _translate(statement, use_labels=True).headers
    assert len(api) == len(labels)
    assert all(header.strip() for header in api)
    assert all(header.strip() for header in labels)


@pytest.mark.parametrize("statement", VALID, ids=lambda s: s.id)
def test_valid_label_headers_name_object_and_field(statement: Statement) -> None:
    """Label headers of plain fields read 'Object Label: Field Label' (reference §7.1)."""
    query_plan = translate.plan_query(statement.text, statement.dialect, CONTEXT)
    labels = _translate(statement, use_labels=True).headers
    for column, header in zip(query_plan.columns, labels, strict=True):
        if column.api_header != column.expr.api_name:
            assert header == column.api_header  # an alias names the column in both styles
        elif isinstance(column.expr, plan.FieldRef):
            assert LABEL_HEADER_RE.fullmatch(header), header
        elif column.expr.api_name != "count(*)":
            # aggregates and date functions wrap a label: 'sum(Account: Account Balance)'
            assert LABEL_HEADER_RE.fullmatch(header.split("(", 1)[1]), header


# -- invalid.zoql -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Refusal:
    statement: Statement
    code: str
    position: tuple[int, int] | None
    reason: str


def _invalid() -> list[Refusal]:
    cases: list[Refusal] = []
    pending: Statement | None = None
    for lineno, line in _lines("invalid.zoql"):
        if _is_comment(line):
            continue
        if line.startswith("!"):
            match = EXPECTATION_RE.fullmatch(line)
            assert match is not None, f"invalid.zoql:{lineno}: malformed expectation {line!r}"
            assert pending is not None, f"invalid.zoql:{lineno}: expectation without a query"
            position = (int(match["line"]), int(match["column"])) if match["line"] else None
            code = match["code"] or errors.ZoqlError.code
            cases.append(Refusal(pending, code, position, match["reason"]))
            pending = None
            continue
        assert pending is None, f"invalid.zoql:{pending.lineno}: query without an expectation"
        pending = _statement("invalid.zoql", lineno, line)
    assert pending is None, f"invalid.zoql:{pending.lineno}: query without an expectation"
    return cases


INVALID = _invalid()


def test_invalid_file_has_enough_cases() -> None:
    assert len(INVALID) >= 65


@pytest.mark.parametrize("case", INVALID, ids=lambda c: c.statement.id)
@pytest.mark.parametrize("engine", formatting.DIALECTS)
def test_invalid_is_refused(case: Refusal, engine: str) -> None:
    with pytest.raises(errors.ZoqlError) as caught:
        _translate(case.statement, engine)
    error = caught.value
    assert (error.code, error.reason) == (case.code, case.reason)
    if case.position is None:
        assert error.position is None
    else:
        assert error.position is not None
        assert (error.position.line, error.position.column) == case.position


@pytest.mark.parametrize("case", INVALID, ids=lambda c: c.statement.id)
def test_invalid_message_is_zuoras_then_ours(case: Refusal) -> None:
    with pytest.raises(errors.ZoqlError) as caught:
        translate.plan_query(case.statement.text, case.statement.dialect, CONTEXT)
    error = caught.value
    described = error.describe()
    assert described.startswith(error.message + " ")
    assert described.endswith(case.reason)
    if error.position is not None:
        assert error.position.excerpt.endswith("^")


# -- pairs.<engine>.sql -----------------------------------------------------------------------
@dataclass(frozen=True)
class Pair:
    statement: Statement
    engine: str
    flags: frozenset[str]
    sql: str


def _pairs(engine: str) -> list[Pair]:
    name = f"pairs.{engine}.sql"
    pairs: list[Pair] = []
    lines = _lines(name)
    for index, (lineno, line) in enumerate(lines):
        match = PAIR_HEADER_RE.fullmatch(line)
        if match is None:
            continue
        flags = frozenset(filter(None, (match["flags"] or "").split(",")))
        assert flags <= PAIR_FLAGS, f"{name}:{lineno}: unknown flags {sorted(flags - PAIR_FLAGS)}"
        assert index + 1 < len(lines), f"{name}:{lineno}: no SQL after the query"
        sql = lines[index + 1][1]
        assert sql and not sql.startswith("--"), f"{name}:{lineno}: no SQL after the query"
        query = match["query"]
        statement = _statement(name, lineno, ZOQL_PREFIX + query if "zoql" in flags else query)
        pairs.append(Pair(statement, engine, flags, sql))
    return pairs


PAIRS = [pair for engine in formatting.DIALECTS for pair in _pairs(engine)]


@pytest.mark.parametrize("engine", formatting.DIALECTS)
def test_pairs_file_has_enough_cases(engine: str) -> None:
    assert len([pair for pair in PAIRS if pair.engine == engine]) >= 25


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: p.statement.id)
def test_pair_sql(pair: Pair) -> None:
    lowered = _translate(
        pair.statement, pair.engine, use_labels="labels" in pair.flags, utc="utc" in pair.flags
    )
    assert lowered.sql == pair.sql


@pytest.mark.parametrize("pair", PAIRS, ids=lambda p: p.statement.id)
def test_pair_session_time_zone(pair: Pair) -> None:
    lowered = _translate(
        pair.statement, pair.engine, use_labels="labels" in pair.flags, utc="utc" in pair.flags
    )
    expected = "UTC" if "utc" in pair.flags else CONTEXT.time_zone
    assert lowered.session_time_zone == expected
    assert lowered.header_in_sql is (pair.engine == formatting.DUCKDB)


def test_fixture_queries_are_shared_by_both_pair_files() -> None:
    """Both engines pin the same statements, so a case cannot silently cover one engine only."""
    by_engine = {
        engine: [(p.flags, p.statement.text) for p in PAIRS if p.engine == engine]
        for engine in formatting.DIALECTS
    }
    assert by_engine[formatting.DUCKDB] == by_engine[formatting.POSTGRES]
