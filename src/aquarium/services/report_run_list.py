"""The Reporting run list's request (``POST /reportruns``): statuses, columns, paging, sort,
filters, read and checked (CONTRACT.md "List runs"); and its elements.

Each wire column names one column of ``report_runs_repo.RUNS`` (:data:`LIST_COLUMNS`), and a
filter, a sort and an element's value all read that column: what a filter matches is exactly
what the answer shows (``dsName`` included; ``completedOn``, ``rowCount`` and ``errorMessage``
only where the run's status gives them, ``report_runs_repo.SHOWN``).

Every refusal is a ``reporting_errors.InvalidReportingRequest`` naming what is wrong and what is
allowed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from aquarium.domain import jobs, reporting_errors
from aquarium.store import report_runs_repo

RS = jobs.ReportRunStatus
MAX_LIST_PAGE_SIZE = 1_000  # runs per page of the run list
MAX_LIST_PAGE = 1_000_000  # the last page number the run list reads
DEFAULT_LIST_PAGE_SIZE = 250
# Wire column names of the run list -> report_runs_repo.RUNS columns (ReportRunRecord fields).
LIST_COLUMNS: Mapping[str, str] = {
    "id": "id",
    "reportId": "report_id",
    "reportName": "report_name",
    "reportType": "view_type",
    "dsName": "ds_name",
    "status": "status",
    "startedOn": "created_at",
    "updatedOn": "updated_at",
    "completedOn": "completed_at",
    "createdByUserProfile.username": "created_by",
    "rowCount": "result_rows",
    "errorMessage": "error_message",
}
DEFAULT_COLUMNS = (
    "reportId",
    "reportName",
    "startedOn",
    "updatedOn",
    "reportType",
    "status",
    "createdByUserProfile.username",
)
TIME_COLUMNS = frozenset({"startedOn", "updatedOn", "completedOn"})
NUMBER_COLUMNS = frozenset({"rowCount"})
STATUS_ALIASES = {"CANCELED": RS.CANCELLED}


def timestamp(value: dt.datetime | None) -> str | None:
    """``2018-04-13T02:11:38.464+0000`` (UTC, milliseconds) or None."""
    if value is None:
        return None
    utc = value.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def wire_value(run: report_runs_repo.ReportRunRecord, column: str) -> Any:
    """The value of the wire ``column`` for ``run``: its :data:`LIST_COLUMNS` field, as JSON."""
    value = getattr(run, LIST_COLUMNS[column])
    if column in TIME_COLUMNS:
        return timestamp(value)
    if column == "status":
        return run.status.value
    return value


def element(run: report_runs_repo.ReportRunRecord, columns: Sequence[str]) -> dict[str, Any]:
    """The run as a list element: ``id`` and the asked columns (the user name nested as
    ``{"createdByUserProfile": {"username": ...}}``, as the column's name says)."""
    element: dict[str, Any] = {"id": run.id}
    for column in columns:
        value = wire_value(run, column)
        if column == "createdByUserProfile.username":
            element["createdByUserProfile"] = {"username": value}
        else:
            element[column] = value
    return element


@dataclass(frozen=True)
class ListRequest:
    statuses: tuple[jobs.ReportRunStatus, ...]
    columns: tuple[str, ...]
    page: int
    page_size: int
    sort: tuple[tuple[str, bool], ...]
    filters: tuple[report_runs_repo.RunFilter, ...]

    @classmethod
    def parse(cls, statuses: Sequence[str], body: object) -> ListRequest:
        if body is None:
            body = {}
        if not isinstance(body, Mapping):
            raise reporting_errors.InvalidReportingRequest(
                "The request body must be a JSON object."
            )
        # Absent or null: the defaults; 0, "" or [] are no pagination object (refused below).
        pagination = body.get("pagination")
        pagination = {} if pagination is None else pagination
        if not isinstance(pagination, Mapping):
            raise reporting_errors.InvalidReportingRequest(
                "pagination must be an object {currentPage, pageSize}."
            )
        return cls(
            statuses=tuple(_status(value) for value in statuses),
            columns=_columns(body.get("columns")),
            page=_page_number("currentPage", pagination.get("currentPage", 1), MAX_LIST_PAGE),
            page_size=_page_number(
                "pageSize", pagination.get("pageSize", DEFAULT_LIST_PAGE_SIZE), MAX_LIST_PAGE_SIZE
            ),
            sort=_sort(body.get("sort")),
            filters=_filters(body.get("filters")),
        )


def _status(value: str) -> jobs.ReportRunStatus:
    token = value.strip().upper()
    if token in STATUS_ALIASES:
        return STATUS_ALIASES[token]
    try:
        return RS(token)
    except ValueError:
        known = ", ".join(status.value for status in RS)
        raise reporting_errors.InvalidReportingRequest(
            f"Unknown report run status {value!r}; use {known}."
        ) from None


def _known_column(name: object, where: str) -> str:
    if not isinstance(name, str) or name not in LIST_COLUMNS:
        known = ", ".join(LIST_COLUMNS)
        raise reporting_errors.InvalidReportingRequest(
            f"Unknown {where} {name!r}; use one of {known}."
        )
    return name


def _columns(value: object) -> tuple[str, ...]:
    if value is None:
        return DEFAULT_COLUMNS
    if not isinstance(value, list):
        raise reporting_errors.InvalidReportingRequest("columns must be an array of column names.")
    # The documented example lists a blank column (" "): blanks are ignored.
    named = [c for c in value if not (isinstance(c, str) and not c.strip())]
    return tuple(_known_column(column, "column") for column in named if column != "id")


def _page_number(name: str, value: object, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise reporting_errors.InvalidReportingRequest(f"pagination.{name} must be an integer.")
    try:
        number = int(value)
    except ValueError:
        raise reporting_errors.InvalidReportingRequest(
            f"pagination.{name} must be an integer."
        ) from None
    if not 1 <= number <= maximum:
        raise reporting_errors.InvalidReportingRequest(
            f"pagination.{name} must be between 1 and {maximum:,}."
        )
    return number


def _sort(value: object) -> tuple[tuple[str, bool], ...]:
    if value is None or value == []:
        return (("created_at", True),)
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise reporting_errors.InvalidReportingRequest(
            "sort must be an array of {field, direction, priority}."
        )
    ranked = []
    for index, item in enumerate(value):
        field = _known_column(item.get("field"), "sort field")
        direction = str(item.get("direction", "asc")).lower()
        if direction not in {"asc", "desc"}:
            raise reporting_errors.InvalidReportingRequest(
                f"The sort direction {direction!r} is not valid: asc or desc."
            )
        priority = item.get("priority", index)
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise reporting_errors.InvalidReportingRequest("A sort priority must be an integer.")
        ranked.append((priority, index, LIST_COLUMNS[field], direction == "desc"))
    return tuple((column, desc) for _, _, column, desc in sorted(ranked))


def _filters(value: object) -> tuple[report_runs_repo.RunFilter, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise reporting_errors.InvalidReportingRequest(
            "filters must be an array of {field, operator, value}."
        )
    return tuple(_filter(item) for item in value)


def _filter(item: Mapping[str, Any]) -> report_runs_repo.RunFilter:
    field = _known_column(item.get("field"), "filter field")
    operator = str(item.get("operator", "="))
    if operator not in report_runs_repo.FILTER_OPERATORS:
        known = ", ".join(report_runs_repo.FILTER_OPERATORS)
        raise reporting_errors.InvalidReportingRequest(
            f"The filter operator {operator!r} is not valid; use {known}."
        )
    if operator == "contains" and field in TIME_COLUMNS | NUMBER_COLUMNS:
        raise reporting_errors.InvalidReportingRequest(
            f"'contains' needs a text column; {field} is not one."
        )
    raw = item.get("value")
    values = raw if operator == "in" else [raw]
    if not isinstance(values, list) or not values:
        raise reporting_errors.InvalidReportingRequest(
            f"The 'in' filter on {field} needs a non-empty array of values."
        )
    typed = [_filter_value(field, v) for v in values]
    return report_runs_repo.RunFilter(
        LIST_COLUMNS[field], operator, typed if operator == "in" else typed[0]
    )


def _filter_value(field: str, value: object) -> object:
    if field == "status":
        return _status(str(value)).value
    if field in TIME_COLUMNS:
        try:
            parsed = dt.datetime.fromisoformat(str(value))
        except ValueError:
            raise reporting_errors.InvalidReportingRequest(
                f"The filter on {field} needs an ISO timestamp such as "
                f"2026-11-01T00:00:00.000+0000, not {value!r}."
            ) from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    if field == "rowCount":
        if isinstance(value, bool) or not isinstance(value, int):
            raise reporting_errors.InvalidReportingRequest(
                "The filter on rowCount needs an integer."
            )
        return value
    if not isinstance(value, str):
        raise reporting_errors.InvalidReportingRequest(f"The filter on {field} needs a text value.")
    return value
