"""Report definitions -> query plans and SQL: views, groups, aggregations, filters, refusals."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from aquarium.catalog import model
from aquarium.domain import errors
from aquarium.zoql import check, lower, report_filters, report_plan

NOW = dt.datetime(2026, 11, 18, 20, 0, tzinfo=dt.UTC)  # Wednesday Nov 18 in Los Angeles
CONTEXT = check.Context(catalog=model.default(), time_zone="America/Los_Angeles", now=NOW)


def sql(definition: dict[str, Any], view: str = "Detail", ds: str = "Account", **kw: Any) -> str:
    query = report_plan.build(definition, ds_name=ds, view_type=view, context=CONTEXT, **kw)
    return lower.lower(query.plan, lower.Options(schema="s", raw=True)).sql


def refusal(definition: dict[str, Any], view: str = "Detail", ds: str = "Account") -> str:
    with pytest.raises(errors.ReportDefinitionError) as refused:
        report_plan.build(definition, ds_name=ds, view_type=view, context=CONTEXT)
    return refused.value.describe()


def where(clause: dict[str, Any], ds: str = "Account") -> str:
    text = sql({"selectedFields": [{"id": "Id"}], "detailFilters": [clause]}, ds=ds)
    return text.split(" WHERE ", 1)[1]


@pytest.mark.parametrize(
    ("phrase", "start", "end"),
    [
        ("the previous 3 months", "2026-08-01", "2026-10-31"),
        ("previous month", "2026-10-01", "2026-10-31"),
        ("the current month", "2026-11-01", "2026-11-30"),
        ("this quarter", "2026-10-01", "2026-12-31"),
        ("the next 2 weeks", "2026-11-23", "2026-12-06"),
        ("the current week", "2026-11-16", "2026-11-22"),
        ("the previous 7 days", "2026-11-11", "2026-11-17"),
        ("the next year", "2027-01-01", "2027-12-31"),
        ("last 2 quarters", "2026-04-01", "2026-09-30"),
    ],
)
def test_calendar_periods(phrase: str, start: str, end: str) -> None:
    found = report_filters.calendar_period(phrase, dt.date(2026, 11, 18))
    assert found == (dt.date.fromisoformat(start), dt.date.fromisoformat(end))


def test_a_phrase_that_is_not_a_period() -> None:
    assert report_filters.calendar_period("sometime soon", dt.date(2026, 11, 18)) is None


def test_a_detail_view_selects_joins_and_sorts_by_priority() -> None:
    text = sql(
        {
            "selectedFields": [
                {"id": "Account.Name", "sortDir": "DESC", "sortPriority": 1},
                {"id": "BillToContact.City"},
                {"id": "Account.AccountNumber", "sortDir": "ASC", "sortPriority": 0},
            ]
        }
    )
    assert 'LEFT JOIN "s"."Contact" AS "BillToContact"' in text
    assert text.endswith('ORDER BY "Account"."AccountNumber" ASC, "Account"."Name" DESC')


def test_a_summary_groups_buckets_and_aggregates() -> None:
    query = report_plan.build(
        {
            "rowFields": [{"id": "Invoice.InvoiceDate", "dateOptions": {"groupBy": "CQ"}}],
            "colFields": [{"id": "Account.Currency", "sortDir": "DESC"}],
            "valFields": [
                {"id": "InvoiceItem.ChargeAmount"},
                {"id": "InvoiceItem.SubscriptionId", "aggregation": "COUNT UNIQUE"},
            ],
        },
        ds_name="InvoiceItem",
        view_type="Summary",
        context=CONTEXT,
    )
    assert query.summary
    assert [(c.field_id, c.header, c.role, c.grouping) for c in query.columns] == [
        ("Invoice.InvoiceDate", "Invoice: Invoice Date", "row", "CQ"),
        ("Account.Currency", "Account: Currency", "column", "NG"),
        ("SUM(InvoiceItem.ChargeAmount)", "SUM of 'Invoice Item: Charge Amount'", "value", "NG"),
        (
            "COUNT UNIQUE(InvoiceItem.SubscriptionId)",
            "COUNT UNIQUE of 'Invoice Item: Subscription ID'",
            "value",
            "NG",
        ),
    ]
    text = lower.lower(query.plan, lower.Options(schema="s", raw=True)).sql
    assert 'CAST(DATE_TRUNC(\'quarter\', "Invoice"."InvoiceDate") AS DATE)' in text
    assert 'COUNT(DISTINCT "InvoiceItem"."SubscriptionId")' in text
    assert '"Account"."Currency" DESC' in text


@pytest.mark.parametrize(
    ("clause", "expected"),
    [
        (
            {"field": {"id": "Account.Name"}, "operator": {"name": "contains"}, "value": "a_b%"},
            "\"Account\".\"Name\" ILIKE '%a!_b!%%' ESCAPE '!'",
        ),
        (
            {"field": {"id": "Name"}, "operator": {"value": "starts with"}, "value": "Acme"},
            "ILIKE 'Acme%' ESCAPE '!'",
        ),
        (
            {
                "field": {"id": "Account.Status"},
                "operator": {"value": "in"},
                "value": "Active, Draft",
            },
            '("Account"."Status" = \'Active\') OR ("Account"."Status" = \'Draft\')',
        ),
        (
            {
                "field": {"id": "Account.Balance"},
                "operator": {"name": "is greater than"},
                "value": "10.5",
            },
            '"Account"."Balance" > 10.5',
        ),
        (
            {"field": {"id": "Account.Name"}, "operator": {"name": "is blank"}},
            '("Account"."Name" IS NULL) OR ("Account"."Name" = \'\')',
        ),
        (
            {"field": {"id": "Account.Balance"}, "operator": {"name": "is not blank"}},
            'NOT ("Account"."Balance" IS NULL)',
        ),
        (
            {
                "field": {"id": "Account.CreatedDate"},
                "operator": {"value": "="},
                "value": "yesterday",
            },
            '"Account"."CreatedDate" >= CAST(\'2026-11-17T08:00:00+00:00\' AS TIMESTAMPTZ)',
        ),
        (
            {
                "field": {"id": "Account.TaxExemptEffectiveDate"},
                "operator": {"name": "is during"},
                "value": {"start": "2026-01-01", "end": "2026-03-31"},
            },
            '"Account"."TaxExemptEffectiveDate" <= CAST(\'2026-03-31\' AS DATE)',
        ),
        (
            {"field": {"id": "Account.Name"}, "operator": {"value": "="}, "value": "a\\\\b"},
            '"Account"."Name" = \'a\\b\'',
        ),
    ],
)
def test_filter_operators(clause: dict[str, Any], expected: str) -> None:
    assert expected in where(clause)


def test_filter_groups_nest_with_and_and_or() -> None:
    text = where(
        {
            "logicalOperator": {"value": "OR"},
            "filterClauses": [
                {"field": {"id": "Account.Status"}, "operator": {"value": "="}, "value": "Active"},
                {
                    "logicalOperator": "AND",
                    "filterClauses": [
                        {
                            "field": {"id": "Account.Balance"},
                            "operator": {"value": ">"},
                            "value": 0,
                        },
                        {
                            "field": {"id": "Account.AutoPay"},
                            "operator": {"value": "="},
                            "value": True,
                        },
                    ],
                },
            ],
        }
    )
    assert " OR " in text and " AND " in text and '"Account"."AutoPay" = TRUE' in text


def test_an_override_replaces_the_saved_filters() -> None:
    saved = {
        "selectedFields": [{"id": "Name"}],
        "detailFilters": [
            {"field": {"id": "Status"}, "operator": {"value": "="}, "value": "Active"}
        ],
    }
    override = [{"field": {"id": "Currency"}, "operator": {"value": "="}, "value": "EUR"}]
    text = sql(saved, overrides=override)
    assert "'EUR'" in text and "'Active'" not in text


@pytest.mark.parametrize(
    ("definition", "view", "reason"),
    [
        (
            {"selectedFields": []},
            "Detail",
            "A Detail run needs at least one field in selectedFields.",
        ),
        (
            {"selectedFields": [{"id": "Id"}]},
            "Summary",
            "A Summary run needs at least one value field in valFields.",
        ),
        (
            {"selectedFields": [{"id": "Account.Nmae"}]},
            "Detail",
            "The field Account.Nmae is not a valid field of the datasource.",
        ),
        (
            {"selectedFields": [{"id": "Invoice.Amount"}]},
            "Detail",
            "The field Invoice.Amount is not a valid field of the datasource.",
        ),
        (
            {"selectedFields": [{"id": "Name"}, {"id": "Account.Name"}]},
            "Detail",
            "Account.Name appears twice in the report; each column once.",
        ),
        ({"selectedFields": "Name"}, "Detail", "selectedFields must be an array."),
        # Found by the fuzz tier: a falsy member of the wrong type was taken as absent.
        ({"selectedFields": False}, "Detail", "selectedFields must be an array."),
        ({"selectedFields": {}}, "Detail", "selectedFields must be an array."),
        (
            {"selectedFields": ["Name"]},
            "Detail",
            "Every entry of selectedFields must be a field object.",
        ),
        ({"selectedFields": [{"name": ""}]}, "Detail", "A field of selectedFields has no id."),
        (
            {"selectedFields": [{"id": "Name", "sortDir": "UP"}]},
            "Detail",
            "sortDir UP is not valid: use ASC, DESC or NONE.",
        ),
        (
            {"valFields": [{"id": "Name", "aggregation": "SUM"}]},
            "Summary",
            "SUM of Account.Name: sum() needs a number field; Account.Name is text.",
        ),
        (
            {"valFields": [{"id": "Balance", "aggregation": "MEDIAN"}]},
            "Summary",
            "The aggregation MEDIAN of Account.Balance is not valid: "
            "use SUM, COUNT, AVG, MIN, MAX or COUNT UNIQUE.",
        ),
        (
            {
                "rowFields": [{"id": "Name", "dateOptions": {"groupBy": "CM"}}],
                "valFields": [{"id": "Balance"}],
            },
            "Summary",
            "Account.Name is text; only dates can be grouped by CM.",
        ),
        (
            {
                "rowFields": [{"id": "CreatedDate", "dateOptions": {"groupBy": "FY"}}],
                "valFields": [{"id": "Balance"}],
            },
            "Summary",
            "The date grouping FY of Account.CreatedDate is not valid: use NG, CD, CW, CM, CQ, CY.",
        ),
        (
            {"rowFields": [{"id": "Name"}] * 11, "valFields": [{"id": "Balance"}]},
            "Summary",
            "A Summary takes at most 10 row and column groups together.",
        ),
        (
            {
                "selectedFields": [{"id": "Name"}],
                "detailFilters": [
                    {"field": {"id": "Name"}, "operator": {"value": "like"}, "value": "x"}
                ],
            },
            "Detail",
            "The filter on Account.Name has no valid operator ('like').",
        ),
        (
            {
                "selectedFields": [{"id": "Name"}],
                "detailFilters": [
                    {"field": {"id": "Balance"}, "operator": {"value": ">"}, "value": "lots"}
                ],
            },
            "Detail",
            "The filter on Account.Balance: "
            "Account.Balance is decimal; expected a number, got 'lots'.",
        ),
        (
            {
                "selectedFields": [{"id": "Name"}],
                "detailFilters": [
                    {"field": {"id": "Balance"}, "operator": {"value": "contains"}, "value": "1"}
                ],
            },
            "Detail",
            "'contains' needs a text field; Account.Balance is decimal.",
        ),
        (
            {
                "selectedFields": [{"id": "Name"}],
                "detailFilters": [
                    {
                        "field": {"id": "CreatedDate"},
                        "operator": {"value": "is during"},
                        "value": "soon",
                    }
                ],
            },
            "Detail",
            'The \'is during\' filter on Account.CreatedDate needs {"start", "end"}, '
            "[start, end] or a period such as 'the previous 3 months'.",
        ),
        (
            {
                "selectedFields": [{"id": "Name"}],
                "detailFilters": [{"logicalOperator": "XOR", "filterClauses": []}],
            },
            "Detail",
            "The logical operator XOR is not valid: use AND or OR.",
        ),
        (
            {
                "selectedFields": [{"id": "Name"}],
                "detailFilters": [
                    {"field": {"id": "Status"}, "operator": {"value": "in"}, "value": []}
                ],
            },
            "Detail",
            "The 'in' filter on Account.Status needs a non-empty list of values.",
        ),
        (
            {"selectedFields": [{"id": "Name"}], "detailFilters": "Status = Active"},
            "Detail",
            "detailFilters must be an array.",
        ),
    ],
)
def test_definitions_that_cannot_run_say_why(
    definition: dict[str, Any], view: str, reason: str
) -> None:
    assert refusal(definition, view) == reason


def test_unknown_data_source_and_view() -> None:
    assert refusal({"selectedFields": [{"id": "Id"}]}, ds="Nope") == (
        "The datasource name is not a valid datasource."
    )
    assert refusal({"selectedFields": [{"id": "Id"}]}, view="Pivot") == (
        "The viewType Pivot is not valid: use Detail or Summary."
    )


def test_validate_needs_some_fields_and_checks_summary_filters() -> None:
    with pytest.raises(errors.ReportDefinitionError, match="has no fields"):
        report_plan.validate({}, ds_name="Account", context=CONTEXT)
    bad = {
        "selectedFields": [{"id": "Name"}],
        "summaryFilters": [{"field": {"id": "Nope"}, "operator": {"value": "="}, "value": 1}],
    }
    with pytest.raises(
        errors.ReportDefinitionError,
        match=r"The field Nope is not a valid field of the datasource\.",
    ):
        report_plan.validate(bad, ds_name="Account", context=CONTEXT)


def test_deep_filter_nesting_is_refused() -> None:
    clause: dict[str, Any] = {"field": {"id": "Name"}, "operator": {"value": "="}, "value": "x"}
    for _ in range(40):
        clause = {"logicalOperator": "OR", "filterClauses": [clause]}
    assert refusal({"selectedFields": [{"id": "Name"}], "detailFilters": [clause]}) == (
        "filters nest more than 16 groups deep."
    )


def test_the_documented_run_time_filter_override() -> None:
    """Run a Report's example body [RUN], as printed (field descriptors and all)."""
    override = [
        {
            "logicalOperator": {"value": "OR", "label": "OPERATOR_OR", "name": "or"},
            "filterClauses": [
                {
                    "field": {
                        "name": "Name",
                        "id": "Product.Name",
                        "label": "Name",
                        "type": "text",
                        "custom": False,
                        "virtual": False,
                        "filterable": True,
                        "sortable": True,
                        "groupable": True,
                        "fxEnabled": False,
                        "order": 8,
                        "dataSourceName": "Product",
                        "dataSourceLabel": "Product",
                        "dataSourceType": "Product",
                        "searchKey": "Product Name",
                    },
                    "value": "Hockey",
                    "operator": {"name": "contains", "value": "contains"},
                },
                {
                    "field": {
                        "name": "EffectiveStartDate",
                        "id": "Product.EffectiveStartDate",
                        "type": "date",
                    },
                    "value": "2018-03-31",
                    "operator": {"name": "is greater than", "value": ">"},
                },
            ],
        }
    ]
    text = sql(
        {"selectedFields": [{"id": "ProductRatePlanCharge.Name"}]},
        ds="ProductRatePlanCharge",
        overrides=override,
    )
    assert (
        "((\"Product\".\"Name\" ILIKE '%Hockey%' ESCAPE '!') OR "
        '("Product"."EffectiveStartDate" > CAST(\'2018-03-31\' AS DATE)))'
    ) in text


@pytest.mark.parametrize("field_id", [".Name", "Account..Name", "Name.", "Account.Name.Id", "a b"])
def test_a_field_id_that_names_no_field_is_refused(field_id: str) -> None:
    """Issue 11, defect 7: '.Name' was accepted (a lenient split found Name) and failed later."""
    reason = refusal({"selectedFields": [{"id": field_id}]})
    assert reason == f"The field {field_id} is not a valid field of the datasource."
    clause = {"field": {"id": field_id}, "operator": {"value": "="}, "value": "x"}
    assert "is not a valid field" in refusal(
        {"selectedFields": [{"id": "Name"}], "detailFilters": [clause]}
    )
