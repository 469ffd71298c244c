"""Properties of report definitions and their filters through to DuckDB (issue 11: "any input
gives the documented error shape, never an exception"; report filters have their own reader,
``zoql/report_filters.py``, beside ZOQL's parser).

A definition with generated fields, date groupings, aggregations and nested filter groups, whose
operators and values are taken anywhere (every operator word and odd ones; dates at the
calendar's edge, periods and ``N years ago`` far out, 51-digit numbers, lists, ``{"start",
"end"}``, objects, booleans) plans in any tenant time zone, from the one furthest ahead of UTC
to the one furthest behind, or is refused with ReportDefinitionError, never another exception
(a save would answer 500, a run end INVALID with no reason). What plans, DuckDB runs as a report
run does (the typed Parquet of QUERYDATA), never failing with the engine's words.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from aquarium.catalog import model
from aquarium.domain import errors
from aquarium.engines import duckdb_engine, naming
from aquarium.zoql import check, lower, report_filters, report_plan
from tests.integration.conftest import NOW

CATALOG = model.default()
TENANT = "acme"
SOURCES = ("Account", "InvoiceItem")
#: From the zone furthest ahead of UTC to the one furthest behind.
ZONES = ("Pacific/Kiritimati", "UTC", "America/Los_Angeles", "Etc/GMT+12")
SETTINGS = settings(
    max_examples=400,
    deadline=None,
    database=None,  # nothing written into the working tree
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def _field_ids(source: str) -> list[str]:
    obj = CATALOG.require(source)
    found = [f"{source}.{field.name}" for field in obj.export_fields]
    for relation in obj.related:
        target = CATALOG.require(relation.object)
        found += [f"{relation.name}.{field.name}" for field in target.export_fields[:6]]
    return found


ODD_IDS = [".Name", "Account.", "Account..Name", "Nope", "Account.Nope", "a b", "", "Name"]
ODD_OPERATORS: list[object] = ["like", "", "IS DURING", " In ", None, 5, ["="], {"value": "="}]
EDGE_TEXT = [
    "9999-12-31", "9999-12-31T23:59:59-12:00", "0001-01-01T00:00:00+14:00", "0001-01-01",
    "10000-01-01", "2024-02-30", "today - 3000000 days", "9999 years ago", "yesterday",
    "tomorrow", "the previous 9999 years", "the next 9999 years", "the current quarter",
    "this week", "the next 0 days", "9" * 51, "-" + "9" * 51, "1." + "0" * 50 + "1", "1e400",
    "", " ", "a,b,,c", "\\\\", "%_", "x" * 3000, "\U0001f600", "true", "Active",
]  # fmt: skip
SCALARS = (
    st.sampled_from(EDGE_TEXT)
    | st.sampled_from([0, -1, 2**63 - 1, -(2**63), 0.5, 1e308, -1e-308, True, False, None])
    | st.text(max_size=6)
)
VALUES = (
    SCALARS
    | st.lists(SCALARS, max_size=4)
    | st.fixed_dictionaries({"start": SCALARS, "end": SCALARS})
    | st.dictionaries(st.text(max_size=4), SCALARS, max_size=2)
)
OPERATORS = st.sampled_from(sorted(report_filters.OPERATORS)) | st.sampled_from(ODD_OPERATORS)


@st.composite
def _clause(draw: st.DrawFn, ids: list[str]) -> dict[str, Any]:
    field = {"id": draw(st.sampled_from(ids) | st.sampled_from(ODD_IDS))}
    operator = draw(OPERATORS)
    shape = draw(st.sampled_from(["value", "name", "bare"]))
    written = operator if shape == "bare" else {shape: operator}
    return {"field": field, "operator": written, "value": draw(VALUES)}


PERIODS = [
    "the previous 9999 years", "the next 9999 years", "the last 9999 quarters",
    "the next 9999 months", "the previous 9999 weeks", "this year", "the current day",
]  # fmt: skip
DATE_VALUES = st.sampled_from(EDGE_TEXT[:11] + PERIODS)
DATE_OPERATORS = st.sampled_from(["is during", "is not during", "<", ">=", "=", "!=", "in"])


@st.composite
def _date_clause(draw: st.DrawFn, ids: list[str]) -> dict[str, Any]:
    """A clause on a date or datetime field, with a period or a date near the calendar's edge:
    the values every date reader must place, whatever the tenant's zone."""
    dated = [i for i in ids if i.endswith(("Date", "DateTime", "Time", "On"))] or ids
    value = draw(
        DATE_VALUES
        | st.lists(DATE_VALUES, min_size=2, max_size=2)
        | st.fixed_dictionaries({"start": DATE_VALUES, "end": DATE_VALUES})
    )
    operator = {"value": draw(DATE_OPERATORS)}
    return {"field": {"id": draw(st.sampled_from(dated))}, "operator": operator, "value": value}


