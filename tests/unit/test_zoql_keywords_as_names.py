"""A name is a name wherever the grammar expects one, even when it is spelled like a keyword.

Zuora has an object called ``Order`` (and fields a tenant may call ``Limit`` or ``Group__c``):
``select * from Order`` must parse, in any letter case and in every clause, while the same
words keep working as keywords where the grammar expects the keyword.
"""

from __future__ import annotations

import datetime as dt

import pytest

from aquarium.catalog import model
from aquarium.domain import errors
from aquarium.zoql import ast, check, lower, parse, report_plan


def _names(expr: object) -> tuple[str | None, str]:
    assert isinstance(expr, ast.Column)
    return (expr.qualifier.text if expr.qualifier else None, expr.field.text)


@pytest.mark.parametrize("spelling", ["Order", "order", "ORDER", "oRdEr"])
def test_object_named_like_a_keyword(spelling: str) -> None:
    query = parse.parse(f"select * from {spelling}")
    assert query.source.text == spelling
    assert query.select == ()


def test_join_alias_named_like_a_keyword_in_every_clause() -> None:
    query = parse.parse(
        "select Order.OrderNumber, count(Id) from OrderAction "
        "where Order.Status = 'Completed' and not Order.Id is null "
        "group by Order.OrderNumber having count(Id) > 1 "
        "order by Order.OrderNumber desc limit 5"
    )
    assert query.source.text == "OrderAction"
    assert _names(query.select[0].expr) == ("Order", "OrderNumber")
    assert query.where is not None
    assert _names(query.group_by[0]) == ("Order", "OrderNumber")
    assert _names(query.order_by[0].expr) == ("Order", "OrderNumber")
    assert query.order_by[0].descending
    assert query.limit is not None and query.limit.count == 5


@pytest.mark.parametrize(
    "word", ["Limit", "Group", "Having", "Where", "By", "Desc", "Asc", "Like", "As"]
)
def test_field_named_like_a_keyword(word: str) -> None:
    query = parse.parse(
        f"select {word}, Id from Account where {word} = 'x' order by {word} desc limit 2"
    )
    assert _names(query.select[0].expr) == (None, word)
    assert isinstance(query.where, ast.Compare)
    assert _names(query.where.left) == (None, word)
    assert _names(query.order_by[0].expr) == (None, word)
    assert query.order_by[0].descending
    assert query.limit is not None and query.limit.count == 2


def test_alias_named_like_a_keyword_after_as() -> None:
    query = parse.parse("select Id as Order, Name as limit from Account")
    assert [item.alias.text for item in query.select if item.alias] == ["Order", "limit"]


def test_keywords_still_work_as_keywords() -> None:
    query = parse.parse("SELECT Id FROM Order WHERE Status = 'Draft' ORDER BY Id ASC LIMIT 3")
    assert query.source.text == "Order"
    assert query.where is not None
    assert not query.order_by[0].descending
    assert query.limit is not None and query.limit.count == 3


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        # select and from stay reserved: they delimit the select list.
        ("select Id, from Account", "unexpected 'from', expected a name"),
        ("select from Order", "unexpected 'from', expected one of '*', 'distinct', a name"),
        # A keyword where only the keyword fits is still read, and refused, as the keyword.
        ("select Id from Order order Id", "unexpected 'Id', expected 'by'"),
    ],
)
def test_misplaced_keywords_are_still_refused(text: str, reason: str) -> None:
    with pytest.raises(errors.ZoqlError) as caught:
        parse.parse(text)
    assert caught.value.reason == reason


@pytest.mark.parametrize("dialect", list(ast.Dialect))
def test_every_field_of_a_join_named_like_a_keyword(dialect: ast.Dialect) -> None:
    query = parse.parse("select Order.*, Id from OrderAction", dialect)
    star = query.select[0].expr
    assert isinstance(star, ast.ObjectStar)
    assert star.qualifier.text == "Order"


@pytest.mark.parametrize(
    ("ds", "fields"),
    [
        ("OrderAction", ["Order.OrderNumber", "OrderAction.Type"]),
        ("Order", ["Order.Status", "Account.Name"]),
    ],
)
def test_reporting_names_the_order_data_source_and_join(ds: str, fields: list[str]) -> None:
    """Reporting reads field ids, not ZOQL text (no grammar): Order works there as a name too."""
    now = dt.datetime(2026, 11, 1, tzinfo=dt.UTC)
    context = check.Context(catalog=model.default(), time_zone="UTC", now=now)
    definition = {"selectedFields": [{"id": field, "sortPriority": 0} for field in fields]}
    query = report_plan.build(definition, ds_name=ds, view_type="Detail", context=context)
    text = lower.lower(query.plan, lower.Options(schema="s", raw=True)).sql
    assert '"s"."Order" AS "Order"' in text, text
