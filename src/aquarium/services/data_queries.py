"""Data Query jobs: submit, get, list, cancel, and the result file behind a signed link.

Reference dataquery.md sections 2-7; choices where Zuora is silent are in docs/data-query.md:

- Job ids are dashed UUIDs on the wire (stored as the 32 digits every run id has); an id in
  either form is accepted. ``createdBy`` is a UUID standing for the user (``ids.user_uuid``).
- Visibility: an administrator sees every job of the tenant; another user only their own (a
  get or cancel of someone else's job is 403, code 1009, as Zuora documents for non-admins).
- The queue: ``max_data_queries`` run at once, more wait in ``accepted``; a submit finding
  ``max_queued_data_queries`` already waiting is refused (HTTP 429, code 429).
- ``remainingRetries``: 3 less the attempts a lost worker cost (``retries`` stays 3).
- ``Idempotency-Key``: the same key with the same body within 24 hours answers the job it made.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from aquarium import observability
from aquarium.dataquery import output
from aquarium.domain import dataquery_errors as dq_errors
from aquarium.domain import ids, jobs, runs, tenancy
from aquarium.domain import notifier as notifier_port
from aquarium.services import data_file_links, dataquery_request, run_service
from aquarium.store import database, dataquery_repo, jobs_repo, runs_repo

log = observability.logger(__name__)
QS = jobs.DataQueryStatus
KIND = runs.Kind.DATAQUERY
RETRIES = 3  #: Zuora retries a failed attempt up to 3 times (reference 3.2)
DEFAULT_PAGE_SIZE = 20
MAX_PAGE_SIZE = 1000  #: Zuora raised the list's cap from 100 to 1000 in April 2024


def timestamp(value: dt.datetime) -> str:
    """``2024-07-09T09:47:49.675Z``: UTC with milliseconds, as Zuora shows job times."""
    utc = value.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def _not_found(job_id: str) -> dq_errors.DataQueryNotFound:
    return dq_errors.DataQueryNotFound(f"No such query: {job_id}")


@dataclass
class DataQueryService(run_service.RunService):
    links: data_file_links.DataFileLinks = field(
        default_factory=lambda: data_file_links.DataFileLinks(b"")
    )
    #: hears of every change this service commits (live job events)
    notifier: notifier_port.Notifier = field(default_factory=notifier_port.NullNotifier)

    # -- submit ---------------------------------------------------------------------------
    def submit(
        self,
        caller: tenancy.Principal,
        body: object,
        base_url: str,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Accept a job; its document (``queryStatus`` accepted)."""
        tenant = self._tenant(caller)
        request = dataquery_request.parse(body)
        key = _idempotency_key(idempotency_key)
        operation = _operation_hash(body)
        now = self.now(tenant.name)
        with self.metadata.begin() as conn:
            # Submits of one tenant take turns, on any node: each sees the jobs (and keys) of
            # those before it (SQLite serialises write transactions by itself).
            runs_repo.lock_tenant(conn, tenant.name)
            if key is not None:
                replayed = self._replayed(conn, tenant.name, key, operation, now)
                if replayed is not None:
                    return self.document(replayed, base_url)
            waiting = dataquery_repo.count_waiting(conn, tenant.name)
            if waiting >= tenant.limits.max_queued_data_queries:
                raise dq_errors.DataQueryQueueFull(
                    f"Too many queries are waiting: {waiting} of this tenant's queries are "
                    f"accepted and not yet running (the limit is "
                    f"{tenant.limits.max_queued_data_queries}); submit again when one has started."
                )
            job_id = ids.new_uuid()
            dataquery_repo.insert(conn, _new_job(job_id, tenant.name, caller.name, request, now))
            if key is not None:
                jobs_repo.record_idempotency(conn, tenant.name, key, operation, job_id, now)
            job = dataquery_repo.get(conn, tenant.name, job_id)
        assert job is not None
        observability.JOBS.labels(KIND.value, QS.ACCEPTED.value).inc()
        log.info("data query accepted", run_id=job_id, tenant=tenant.name)
        self.notifier.job_changed(tenant.name, job_id)
        self.runner.wake(job_id)
        return self.document(job, base_url)

    def _replayed(
        self, conn: sa.Connection, tenant: str, key: str, operation: str, now: dt.datetime
    ) -> dataquery_repo.DataQueryRecord | None:
        found = jobs_repo.find_idempotency(
            conn, tenant, key, since=now - run_service.IDEMPOTENCY_WINDOW
        )
        if found is None:
            return None
        bound_to, job_id = found
        if bound_to != operation:
            raise dq_errors.DataQueryBadRequest(
                "This Idempotency-Key was used in the last 24 hours for another request."
            )
        return dataquery_repo.get(conn, tenant, job_id)

    # -- read -----------------------------------------------------------------------------
    def record(self, caller: tenancy.Principal, job_id: str) -> dataquery_repo.DataQueryRecord:
        """The caller's job (an administrator: any job of the tenant), or the documented 404 /
        403."""
        tenant = self._tenant(caller)
        stored = ids.from_uuid(job_id)
        found = None
        if stored is not None:
            with database.read_only(self.metadata) as conn:
                found = dataquery_repo.get(conn, tenant.name, stored)
        if found is None:
            raise _not_found(job_id)
        if not caller.admin and found.created_by != caller.name:
            raise dq_errors.DataQueryAccessDenied(f"Access denied for restricted job {job_id}")
        return found

    def get(self, caller: tenancy.Principal, job_id: str, base_url: str) -> dict[str, Any]:
        return self.document(self.record(caller, job_id), base_url)

    def list_jobs(
        self,
        caller: tenancy.Principal,
        query_status: str | None,
        page_size: str | None,
        base_url: str,
    ) -> list[dict[str, Any]]:
        """The newest ``pageSize`` jobs (an administrator: everyone's), optionally of one
        status; jobs are kept ``data_query_retention_s`` (30 days by default, as Zuora)."""
        tenant = self._tenant(caller)
        status = _status(query_status)
        size = _page_size(page_size)
        since = self.now(tenant.name) - dt.timedelta(seconds=tenant.limits.data_query_retention_s)
        with database.read_only(self.metadata) as conn:
            found = dataquery_repo.newest(
                conn,
                tenant.name,
                status=status,
                created_by=None if caller.admin else caller.name,
                since=since,
                limit=size,
            )
        return [self.document(job, base_url) for job in found]

    # -- cancel ---------------------------------------------------------------------------
    def cancel(self, caller: tenancy.Principal, job_id: str, base_url: str) -> dict[str, Any]:
        """Stop a job that waits or runs; its document, ``cancelled``."""
        job = self.record(caller, job_id)
        with self.metadata.begin() as conn:
            status = runs_repo.apply_event(
                conn, KIND, job.id, jobs.DataQueryEvent.CANCEL, at=self.now(job.tenant),
                message="The query was cancelled.",
            )  # fmt: skip
        if status is None:
            raise dq_errors.DataQueryNotCancellable(
                f"Query job {job_id} is not in accepted or in_progress status"
            )
        self.notifier.job_changed(job.tenant, job.id)
        # The interrupt follows the committed transition, never the other way round.
        self.runner.cancel(job.id)
        observability.JOBS.labels(KIND.value, QS.CANCELLED.value).inc()
        log.info("data query cancelled", run_id=job.id, tenant=job.tenant)
        return self.document(self.record(caller, job_id), base_url)

    # -- the result file ------------------------------------------------------------------
    def data_file(
        self, tenant: str, file_id: str, expires: str | None, signature: str | None
    ) -> run_service.FileDownload:
        """The file a signed link names; :class:`DataFileUnavailable` when the link is forged or
        expired or the file is no longer kept."""
        problem = self.links.problem(tenant, file_id, expires, signature, self.now(tenant))
        if problem is not None:
            raise dq_errors.DataFileUnavailable(problem)
        found = self._published(tenant, file_id) if ids.is_id(file_id) else None
        if found is None:
            raise dq_errors.DataFileUnavailable(
                "This query result is no longer kept: run the query again."
            )
        return found

    def result_file(self, caller: tenancy.Principal, job_id: str) -> run_service.FileDownload:
        """A completed job's result file for a signed-in user (the Job Finder), named as its
        ``dataFile``; :class:`DataFileUnavailable` before it completes or once the file is no
        longer kept, 404 / 403 as for a get."""
        job = self.record(caller, job_id)
        found = None
        if job.status is QS.COMPLETED and job.file_id is not None:
            found = self._published(job.tenant, job.file_id)
        if found is None:
            raise dq_errors.DataFileUnavailable(
                f"Query job {job_id} has no result to download: it is {job.status.value}."
                if job.status is not QS.COMPLETED
                else "This query result is no longer kept: run the query again."
            )
        return dataclasses.replace(found, filename=result_name(job))

    # -- the wire document ----------------------------------------------------------------
    def result_link(self, job: dataquery_repo.DataQueryRecord, base_url: str) -> str | None:
        """A fresh signed link to a completed job's file (``base_url`` "" makes it a path);
        None before the job completes."""
        if job.status is not QS.COMPLETED or job.file_id is None:
            return None
        now = self.now(job.tenant)
        return self.links.url(base_url, job.tenant, job.file_id, result_name(job), now)

    def document(self, job: dataquery_repo.DataQueryRecord, base_url: str) -> dict[str, Any]:
        """The job as Zuora's ``DataQueryJob`` (reference 3.1), with the request's options."""
        found: dict[str, Any] = {
            "id": ids.dashed(job.id),
            "query": job.query,
            "queryStatus": job.status.value,
            "sourceData": job.source_data,
            "useIndexJoin": job.use_index_join,
            "remainingRetries": max(RETRIES - max(job.attempt - 1, 0), 0),
            "retries": RETRIES,
            "outputFormat": job.output_format,
            "compression": job.compression,
            "readDeleted": job.read_deleted,
            "createdOn": timestamp(job.created_at),
            "updatedOn": timestamp(job.updated_at),
            "createdBy": ids.user_uuid(job.tenant, job.created_by),
        }
        if job.column_separator is not None:
            found["columnSeparator"] = job.column_separator
        if job.warehouse_size is not None:
            found["warehouseSize"] = job.warehouse_size
        link = self.result_link(job, base_url)
        if link is not None:
            found["dataFile"] = link
            found["outputRows"] = job.row_count or 0
            found["processingTime"] = job.processing_ms or 0
        if job.status is QS.FAILED:
            found["errorMessage"] = job.message or "The query failed."
            found["errorCode"] = job.error_code or "QUERY_FAILED"
        return found