def _filters(ids: list[str]) -> st.SearchStrategy[list[Any]]:
    clauses = _clause(ids) | _date_clause(ids)
    logical = st.sampled_from(["AND", "OR", "or", "XOR", None, 1])
    return st.lists(
        st.recursive(
            clauses,
            lambda inner: st.builds(
                lambda op, items: {"logicalOperator": {"value": op}, "filterClauses": items},
                logical,
                st.lists(inner, max_size=3),
            ),
            max_leaves=6,
        ),
        max_size=3,
    )


@st.composite
def definitions(draw: st.DrawFn) -> tuple[str, str, dict[str, Any], str]:
    """(data source, view type, definition, time zone)."""
    source = draw(st.sampled_from(SOURCES))
    ids = _field_ids(source)
    fields = st.sampled_from(ids)
    selected = draw(st.lists(fields, min_size=1, max_size=4, unique=True))
    definition: dict[str, Any] = {
        "selectedFields": [{"id": field_id} for field_id in selected],
        "detailFilters": draw(_filters(ids)),
    }
    view = draw(st.sampled_from(report_plan.VIEW_TYPES))
    if view == report_plan.SUMMARY:
        grouping = st.sampled_from([*report_plan.DATE_GROUPINGS, "XX"])
        aggregation = st.sampled_from([*report_plan.AGGREGATIONS, "MEDIAN"])
        definition["rowFields"] = [{"id": draw(fields), "dateOptions": {"groupBy": draw(grouping)}}]
        definition["valFields"] = [{"id": draw(fields), "aggregation": draw(aggregation)}]
        definition["summaryFilters"] = draw(_filters(ids))
    return source, view, definition, draw(st.sampled_from(ZONES))


@pytest.fixture(scope="module")
def out(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("report-properties") / "raw.parquet"


@SETTINGS
@given(case=definitions())
def test_a_definition_plans_and_runs_on_duckdb_or_is_refused_in_words(
    duck: duckdb_engine.DuckDbEngine, out: Path, case: tuple[str, str, dict[str, Any], str]
) -> None:
    source, view, definition, zone = case
    context = check.Context(catalog=CATALOG, time_zone=zone, now=NOW)
    try:
        query = report_plan.build(definition, ds_name=source, view_type=view, context=context)
    except errors.ReportDefinitionError as refused:
        assert refused.describe().strip(), refused
        event("refused")
        return
    event("planned")
    options = lower.Options(dialect=duck.dialect, schema=naming.schema_name(TENANT), raw=True)
    lowered = lower.lower(query.plan, options)
    with duck.snapshot(TENANT, now=lambda: NOW) as snapshot:
        assert snapshot.copy_parquet(lowered, out) >= 0


@SETTINGS
@given(case=definitions())
def test_filters_alone_check_or_are_refused_in_words(
    case: tuple[str, str, dict[str, Any], str],
) -> None:
    """A Run a Report override is checked by ``check_filters`` at submit: the same outcome."""
    source, _, definition, zone = case
    context = check.Context(catalog=CATALOG, time_zone=zone, now=NOW)
    try:
        report_plan.check_filters(definition["detailFilters"], ds_name=source, context=context)
    except errors.ReportDefinitionError as refused:
        assert refused.describe().strip(), refused


def test_the_edges_plan_somewhere() -> None:
    """An 'is during' from the calendar's first instant to its last day plans in every zone."""
    definition = {
        "selectedFields": [{"id": "Account.Name"}],
        "detailFilters": [
            {"field": {"id": "Account.CreatedDate"}, "operator": {"value": "is during"},
             "value": {"start": "0001-01-01T00:00:00+14:00", "end": "9999-12-31"}},
        ],
    }  # fmt: skip
    for zone in ZONES:
        context = check.Context(catalog=CATALOG, time_zone=zone, now=NOW)
        report_plan.build(definition, ds_name="Account", view_type="Detail", context=context)
