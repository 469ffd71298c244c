"""Hostile input: the translator answers with a ZoqlError or a result, never another exception.

Timings are deliberately not asserted (they vary with the machine); the size and nesting guards
are checked by their outcome.
"""

from __future__ import annotations

import datetime as dt
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aquarium.catalog import model
from aquarium.domain import errors
from aquarium.zoql import ast, check, formatting, lower, parse, plan, translate

CONTEXT = check.Context(
    catalog=model.default(),
    time_zone="America/Los_Angeles",
    now=dt.datetime(2024, 3, 31, 12, 0, tzinfo=dt.UTC),
)
HOSTILE = settings(
    max_examples=300,
    deadline=None,
    database=None,  # nothing written into the working tree
    suppress_health_check=[HealthCheck.too_slow],
)
DIALECTS = st.sampled_from(list(ast.Dialect))
PREFIX = "select Id from Account where "


def _plan_or_refuse(text: str, dialect: ast.Dialect = ast.Dialect.EXPORT) -> plan.Plan | None:
    """The plan, or None when a ZoqlError refused the text; any other exception fails the test."""
    try:
        return translate.plan_query(text, dialect, CONTEXT)
    except errors.ZoqlError as exc:
        assert exc.reason
        assert exc.code in {"90005", "90020"}
        return None


def _translate_or_refuse(text: str, dialect: ast.Dialect = ast.Dialect.EXPORT) -> list[str]:
    """SQL for both engines, or [] when refused with a ZoqlError."""
    sql = []
    for engine in formatting.DIALECTS:
        options = lower.Options(dialect=engine, schema="tenant_demo")
        try:
            sql.append(
                translate.translate(text, context=CONTEXT, options=options, dialect=dialect).sql
            )
        except errors.ZoqlError:
            return []
    return sql


def _refusal(text: str, dialect: ast.Dialect = ast.Dialect.EXPORT) -> errors.ZoqlError:
    with pytest.raises(errors.ZoqlError) as caught:
        translate.plan_query(text, dialect, CONTEXT)
    return caught.value


# -- generated input --------------------------------------------------------------------------
@HOSTILE
@given(text=st.text(), dialect=DIALECTS)
def test_arbitrary_text(text: str, dialect: ast.Dialect) -> None:
    _plan_or_refuse(text, dialect)


@HOSTILE
@given(data=st.binary(max_size=2000), dialect=DIALECTS)
def test_binary_junk(data: bytes, dialect: ast.Dialect) -> None:
    _plan_or_refuse(data.decode("utf-8", errors="replace"), dialect)


@HOSTILE
@given(text=st.text(st.characters(min_codepoint=32, max_codepoint=126), max_size=300))
def test_random_printable(text: str) -> None:
    _plan_or_refuse(text)


@HOSTILE
@given(text=st.text(), dialect=DIALECTS)
def test_arbitrary_text_after_a_valid_prefix(text: str, dialect: ast.Dialect) -> None:
    _plan_or_refuse(PREFIX + text, dialect)


@HOSTILE
@given(value=st.text(), dialect=DIALECTS)
def test_arbitrary_string_literal(value: str, dialect: ast.Dialect) -> None:
    """Any content between quotes, against text, number, boolean, date and datetime fields."""
    quoted = "'" + value.replace("'", "''") + "'"
    for field in ("Name", "Balance", "AutoPay", "LastInvoiceDate", "UpdatedDate"):
        _plan_or_refuse(f"{PREFIX}{field} = {quoted}", dialect)
        _plan_or_refuse(f"select Id from Account where {field} like {quoted}", dialect)


