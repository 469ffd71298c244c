"""A report run's results as the Job Finder shows them: a page of its table and, for a completed
Summary run, a chart (:func:`results`, :func:`chart`).

Zuora's report viewer charts a summary report; the Job Finder draws it with a vendored Chart.js
(``web/static/report_chart.js``) from the document :func:`shape` makes out of the run's report
data (the display values the Reporting API answers, read through :class:`ReportRunService`, so
the chart shows exactly the numbers of the table and the export):

- the row groups are the horizontal axis, one category per row-group combination in the order
  the run sorted them (a date group ascending in time); a date or datetime first row group is
  drawn as **lines**, anything else as **bars**;
- the column groups make the series, one per column-group combination (no column groups: one
  series); each value field is a chart of its own (a sum and a count share no axis);
- a value is the display string read back as a number (``1,430.5``: Zuora's 3 decimals); an
  empty cell is a gap;
- money: a DECIMAL value (a SUM, AVG, MIN or MAX of an amount) is money. When a group is a
  ``Currency`` field its labels are ISO codes: a series per currency carries its code, a
  category per currency does; the script formats with it (``$1,430.50``, ``€120.20``).

Bounded: at most :data:`MAX_ROWS` data rows, :data:`MAX_SERIES` series per chart and
:data:`MAX_CHARTS` charts; ``truncated`` says when something was left out.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aquarium.catalog import model
from aquarium.domain import errors, jobs, reporting_errors, tenancy
from aquarium.services import report_runs
from aquarium.store import report_runs_repo
from aquarium.zoql import check, report_plan

MAX_ROWS = 5_000  # report data rows read for a chart
MAX_SERIES = 12  # column-group combinations drawn per chart
MAX_CHARTS = 6  # value fields drawn
LINE, BAR = "line", "bar"
DATE_TYPES = frozenset({model.FieldType.DATE, model.FieldType.DATETIME})
CURRENCY_FIELD = "Currency"  # the field name of every currency picklist of the catalogue
_ISO_CODE = re.compile(r"[A-Z]{3}")
GROUP_JOINER = " · "


@dataclass(frozen=True)
class _Layout:
    rows: tuple[report_plan.ColumnSpec, ...]
    cols: tuple[report_plan.ColumnSpec, ...]
    values: tuple[report_plan.ColumnSpec, ...]


TABLE_PAGE = 100  # rows of the results table a page


def results(
    runs: report_runs.ReportRunService, caller: tenancy.Principal, run_id: str, offset: str
) -> dict[str, Any]:
    """The results page of a run: ``{"run"`` (Get Report Run's document), ``"headers"``,
    ``"rows"`` (display strings, in header order), ``"offset"`` (1-based), ``"pageSize"``,
    ``"total"``, ``"charted"`` (a Summary chart exists), ``"problem"`` (why there are no rows:
    not COMPLETED, results past retention), ``None`` otherwise``}``.

    ``ReportRunNotFound`` for an unknown run.
    """
    record = runs.record(caller, run_id)
    found: dict[str, Any] = {
        "run": runs.document(record),
        "headers": [],
        "rows": [],
        "offset": max(int(offset), 1) if offset.isdigit() else 1,
        "pageSize": TABLE_PAGE,
        "total": record.result_rows or 0,
        "charted": False,
        "problem": None,
    }
    try:
        page = runs.data(caller, run_id, str(found["offset"]), str(TABLE_PAGE))
    except (reporting_errors.ReportRunNotCompleted, reporting_errors.ReportResultsExpired) as exc:
        found["problem"] = exc.describe()
        return found
    keys = list(page["page"][0]) if page["page"] else []
    headers = _headers(runs, caller, record)
    found["headers"] = [headers.get(key, key) for key in keys]
    found["rows"] = [[row.get(key, "") for key in keys] for row in page["page"]]
    found["charted"] = record.view_type == report_plan.SUMMARY and bool(keys)
    return found


def _headers(
    runs: report_runs.ReportRunService,
    caller: tenancy.Principal,
    record: report_runs_repo.ReportRunRecord,
) -> dict[str, str]:
    """Field id -> the export's header (``Account: Currency``); empty if it cannot be planned."""
    try:
        return {column.field_id: column.header for column in _columns(runs, caller, record)}
    except reporting_errors.InvalidReportingRequest:
        return {}


def chart(
    runs: report_runs.ReportRunService, caller: tenancy.Principal, run_id: str
) -> dict[str, Any]:
    """The chart document of the caller's tenant's run ``run_id``.

    ``ReportRunNotFound`` for an unknown run, ``ReportRunNotCompleted`` for one that is not
    COMPLETED, ``InvalidReportingRequest`` for a Detail run (a list of records, no chart).
    """
    record = runs.record(caller, run_id)
    if record.status is not jobs.ReportRunStatus.COMPLETED:
        raise reporting_errors.ReportRunNotCompleted(
            f"The report run {run_id} is {record.status.value}; it is charted once COMPLETED."
        )
    if record.view_type != report_plan.SUMMARY:
        raise reporting_errors.InvalidReportingRequest(
            f"The report run {run_id} is a Detail run: only Summary runs are charted."
        )
    columns = _columns(runs, caller, record)
    page = runs.data(caller, run_id, "1", str(MAX_ROWS))
    found = shape(columns, page["page"])
    found["title"] = record.report_name
    found["totalRows"] = page["total"]
    found["truncated"] = found["truncated"] or page["total"] > len(page["page"])
    return found


def _columns(
    runs: report_runs.ReportRunService,
    caller: tenancy.Principal,
    record: report_runs_repo.ReportRunRecord,
) -> tuple[report_plan.ColumnSpec, ...]:
    """The run's columns, planned from the definition it ran with, as the run planned them."""
    tenant = tenancy.callers_tenant(caller, runs.tenant_of)
    context = check.Context(
        catalog=runs.catalogs.of(tenant), time_zone=tenant.time_zone, now=runs.now(tenant.name)
    )
    try:
        query = report_plan.build(
            json.loads(record.definition),
            ds_name=record.ds_name,
            view_type=record.view_type,
            context=context,
            overrides=json.loads(record.filters_json) if record.filters_json else None,
        )
    except (errors.ReportDefinitionError, ValueError) as exc:
        # The catalogue changed under a stored definition: the table still shows the results.
        raise reporting_errors.InvalidReportingRequest(
            f"The report run {record.id} cannot be charted any more: {exc}"
        ) from None
    return query.columns


def shape(
    columns: Sequence[report_plan.ColumnSpec], rows: Sequence[Mapping[str, str]]
) -> dict[str, Any]:
    """The chart document of a summary's report data ``rows`` (display strings by field id).

    ``{"kind", "xLabel", "categories", "categoryCurrencies", "charts": [{"title", "money",
    "series": [{"name", "currency", "values"}]}], "truncated"}``.
    """
    layout = _Layout(
        rows=tuple(c for c in columns if c.role == "row"),
        cols=tuple(c for c in columns if c.role == "column"),
        values=tuple(c for c in columns if c.role == "value"),
    )
    categories: dict[tuple[str, ...], int] = {}
    blocks: dict[tuple[str, ...], int] = {}
    cells: dict[tuple[int, int, str], float | None] = {}
    for row in rows:
        category = categories.setdefault(_labels(row, layout.rows), len(categories))
        block = blocks.setdefault(_labels(row, layout.cols), len(blocks))
        for value in layout.values:
            cells[(category, block, value.field_id)] = number(row.get(value.field_id, ""))
    series_keys = list(blocks)[:MAX_SERIES]
    charts = [
        {
            "title": value.header,
            "money": value.type is model.FieldType.DECIMAL,
            "series": [
                {
                    "name": GROUP_JOINER.join(key) or value.header,
                    "currency": _currency(layout.cols, key),
                    "values": [
                        cells.get((c, blocks[key], value.field_id)) for c in range(len(categories))
                    ],
                }
                for key in series_keys
            ],
        }
        for value in layout.values[:MAX_CHARTS]
    ]
    first = layout.rows[0] if layout.rows else None
    dated = first is not None and (first.type in DATE_TYPES or first.grouping != "NG")
    return {
        "kind": LINE if dated else BAR,
        "xLabel": GROUP_JOINER.join(c.header for c in layout.rows),
        "categories": [GROUP_JOINER.join(key) for key in categories],
        "categoryCurrencies": (
            [_currency(layout.rows, key) for key in categories]
            if _currency_index(layout.rows) is not None
            else None
        ),
        "charts": charts,
        "truncated": len(blocks) > MAX_SERIES or len(layout.values) > MAX_CHARTS,
    }


def number(text: str) -> float | None:
    """A display value as a number (``1,430.5`` -> 1430.5, ``-120.2``); None when empty or not
    a number."""
    cleaned = text.replace(",", "").strip()
    if not cleaned:
        return None
    try:
        return float(cleaned)
    except ValueError:
        return None


def _labels(row: Mapping[str, str], groups: Sequence[report_plan.ColumnSpec]) -> tuple[str, ...]:
    return tuple(str(row.get(group.field_id, "")) for group in groups)


def _currency_index(groups: Sequence[report_plan.ColumnSpec]) -> int | None:
    """Where among ``groups`` a currency field is (its labels are ISO codes), or None."""
    for index, group in enumerate(groups):
        if group.field_id.rpartition(".")[2] == CURRENCY_FIELD:
            return index
    return None


def _currency(groups: Sequence[report_plan.ColumnSpec], key: tuple[str, ...]) -> str | None:
    """The ISO currency code among the labels ``key`` of ``groups``, or None."""
    index = _currency_index(groups)
    if index is None or index >= len(key):
        return None
    code = key[index]
    return code if _ISO_CODE.fullmatch(code) else None
