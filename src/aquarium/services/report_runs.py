"""Reporting API report runs: run, get, last completed, report data, export, list, cancel.

Reference reporting.md sections 4 and 6, CONTRACT.md "Reporting". Wire choices where Zuora is
silent (IMPL, also in docs/reporting.md):

- Timestamps are ISO with milliseconds in UTC, ``2018-04-13T02:11:38.464+0000`` [OVR].
- Visibility: any user of the tenant may read a run by id (get, data, export), like AQuA jobs;
  the run list shows an admin every user's runs and anyone else their own [MRR]; only the user
  who started a run or a tenant admin may cancel it (others: HTTP 403).
- Cancel of a finished run: ``The report run {id} is already {STATUS} and cannot be canceled.``
  (HTTP 400); unknown: ``The report run with id {id} does not exist.`` (HTTP 404).
- Report data: ``offset`` counts the lines of the result with the header as line 0, so
  ``offset=1`` is the first row (the documented usage); ``offset=0`` is the same as 1. Pages of
  ``pageSize`` (1-10,000) follow with offsets 1, 1 + pageSize, ... Runs that are not COMPLETED,
  and results past their retention, are refused with the reason (HTTP 400).
- A run-time filter override (the Run a Report body, an array of filter groups) replaces the
  report's saved filters for that run; bad filters are refused at once (HTTP 400), while a
  definition that cannot serve the requested view makes the run INVALID.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from aquarium import observability
from aquarium.catalog import model
from aquarium.domain import clock as clock_port
from aquarium.domain import errors, ids, jobs, tenancy
from aquarium.domain import notifier as notifier_port
from aquarium.export import report_output
from aquarium.runner import base as runner_base
from aquarium.services.reports import REST_ERROR, ReportingError
from aquarium.storage import base as storage
from aquarium.store import database, files_repo, report_runs_repo, reports_repo
from aquarium.zoql import check, report_plan

log = observability.logger(__name__)
RS = jobs.ReportRunStatus
HAS_BEEN_CANCELED = "The report run has been canceled"
WAS_CANCELED = "The report run was canceled"
NOT_RUN_YET = "The current user has not run this report yet. Please run the report before retrying."
EXPORT_FAILED = "There are errors when exporting the report."
MAX_PAGE_SIZE = 10_000  # report data rows per page
MAX_LIST_PAGE_SIZE = 1_000  # runs per page of the run list
DEFAULT_LIST_PAGE_SIZE = 250
# Wire column names of the run list -> report_runs columns.
LIST_COLUMNS: Mapping[str, str] = {
    "id": "id",
    "reportId": "report_id",
    "reportName": "report_name",
    "reportType": "view_type",
    "dsName": "ds_name",
    "status": "status",
    "startedOn": "created_at",
    "updatedOn": "updated_at",
    "completedOn": "finished_at",
    "createdByUserProfile.username": "created_by",
    "rowCount": "row_count",
    "errorMessage": "message",
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


def _run_not_found(run_id: str) -> ReportingError:
    return ReportingError(f"The report run with id {run_id} does not exist.", status=404)


@dataclass(frozen=True)
class ExportFile:
    path: Path
    content_type: str
    size: int
    sha256: str
    filename: str


@dataclass
class ReportRunService:
    metadata: sa.Engine
    catalog: model.Catalog
    runner: runner_base.JobRunner
    results: storage.ResultStore
    clock: clock_port.Clock
    tenant_of: Callable[[str], tenancy.Tenant | None]
    #: hears of every change this service commits (live job events)
    notifier: notifier_port.Notifier = field(default_factory=notifier_port.NullNotifier)

    def _tenant(self, caller: tenancy.Principal) -> tenancy.Tenant:
        found = self.tenant_of(caller.tenant)
        if found is None:
            raise errors.NotAuthenticated("the tenant no longer exists")
        return found

    # -- run ------------------------------------------------------------------------------
    def run(
        self, caller: tenancy.Principal, report_id: str, view_type: str | None, body: object
    ) -> dict[str, str]:
        """Start a run of the report in ``view_type``; ``{"reportRunId": ...}``."""
        tenant = self._tenant(caller)
        view = _view_type(view_type)
        overrides = _overrides(body)
        now = self.clock.now()
        with self.metadata.begin() as conn:
            report = reports_repo.get(conn, tenant.name, report_id)
            if report is None:
                raise ReportingError(
                    f"An error occurred. The report with ID {report_id} does not exist.",
                    status=404,
                )
            if overrides is not None:
                self._check_overrides(report.ds_name, overrides, tenant, now)
            run_id = ids.new_id()
            report_runs_repo.insert(
                conn,
                report_runs_repo.NewReportRun(
                    id=run_id,
                    tenant=tenant.name,
                    report_id=report.id,
                    report_name=report.name,
                    ds_name=report.ds_name,
                    view_type=view,
                    definition=report.definition,
                    filters_json=None if overrides is None else json.dumps(overrides),
                    created_by=caller.name,
                    created_at=now,
                ),
            )
        observability.JOBS.labels("report", RS.STARTED.value).inc()
        log.info("report run started", run_id=run_id, tenant=tenant.name, report_id=report_id)
        self.notifier.job_changed(tenant.name, run_id)
        self.runner.wake()
        return {"reportRunId": run_id}

    def _check_overrides(
        self, ds_name: str, overrides: list[Any], tenant: tenancy.Tenant, now: dt.datetime
    ) -> None:
        context = check.Context(catalog=self.catalog, time_zone=tenant.time_zone, now=now)
        definition = {"selectedFields": [{"id": "Id"}], "detailFilters": []}
        try:
            report_plan.build(
                definition,
                ds_name=ds_name,
                view_type=report_plan.DETAIL,
                context=context,
                overrides=overrides,
            )
        except errors.ReportDefinitionError as exc:
            raise ReportingError(exc.describe()) from None

    # -- read -----------------------------------------------------------------------------
    def _get(self, caller: tenancy.Principal, run_id: str) -> report_runs_repo.ReportRunRecord:
        tenant = self._tenant(caller)
        found = None
        if ids.is_id(run_id):
            with database.read_only(self.metadata) as conn:
                found = report_runs_repo.get(conn, tenant.name, run_id)
        if found is None:
            raise _run_not_found(run_id)
        return found

    def get(self, caller: tenancy.Principal, run_id: str) -> dict[str, Any]:
        return self.document(self._get(caller, run_id))

    def latest(self, caller: tenancy.Principal, report_id: str) -> dict[str, Any]:
        """The caller's latest COMPLETED run of the report in the last 60 days [LAST]."""
        tenant = self._tenant(caller)
        since = self.clock.now() - dt.timedelta(seconds=tenant.limits.report_run_retention_s)
        with database.read_only(self.metadata) as conn:
            report = reports_repo.get(conn, tenant.name, report_id)
            found = report_runs_repo.latest_completed(
                conn, tenant.name, report_id, caller.name, since=since
            )
        if report is None:
            raise ReportingError(f"The report with id {report_id} does not exist.", status=404)
        if found is None:
            raise ReportingError(NOT_RUN_YET)
        return self.document(found)

    def document(self, run: report_runs_repo.ReportRunRecord) -> dict[str, Any]:
        """A run as Get Report Run answers it [GRR]."""
        found: dict[str, Any] = {
            "id": run.id,
            "reportId": run.report_id,
            "reportName": run.report_name,
            "reportType": run.view_type,
            "status": run.status.value,
            "startedOn": timestamp(run.created_at),
            "updatedOn": timestamp(run.updated_at),
            "createdByUserProfile": {"username": run.created_by},
            "reportDefinition": self._definition(run),
        }
        if run.finished_at is not None:
            found["completedOn"] = timestamp(run.finished_at)
        if run.row_count is not None:
            found["rowCount"] = run.row_count
        if run.message and run.status in {RS.ERROR, RS.INVALID}:
            found["errorMessage"] = run.message
        return found

    def _definition(self, run: report_runs_repo.ReportRunRecord) -> str:
        """The definition the run used, as the JSON string [LAST] shows."""
        try:
            saved = json.loads(run.definition)
        except ValueError:
            saved = {}
        saved = saved if isinstance(saved, dict) else {}
        source = self.catalog.object(run.ds_name)
        shown = {
            "id": run.report_id,
            "name": run.report_name,
            "datasource": source.label if source else run.ds_name,
            "dsName": run.ds_name,
            "viewType": run.view_type,
            "viewFields": {key: saved.get(key, []) for key in _VIEW_FIELDS},
            "detailFilters": saved.get("detailFilters", []),
            "summaryFilters": saved.get("summaryFilters", []),
            "shareAsReadOnly": bool(saved.get("shareAsReadOnly", False)),
        }
        return json.dumps(shown, separators=(",", ":"))

    # -- results --------------------------------------------------------------------------
    def data(
        self, caller: tenancy.Principal, run_id: str, offset: str | None, page_size: str | None
    ) -> dict[str, Any]:
        """A page of the run's rows as display strings keyed by field id [DATA]."""
        start = _integer("offset", offset, minimum=0)
        size = _integer("pageSize", page_size, minimum=1, maximum=MAX_PAGE_SIZE)
        run = self._get(caller, run_id)
        path = self._result(caller, run, run.data_file_id, _not_ready(run))
        skip = max(start - 1, 0)
        page = report_output.read_page(path, skip, size)
        return {"page": page, "size": size, "offset": start, "total": run.row_count or 0}

    def export(self, caller: tenancy.Principal, run_id: str, pivoted: str | None) -> ExportFile:
        """The run's UTF-16 export; ``pivoted=true`` gives a summary's crosstab [EXP]."""
        crosstab = _boolean("pivoted", pivoted)
        if not ids.is_id(run_id):
            raise ReportingError(EXPORT_FAILED, status=404)
        try:
            run = self._get(caller, run_id)
        except ReportingError:
            raise ReportingError(EXPORT_FAILED, status=404) from None
        reason = _not_ready(run)
        if reason is not None:
            raise ReportingError(f"{EXPORT_FAILED} {reason}")
        file_id = run.pivoted_file_id if crosstab and run.pivoted_file_id else run.export_file_id
        tenant = self._tenant(caller)
        with database.read_only(self.metadata) as conn:
            record = files_repo.get_file(conn, tenant.name, file_id or "", now=self.clock.now())
        path = self.results.local_path(record.path) if record is not None else None
        if record is None or path is None:
            raise ReportingError(f"{EXPORT_FAILED} {_expired(run, tenant)}")
        name = "".join(c if c.isalnum() or c in " -_." else "_" for c in run.report_name)
        return ExportFile(path, record.content_type, record.size, record.sha256, f"{name}.csv")

    def _result(
        self,
        caller: tenancy.Principal,
        run: report_runs_repo.ReportRunRecord,
        file_id: str | None,
        not_ready: str | None,
    ) -> Path:
        if not_ready is not None:
            raise ReportingError(not_ready)
        tenant = self._tenant(caller)
        with database.read_only(self.metadata) as conn:
            record = files_repo.get_file(conn, tenant.name, file_id or "", now=self.clock.now())
        path = self.results.local_path(record.path) if record is not None else None
        if path is None:
            raise ReportingError(_expired(run, tenant))
        return path

    # -- list -----------------------------------------------------------------------------
    def list_runs(
        self, caller: tenancy.Principal, statuses: Sequence[str], body: object
    ) -> dict[str, Any]:
        """Runs of the last 60 days, filtered, sorted and paged (CONTRACT.md "List runs")."""
        tenant = self._tenant(caller)
        request = _ListRequest.parse(statuses, body)
        since = self.clock.now() - dt.timedelta(seconds=tenant.limits.report_run_retention_s)
        with database.read_only(self.metadata) as conn:
            total, page = report_runs_repo.query(
                conn,
                tenant.name,
                statuses=request.statuses,
                created_by=None if caller.admin else caller.name,
                since=since,
                filters=request.filters,
                sort=request.sort,
                offset=(request.page - 1) * request.page_size,
                limit=request.page_size,
            )
        return {
            "totalCount": total,
            "totalPage": math.ceil(total / request.page_size),
            "currentPage": request.page,
            "pageSize": request.page_size,
            "elements": [_element(self.document(run), request.columns) for run in page],
        }

    # -- cancel ---------------------------------------------------------------------------
    def cancel(self, caller: tenancy.Principal, run_id: str) -> str:
        """Stop an in-progress run now [CAN]; idempotent; refused for finished runs."""
        tenant = self._tenant(caller)
        run = self._get(caller, run_id)
        if run.created_by != caller.name and not caller.admin:
            raise ReportingError(
                "Only the user who started the report run or an administrator can cancel it.",
                status=403,
            )
        with self.metadata.begin() as conn:
            status = report_runs_repo.apply_event(
                conn,
                run.id,
                jobs.ReportRunEvent.CANCEL,
                at=self.clock.now(),
                message="The report run was canceled.",
            )
        if status is not None:
            self.notifier.job_changed(tenant.name, run.id)
            # The interrupt follows the committed transition, never the other way round.
            self.runner.cancel(run.id)
            observability.JOBS.labels("report", RS.CANCELLED.value).inc()
            log.info("report run cancelled", run_id=run.id, tenant=tenant.name)
            return HAS_BEEN_CANCELED
        current = self._get(caller, run_id)
        if current.status is RS.CANCELLED:
            return WAS_CANCELED
        raise ReportingError(
            f"The report run {run.id} is already {current.status.value} and cannot be canceled."
        )

    def refresh_gauges(self) -> None:
        """Set the runs-by-status gauge from the store (for /metrics)."""
        with database.read_only(self.metadata) as conn:
            counts = report_runs_repo.count_by_status(conn)
        for status in RS:
            observability.JOBS_BY_STATUS.labels("report", status.value).set(counts.get(status, 0))