TOKENS = st.sampled_from(
    [
        "select",
        "from",
        "where",
        "group",
        "by",
        "having",
        "order",
        "limit",
        "as",
        "and",
        "or",
        "not",
        "is",
        "null",
        "like",
        "distinct",
        "asc",
        "desc",
        "true",
        "false",
        "*",
        ",",
        ".",
        "(",
        ")",
        ";",
        "=",
        "!=",
        "<>",
        "<",
        "<=",
        ">",
        ">=",
        "Account",
        "Invoice",
        "InvoiceItem",
        "Id",
        "Name",
        "Balance",
        "AutoPay",
        "UpdatedDate",
        "LastInvoiceDate",
        "BillToContact",
        "FirstName",
        "count",
        "sum",
        "avg",
        "min",
        "max",
        "date",
        "year",
        "month",
        "week",
        "weekofyear",
        "quarter",
        "0",
        "-1.5",
        "42",
        "'x'",
        "'2024-01-31'",
        "'2024-01-31T10:00:00Z'",
        "'today - 30 days'",
        "'now + 2 hours'",
        "'%a'",
        "'it''s'",
        '"Alias"',
    ]
)


@HOSTILE
@given(tokens=st.lists(TOKENS, max_size=40), dialect=DIALECTS)
def test_token_soup_translates_or_is_refused(tokens: list[str], dialect: ast.Dialect) -> None:
    """Statements built from ZOQL's own vocabulary reach the checker and the SQL generator."""
    _translate_or_refuse(" ".join(tokens), dialect)


@HOSTILE
@given(tokens=st.lists(TOKENS, max_size=30), dialect=DIALECTS)
def test_token_soup_after_a_valid_prefix(tokens: list[str], dialect: ast.Dialect) -> None:
    _translate_or_refuse("select Name, count(*) from Account " + " ".join(tokens), dialect)


# -- size -------------------------------------------------------------------------------------
def test_one_megabyte_is_refused_by_the_length_guard() -> None:
    text = PREFIX + "Name = '" + "a" * (1 << 20) + "'"
    error = _refusal(text)
    assert error.reason == (
        f"the statement is {len(text):,} characters long; the limit is 20,000 characters"
    )


def test_one_megabyte_of_parentheses_is_refused_by_the_length_guard() -> None:
    error = _refusal("(" * (1 << 20))
    assert "the limit is 20,000 characters" in error.reason


# -- nesting ----------------------------------------------------------------------------------
def test_ten_thousand_nested_parentheses_are_refused_at_the_65th() -> None:
    text = PREFIX + "(" * 10_000 + "Balance = 1" + ")" * 10_000
    assert len(text) <= parse.MAX_STATEMENT_CHARS + 10_000
    error = _refusal(text[: parse.MAX_STATEMENT_CHARS])
    assert error.reason == "parentheses nest more than 64 levels deep"
    assert error.position is not None
    assert (error.position.line, error.position.column) == (1, len(PREFIX) + 65)


def test_parentheses_inside_strings_do_not_count_as_nesting() -> None:
    text = PREFIX + "Name = '" + "(" * 1000 + "'"
    assert _plan_or_refuse(text) is not None


def test_sixty_four_nested_parentheses_translate() -> None:
    text = PREFIX + "(" * 64 + "Balance = 1" + ")" * 64
    assert len(_translate_or_refuse(text)) == 2


def test_sixty_four_nested_negated_parentheses_translate() -> None:
    text = PREFIX + "not (" * 64 + "Balance = 1" + ")" * 64
    assert len(_translate_or_refuse(text)) == 2


def test_five_thousand_chained_nots_are_refused() -> None:
    # 5,000 'not ' are 20,000 characters: the length guard refuses the statement first.
    error = _refusal(PREFIX + "not " * 5000 + "Balance = 1")
    assert "the limit is 20,000 characters" in error.reason


def test_one_thousand_chained_nots_plan_or_are_refused() -> None:
    _plan_or_refuse(PREFIX + "not " * 1000 + "Balance = 1")


def test_two_hundred_chained_nots_translate_or_are_refused() -> None:
    _translate_or_refuse(PREFIX + "not " * 200 + "Balance = 1")


def test_one_hundred_chained_nots_translate() -> None:
    assert len(_translate_or_refuse(PREFIX + "not " * 100 + "Balance = 1")) == 2


def test_recursion_limit_is_untouched() -> None:
    """The guards must not depend on a raised recursion limit (other code shares the process)."""
    before = sys.getrecursionlimit()
    _plan_or_refuse(PREFIX + "(" * 64 + "Balance = 1" + ")" * 64)
    assert sys.getrecursionlimit() == before