def result_name(job: dataquery_repo.DataQueryRecord) -> str:
    """The result file's name: the dashed job id and the extension of its format."""
    return f"{ids.dashed(job.id)}.{output.spec_of(job).file_extension()}"


def _new_job(
    job_id: str,
    tenant: str,
    user: str,
    request: dataquery_request.DataQueryRequest,
    now: dt.datetime,
) -> dataquery_repo.NewDataQuery:
    return dataquery_repo.NewDataQuery(
        id=job_id,
        tenant=tenant,
        created_by=user,
        created_at=now,
        query=request.query,
        output_format=request.output_format.value,
        compression=request.compression.value,
        column_separator=request.column_separator,
        encryption_key=request.encryption_key,
        read_deleted=request.read_deleted,
        source_data=request.source_data,
        use_index_join=request.use_index_join,
        warehouse_size=request.warehouse_size,
    )


def _status(value: str | None) -> jobs.DataQueryStatus | None:
    if value is None or value == "":
        return None
    for status in QS:
        if value.lower() == status.value:
            return status
    choices = ", ".join(status.value for status in QS)
    raise dq_errors.DataQueryBadRequest(f"queryStatus must be one of {choices}, not {value!r}")


def _page_size(value: str | None) -> int:
    if value is None or value == "":
        return DEFAULT_PAGE_SIZE
    if not value.isdecimal() or not 1 <= int(value) <= MAX_PAGE_SIZE:
        raise dq_errors.DataQueryBadRequest(
            f"pageSize must be a whole number from 1 to {MAX_PAGE_SIZE}, not {value!r}"
        )
    return int(value)


def _idempotency_key(value: str | None) -> str | None:
    if not value:
        return None
    if len(value) > run_service.MAX_IDEMPOTENCY_KEY:
        raise dq_errors.DataQueryBadRequest(
            f"The Idempotency-Key header is limited to {run_service.MAX_IDEMPOTENCY_KEY} "
            "characters."
        )
    return value


def _operation_hash(body: object) -> str:
    """What an Idempotency-Key is bound to: submitting this body as a Data Query."""
    operation = json.dumps(["dataquery", body], sort_keys=True, default=str)
    return hashlib.sha256(operation.encode("utf-8")).hexdigest()