_VIEW_FIELDS = ("rowFields", "colFields", "valFields", "selectedFields")


def _not_ready(run: report_runs_repo.ReportRunRecord) -> str | None:
    if run.status is RS.COMPLETED:
        return None
    return f"The report run {run.id} is {run.status.value}; its results exist once it is COMPLETED."


def _expired(run: report_runs_repo.ReportRunRecord, tenant: tenancy.Tenant) -> str:
    days = tenant.limits.file_retention_s / 86400
    return (
        f"The results of report run {run.id} are no longer kept (results are kept "
        f"{days:g} days); run the report again."
    )


def _view_type(value: str | None) -> str:
    if value is None or value == "":
        raise ReportingError(
            "Required String parameter 'viewType' is not present.", code=REST_ERROR
        )
    for view in report_plan.VIEW_TYPES:
        if value.lower() == view.lower():
            return view
    raise ReportingError(f"The viewType {value} is not valid: use Detail or Summary.")


def _overrides(body: object) -> list[Any] | None:
    """The run-time filter override of a Run a Report body, or None (empty body, {} or [])."""
    if body is None or body in ({}, []):
        return None
    if isinstance(body, Mapping) and "filters" in body:
        body = body["filters"]
    if not isinstance(body, list):
        raise ReportingError("The request body must be an array of filter groups [RUN].")
    return body