# -- condition count --------------------------------------------------------------------------
@pytest.mark.parametrize("connective", [" or ", " and "])
def test_one_thousand_conditions_translate(connective: str) -> None:
    text = PREFIX + connective.join(["Balance = 1"] * 1000)
    assert len(_translate_or_refuse(text)) == 2


def test_one_thousand_and_one_conditions_are_refused() -> None:
    conditions = ["Balance = 1"] * 1001
    text = PREFIX + " or ".join(conditions)
    error = _refusal(text)
    assert error.reason == "a where clause takes at most 1000 conditions"
    assert error.position is not None
    assert error.position.column == len(text) - len("Balance = 1") + 1


def test_one_thousand_and_one_mixed_conditions_are_refused() -> None:
    conditions = ["Name like 'a%'", "ParentId is null", "Balance > 0", "not AutoPay = true"] * 251
    text = PREFIX + " and ".join(conditions[:1001])
    assert len(text) <= parse.MAX_STATEMENT_CHARS
    assert _refusal(text).reason == "a where clause takes at most 1000 conditions"


def test_having_has_its_own_condition_limit() -> None:
    having = " or ".join(["count(*) > 1"] * 1001)
    text = "select Status, count(*) from Account group by Status having " + having
    assert _refusal(text).reason == "a having clause takes at most 1000 conditions"


def test_zoql_allows_two_hundred_conditions() -> None:
    text = PREFIX + " or ".join(["Balance = 1"] * 200)
    assert _plan_or_refuse(text, ast.Dialect.ZOQL) is not None
    text = PREFIX + " or ".join(["Balance = 1"] * 201)
    assert _refusal(text, ast.Dialect.ZOQL).reason == "a where clause takes at most 200 conditions"


# -- characters -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("select Id from Account\0", 23),
        ("select Id\0 from Account", 10),
        ("\0select Id from Account", 1),
    ],
)
def test_nul_outside_a_string_is_refused(text: str, column: int) -> None:
    error = _refusal(text)
    assert error.reason == "unexpected character '\\x00'"
    assert error.position is not None
    assert error.position.column == column


@pytest.mark.parametrize("dialect", list(ast.Dialect))
def test_nul_inside_a_string_does_not_crash(dialect: ast.Dialect) -> None:
    _translate_or_refuse(PREFIX + "Name = 'a\0b'", dialect)


@pytest.mark.parametrize(
    ("text", "column"),
    [
        ("select Ïd from Account", 8),
        ("select Id from Accóunt", 19),
        ("select 名前 from Account", 8),
        ("select Id from Account where Név = 'a'", 31),
        ("select Id as Ñame from Account", 14),
    ],
)
def test_unicode_identifiers_are_refused_where_they_start(text: str, column: int) -> None:
    error = _refusal(text)
    assert error.reason.startswith("unexpected character ")
    assert error.position is not None
    assert error.position.column == column


@pytest.mark.parametrize("value", ["😀", "party 🎉 time", "👩‍👩‍👧‍👦", "Zoë Ünlü", "名前", "\u202e"])
@pytest.mark.parametrize("dialect", list(ast.Dialect))
def test_unicode_in_strings_is_valid(value: str, dialect: ast.Dialect) -> None:
    sql = _translate_or_refuse(f"{PREFIX}Name = '{value}'", dialect)
    assert len(sql) == 2
    assert all(f"'{value}'" in statement for statement in sql)


@pytest.mark.parametrize("value", ["😀", "Zoë"])
def test_unicode_aliases_are_headers(value: str) -> None:
    lowered = translate.translate(
        f'select Name as "{value}" from Account',
        context=CONTEXT,
        options=lower.Options(schema="tenant_demo"),
    )
    assert lowered.headers == (value,)


def test_non_string_input_is_refused() -> None:
    with pytest.raises(errors.ZoqlError):
        parse.parse(b"select Id from Account")  # type: ignore[arg-type]
