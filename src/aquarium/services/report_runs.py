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
- ``Idempotency-Key`` on Run a Report [DEV-RUN]: as Zuora's REST API documents idempotent
  requests, a key names the run it started for 24 hours, and the same key on the same operation
  (the report and view type) answers that run again, whatever the body; the key on another
  operation (another report, view type, or an AQuA submit: keys are the tenant's) is HTTP 422.
  Only a request that started a run records its key; a refused one can be sent again.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from aquarium import observability
from aquarium.domain import errors, ids, jobs, reporting_errors, runs, tenancy
from aquarium.domain import notifier as notifier_port
from aquarium.export import report_output
from aquarium.services import report_run_list, reports, run_service
from aquarium.store import database, jobs_repo, report_runs_repo, reports_repo, runs_repo
from aquarium.zoql import check, report_plan

log = observability.logger(__name__)
RS = jobs.ReportRunStatus
HAS_BEEN_CANCELED = "The report run has been canceled"
WAS_CANCELED = "The report run was canceled"
NOT_RUN_YET = "The current user has not run this report yet. Please run the report before retrying."
EXPORT_FAILED = "There are errors when exporting the report."
MAX_PAGE_SIZE = 10_000  # report data rows per page


timestamp = report_run_list.timestamp


def _run_not_found(run_id: str) -> reporting_errors.ReportRunNotFound:
    return reporting_errors.ReportRunNotFound(f"The report run with id {run_id} does not exist.")


@dataclass
class ReportRunService(run_service.RunService):
    #: hears of every change this service commits (live job events)
    notifier: notifier_port.Notifier = field(default_factory=notifier_port.NullNotifier)

    # -- run ------------------------------------------------------------------------------
    def run(
        self,
        caller: tenancy.Principal,
        report_id: str,
        view_type: str | None,
        body: object,
        idempotency_key: str | None = None,
    ) -> dict[str, str]:
        """Start a run of the report in ``view_type``; ``{"reportRunId": ...}``. With an
        ``idempotency_key`` used for the same report and view in the last 24 hours: that run."""
        tenant = self._tenant(caller)
        view = _view_type(view_type)
        overrides = _overrides(body)
        key = _idempotency_key(idempotency_key)
        operation = _operation_hash(report_id, view)
        now = self.now(tenant.name)
        try:
            with self.metadata.begin() as conn:
                replay = None if key is None else _replayed(conn, tenant.name, key, operation, now)
                if replay is not None:
                    return replay
                run_id = self._insert(conn, caller, tenant, report_id, view, overrides, now)
                if key is not None:
                    jobs_repo.record_idempotency(conn, tenant.name, key, operation, run_id, now)
        except sa.exc.IntegrityError:
            # PostgreSQL: a concurrent request with the same new key committed first.
            if key is None:
                raise
            with self.metadata.begin() as conn:
                replay = _replayed(conn, tenant.name, key, operation, now)
            if replay is None:
                raise
            return replay
        observability.JOBS.labels("report", RS.STARTED.value).inc()
        log.info("report run started", run_id=run_id, tenant=tenant.name, report_id=report_id)
        self.notifier.job_changed(tenant.name, run_id)
        self.runner.wake(run_id)
        return {"reportRunId": run_id}

    def _insert(
        self,
        conn: sa.Connection,
        caller: tenancy.Principal,
        tenant: tenancy.Tenant,
        report_id: str,
        view: str,
        overrides: list[Any] | None,
        now: dt.datetime,
    ) -> str:
        """A new run of the report, STARTED; its id."""
        report = reports_repo.get(conn, tenant.name, report_id)
        if report is None:
            raise reporting_errors.ReportNotFound(
                f"An error occurred. The report with ID {report_id} does not exist."
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
        return run_id

    def _check_overrides(
        self, ds_name: str, overrides: list[Any], tenant: tenancy.Tenant, now: dt.datetime
    ) -> None:
        context = check.Context(
            catalog=self.catalogs.of(tenant), time_zone=tenant.time_zone, now=now
        )
        try:
            report_plan.check_filters(overrides, ds_name=ds_name, context=context)
        except errors.ReportDefinitionError as exc:
            raise reporting_errors.InvalidReportingRequest(exc.describe()) from None

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

    def record(self, caller: tenancy.Principal, run_id: str) -> report_runs_repo.ReportRunRecord:
        """The stored run (for the Job Finder's pages); ``ReportRunNotFound`` when unknown."""
        return self._get(caller, run_id)

    def latest(self, caller: tenancy.Principal, report_id: str) -> dict[str, Any]:
        """The caller's latest COMPLETED run of the report in the last 60 days [LAST]."""
        tenant = self._tenant(caller)
        since = self.now(tenant.name) - dt.timedelta(seconds=tenant.limits.report_run_retention_s)
        with database.read_only(self.metadata) as conn:
            report = reports_repo.get(conn, tenant.name, report_id)
            found = report_runs_repo.latest_completed(
                conn, tenant.name, report_id, caller.name, since=since
            )
        if report is None:
            raise reporting_errors.ReportNotFound(f"The report with id {report_id} does not exist.")
        if found is None:
            raise reporting_errors.NoCompletedRun(NOT_RUN_YET)
        return self.document(found)

    def document(self, run: report_runs_repo.ReportRunRecord) -> dict[str, Any]:
        """A run as Get Report Run answers it [GRR]; ``completedOn`` once it ended on its own
        (not CANCELLED), ``rowCount`` only once COMPLETED, ``errorMessage`` only for ERROR and
        INVALID (``report_runs_repo.SHOWN``, the values the run list shows and filters on)."""
        found: dict[str, Any] = report_run_list.element(run, _DOCUMENT_COLUMNS)
        found["reportDefinition"] = self._definition(run)
        for column in _WHEN_SET:
            value = report_run_list.wire_value(run, column)
            if value is not None and value != "":
                found[column] = value
        return found

    def _definition(self, run: report_runs_repo.ReportRunRecord) -> str:
        """The definition the run used, as the JSON string [LAST] shows."""
        try:
            saved = json.loads(run.definition)
        except ValueError:
            saved = {}
        saved = saved if isinstance(saved, dict) else {}
        source = self.catalogs.shipped.object(run.ds_name)
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
        reason = _not_ready(run)
        if reason is not None:
            raise reporting_errors.ReportRunNotCompleted(reason)
        found = self._result(caller, run, run.data_file_id)
        page = report_output.read_page(found.path, max(start - 1, 0), size)
        return {"page": page, "size": size, "offset": start, "total": run.result_rows or 0}

    def export(
        self, caller: tenancy.Principal, run_id: str, pivoted: str | None
    ) -> run_service.FileDownload:
        """The run's UTF-16 export; ``pivoted=true`` gives a summary's crosstab [EXP]."""
        crosstab = _boolean("pivoted", pivoted)
        try:
            run = self._get(caller, run_id)
        except reporting_errors.ReportRunNotFound:
            raise reporting_errors.ReportRunNotFound(EXPORT_FAILED) from None
        reason = _not_ready(run)
        if reason is not None:
            raise reporting_errors.ReportRunNotCompleted(f"{EXPORT_FAILED} {reason}")
        file_id = run.pivoted_file_id if crosstab and run.pivoted_file_id else run.export_file_id
        found = self._result(caller, run, file_id, failing=f"{EXPORT_FAILED} ")
        name = "".join(c if c.isalnum() or c in " -_." else "_" for c in run.report_name)
        return dataclasses.replace(found, filename=f"{name}.csv")

    def _result(
        self,
        caller: tenancy.Principal,
        run: report_runs_repo.ReportRunRecord,
        file_id: str | None,
        *,
        failing: str = "",
    ) -> run_service.FileDownload:
        """A result file of the run; ``ReportResultsExpired`` (its message after ``failing``)
        when it is no longer kept."""
        tenant = self._tenant(caller)
        found = self._published(tenant.name, file_id or "")
        if found is None:
            days = tenant.limits.file_retention_s / 86400
            raise reporting_errors.ReportResultsExpired(
                f"{failing}The results of report run {run.id} are no longer kept (results are "
                f"kept {days:g} days); run the report again."
            )
        return found

    # -- list -----------------------------------------------------------------------------
    def list_runs(
        self, caller: tenancy.Principal, statuses: Sequence[str], body: object
    ) -> dict[str, Any]:
        """Runs of the last 60 days, filtered, sorted and paged (CONTRACT.md "List runs")."""
        tenant = self._tenant(caller)
        request = report_run_list.ListRequest.parse(statuses, body)
        since = self.now(tenant.name) - dt.timedelta(seconds=tenant.limits.report_run_retention_s)
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
            "elements": [report_run_list.element(run, request.columns) for run in page],
        }

    # -- cancel ---------------------------------------------------------------------------
    def cancel(self, caller: tenancy.Principal, run_id: str) -> str:
        """Stop an in-progress run now [CAN]; idempotent; refused for finished runs."""
        tenant = self._tenant(caller)
        run = self._get(caller, run_id)
        if run.created_by != caller.name and not caller.admin:
            raise reporting_errors.ReportRunCancelNotAllowed(
                "Only the user who started the report run or an administrator can cancel it."
            )
        with self.metadata.begin() as conn:
            status = runs_repo.apply_event(
                conn,
                runs.Kind.REPORT,
                run.id,
                jobs.ReportRunEvent.CANCEL,
                at=self.now(tenant.name),
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
        raise reporting_errors.ReportRunNotCancellable(
            f"The report run {run.id} is already {current.status.value} and cannot be canceled."
        )


_VIEW_FIELDS = ("rowFields", "colFields", "valFields", "selectedFields")
#: Get Report Run's members, in order (after ``id``); then those of :data:`_WHEN_SET` that apply.
_DOCUMENT_COLUMNS = (
    "reportId",
    "reportName",
    "reportType",
    "status",
    "startedOn",
    "updatedOn",
    "createdByUserProfile.username",
)
_WHEN_SET = ("completedOn", "rowCount", "errorMessage")


def _not_ready(run: report_runs_repo.ReportRunRecord) -> str | None:
    if run.status is RS.COMPLETED:
        return None
    return f"The report run {run.id} is {run.status.value}; its results exist once it is COMPLETED."


def _view_type(value: str | None) -> str:
    if value is None or value == "":
        raise reporting_errors.MissingParameter(
            "Required String parameter 'viewType' is not present."
        )
    for view in report_plan.VIEW_TYPES:
        if value.lower() == view.lower():
            return view
    raise reporting_errors.InvalidReportingRequest(
        f"The viewType {value} is not valid: use Detail or Summary."
    )


def _idempotency_key(value: str | None) -> str | None:
    """The ``Idempotency-Key`` header's value; ``None`` when absent or empty."""
    if not value:
        return None
    if len(value) > run_service.MAX_IDEMPOTENCY_KEY:
        raise reporting_errors.InvalidReportingRequest(
            f"The Idempotency-Key header is limited to {run_service.MAX_IDEMPOTENCY_KEY} "
            "characters."
        )
    return value


def _operation_hash(report_id: str, view: str) -> str:
    """What an Idempotency-Key is bound to: running this report in this view."""
    operation = json.dumps(["reporting", "run a report", report_id, view])
    return hashlib.sha256(operation.encode("utf-8")).hexdigest()


def _replayed(
    conn: sa.Connection, tenant: str, key: str, operation: str, now: dt.datetime
) -> dict[str, str] | None:
    """The answer that started a run with ``key`` in the last 24 hours, or None; the key used
    for another operation is ``IdempotencyKeyReused``."""
    found = jobs_repo.find_idempotency(
        conn, tenant, key, since=now - run_service.IDEMPOTENCY_WINDOW
    )
    if found is None:
        return None
    bound_to, run_id = found
    if bound_to != operation:
        raise reporting_errors.IdempotencyKeyReused(
            "This Idempotency-Key was used in the last 24 hours for another request (another "
            "report, view type or API)."
        )
    return {"reportRunId": run_id}


def _overrides(body: object) -> list[Any] | None:
    """The run-time filter override of a Run a Report body, or None (empty body, {} or [])."""
    if body is None or body in ({}, []):
        return None
    if isinstance(body, Mapping) and "filters" in body:
        body = body["filters"]
    if not isinstance(body, list):
        raise reporting_errors.InvalidReportingRequest(
            "The request body must be an array of filter groups [RUN]."
        )
    return body


def _integer(name: str, value: str | None, *, minimum: int, maximum: int | None = None) -> int:
    if value is None or value == "":
        raise reporting_errors.MissingParameter(f"Required int parameter '{name}' is not present.")
    if not reports.DECIMAL.fullmatch(value):
        raise reporting_errors.InvalidReportingRequest(f"{name} must be an integer, not {value!r}.")
    number = int(value)
    if number < minimum or (maximum is not None and number > maximum):
        bounds = f"between {minimum} and {maximum:,}" if maximum else f"at least {minimum}"
        raise reporting_errors.InvalidReportingRequest(f"{name} must be {bounds}; it is {number}.")
    return number


def _boolean(name: str, value: str | None) -> bool:
    if value is None or value == "":
        return False
    if value.lower() in {"true", "false"}:
        return value.lower() == "true"
    raise reporting_errors.InvalidReportingRequest(f"{name} must be true or false, not {value!r}.")