def _integer(name: str, value: str | None, *, minimum: int, maximum: int | None = None) -> int:
    if value is None or value == "":
        raise ReportingError(f"Required int parameter '{name}' is not present.", code=REST_ERROR)
    try:
        number = int(value)
    except ValueError:
        raise ReportingError(f"{name} must be an integer, not {value!r}.") from None
    if number < minimum or (maximum is not None and number > maximum):
        bounds = f"between {minimum} and {maximum:,}" if maximum else f"at least {minimum}"
        raise ReportingError(f"{name} must be {bounds}; it is {number}.")
    return number


def _boolean(name: str, value: str | None) -> bool:
    if value is None or value == "":
        return False
    if value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise ReportingError(f"{name} must be true or false, not {value!r}.")


def _element(document: Mapping[str, Any], columns: Sequence[str]) -> dict[str, Any]:
    element: dict[str, Any] = {"id": document["id"]}
    for column in columns:
        if column == "createdByUserProfile.username":
            element["createdByUserProfile"] = document["createdByUserProfile"]
        else:
            element[column] = document.get(column)
    return element


@dataclass(frozen=True)
class _ListRequest:
    statuses: tuple[jobs.ReportRunStatus, ...]
    columns: tuple[str, ...]
    page: int
    page_size: int
    sort: tuple[tuple[str, bool], ...]
    filters: tuple[report_runs_repo.RunFilter, ...]

    @classmethod
    def parse(cls, statuses: Sequence[str], body: object) -> _ListRequest:
        if body is None:
            body = {}
        if not isinstance(body, Mapping):
            raise ReportingError("The request body must be a JSON object.")
        pagination = body.get("pagination") or {}
        if not isinstance(pagination, Mapping):
            raise ReportingError("pagination must be an object {currentPage, pageSize}.")
        return cls(
            statuses=tuple(_status(value) for value in statuses),
            columns=_columns(body.get("columns")),
            page=_page_number("currentPage", pagination.get("currentPage", 1), 1_000_000),
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
        raise ReportingError(f"Unknown report run status {value!r}; use {known}.") from None


def _known_column(name: object, where: str) -> str:
    if not isinstance(name, str) or name not in LIST_COLUMNS:
        known = ", ".join(LIST_COLUMNS)
        raise ReportingError(f"Unknown {where} {name!r}; use one of {known}.")
    return name


def _columns(value: object) -> tuple[str, ...]:
    if value is None:
        return DEFAULT_COLUMNS
    if not isinstance(value, list):
        raise ReportingError("columns must be an array of column names.")
    # The documented example lists a blank column (" "): blanks are ignored.
    named = [c for c in value if not (isinstance(c, str) and not c.strip())]
    return tuple(_known_column(column, "column") for column in named if column != "id")


def _page_number(name: str, value: object, maximum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise ReportingError(f"pagination.{name} must be an integer.")
    try:
        number = int(value)
    except ValueError:
        raise ReportingError(f"pagination.{name} must be an integer.") from None
    if not 1 <= number <= maximum:
        raise ReportingError(f"pagination.{name} must be between 1 and {maximum:,}.")
    return number


def _sort(value: object) -> tuple[tuple[str, bool], ...]:
    if value is None or value == []:
        return (("created_at", True),)
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise ReportingError("sort must be an array of {field, direction, priority}.")
    ranked = []
    for index, item in enumerate(value):
        field = _known_column(item.get("field"), "sort field")
        direction = str(item.get("direction", "asc")).lower()
        if direction not in {"asc", "desc"}:
            raise ReportingError(f"The sort direction {direction!r} is not valid: asc or desc.")
        priority = item.get("priority", index)
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise ReportingError("A sort priority must be an integer.")
        ranked.append((priority, index, LIST_COLUMNS[field], direction == "desc"))
    return tuple((column, desc) for _, _, column, desc in sorted(ranked))


def _filters(value: object) -> tuple[report_runs_repo.RunFilter, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise ReportingError("filters must be an array of {field, operator, value}.")
    return tuple(_filter(item) for item in value)


def _filter(item: Mapping[str, Any]) -> report_runs_repo.RunFilter:
    field = _known_column(item.get("field"), "filter field")
    operator = str(item.get("operator", "="))
    if operator not in report_runs_repo.FILTER_OPERATORS:
        known = ", ".join(report_runs_repo.FILTER_OPERATORS)
        raise ReportingError(f"The filter operator {operator!r} is not valid; use {known}.")
    if operator == "contains" and field in TIME_COLUMNS | NUMBER_COLUMNS:
        raise ReportingError(f"'contains' needs a text column; {field} is not one.")
    raw = item.get("value")
    values = raw if operator == "in" else [raw]
    if not isinstance(values, list) or not values:
        raise ReportingError(f"The 'in' filter on {field} needs a non-empty array of values.")
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
            raise ReportingError(
                f"The filter on {field} needs an ISO timestamp such as "
                f"2026-11-01T00:00:00.000+0000, not {value!r}."
            ) from None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    if field == "rowCount":
        if isinstance(value, bool) or not isinstance(value, int):
            raise ReportingError("The filter on rowCount needs an integer.")
        return value
    if not isinstance(value, str):
        raise ReportingError(f"The filter on {field} needs a text value.")
    return value
