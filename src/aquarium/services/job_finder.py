"""The Job Finder's use cases: jobs of every kind listed, shown in detail, cancelled.

Aquarium's own API (docs/job-finder-api.md), used by the web UI, the CLI and the Python client.
AQuA jobs, report runs and Data Query jobs appear side by side; a job of another tenant answers
exactly like an unknown one, and so does another user's Data Query job to anyone but an
administrator (the Data Query API shows them so). Cancelling goes through the same service calls
as Zuora's DELETEs, so the engine interrupt and the sticky terminal states are the ones of those
paths.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import sqlalchemy as sa

from aquarium import observability
from aquarium.domain import clock as clock_port
from aquarium.domain import dataquery_errors as dq_errors
from aquarium.domain import errors, ids, jobs, reporting_errors, runs, tenancy, tenant_clocks
from aquarium.services import aqua, json_input, report_runs
from aquarium.services import data_queries as data_query_service
from aquarium.store import (
    database,
    dataquery_repo,
    files_repo,
    job_finder_repo,
    jobs_repo,
    report_runs_repo,
    runs_repo,
)

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
SORTS = tuple(job_finder_repo.SORT_COLUMNS)
STATUS_WORDS = ("active", "finished")
KNOWN_STATUSES = frozenset(
    {s.value.lower() for s in jobs.JobStatus}
    | {s.value.lower() for s in jobs.ReportRunStatus}
    | {s.value.lower() for s in jobs.DataQueryStatus}
)
#: How much of a Data Query job's query (whitespace collapsed) its ``name`` shows.
QUERY_NAME_SHOWN = 120
Record = jobs_repo.JobRecord | report_runs_repo.ReportRunRecord | dataquery_repo.DataQueryRecord


def stamp(value: dt.datetime | None) -> str | None:
    """``2026-12-01T10:00:00.123Z`` or None."""
    if value is None:
        return None
    utc = value.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class JobQuery:
    """A list request: filters, order, page size and where the page starts."""

    filters: job_finder_repo.Filters = field(default_factory=job_finder_repo.Filters)
    sort: str = "createdAt"
    descending: bool = True
    limit: int = DEFAULT_LIMIT
    after: tuple[object, str] | None = None

    @classmethod
    def parse(cls, params: Mapping[str, Sequence[str]]) -> JobQuery:
        """From query parameters (each a list of values); ``errors.BadJobQuery`` says what is
        wrong."""

        def one(name: str) -> str | None:
            values = params.get(name) or []
            return values[-1] if values else None

        kinds = tuple(k.lower() for k in params.get("kind") or ()) or job_finder_repo.KINDS
        unknown = [k for k in kinds if k not in job_finder_repo.KINDS]
        if unknown:
            choices = ", ".join(job_finder_repo.KINDS)
            raise errors.BadJobQuery(f"unknown kind {unknown[0]!r}: use one of {choices}")
        statuses = tuple(s.lower() for s in params.get("status") or ())
        for status in statuses:
            if status not in KNOWN_STATUSES and status not in STATUS_WORDS:
                raise errors.BadJobQuery(f"unknown status {status!r}")
        sort = one("sort") or "-createdAt"
        descending = sort.startswith("-")
        if sort.lstrip("-") not in SORTS:
            raise errors.BadJobQuery(
                f"cannot sort by {sort!r}: use {', '.join(SORTS)} (- for descending)"
            )
        filters = job_finder_repo.Filters(
            kinds=kinds,
            statuses=statuses,
            partner=one("partner"),
            project=one("project"),
            created_by=one("createdBy"),
            since=_instant("since", one("since")),
            until=_instant("until", one("until")),
        )
        cursor = one("cursor")
        return cls(
            filters=filters,
            sort=sort.lstrip("-"),
            descending=descending,
            limit=_limit(one("limit")),
            after=_decode_cursor(cursor, sort.lstrip("-")) if cursor else None,
        )


def _instant(name: str, value: str | None) -> dt.datetime | None:
    if value is None or value == "":
        return None
    try:
        found = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise errors.BadJobQuery(
            f"{name} must be an ISO 8601 time such as 2026-12-01T00:00:00Z"
        ) from None
    return found if found.tzinfo else found.replace(tzinfo=dt.UTC)


def _limit(value: str | None) -> int:
    if value is None or value == "":
        return DEFAULT_LIMIT
    try:
        number = int(value)
    except ValueError:
        number = 0
    if not 1 <= number <= MAX_LIMIT:
        raise errors.BadJobQuery(f"limit must be a whole number from 1 to {MAX_LIMIT}")
    return number


def _encode_cursor(row: job_finder_repo.JobRow, sort: str) -> str:
    value: object = getattr(row, job_finder_repo.SORT_COLUMNS[sort])
    if isinstance(value, dt.datetime):
        value = value.isoformat()
    raw = json.dumps([sort, value, row.id]).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def _decode_cursor(cursor: str, sort: str) -> tuple[object, str]:
    try:
        parts = json_input.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))
    except (binascii.Error, ValueError, errors.MalformedRequest):
        parts = None
    if not isinstance(parts, list) or len(parts) != 3:
        raise errors.BadJobQuery("the cursor is not one this server gave out")
    written, value, last_id = parts
    if written != sort or not isinstance(last_id, str) or not isinstance(value, str):
        raise errors.BadJobQuery("the cursor belongs to a list in another order")
    if sort == "createdAt":
        try:
            return dt.datetime.fromisoformat(value), last_id
        except ValueError:
            raise errors.BadJobQuery("the cursor is not one this server gave out") from None
    return value, last_id


@dataclass
class JobFinder:
    metadata: sa.Engine
    aqua: aqua.AquaService
    report_runs: report_runs.ReportRunService
    clock: clock_port.Clock
    data_queries: data_query_service.DataQueryService | None = None

    # -- list ---------------------------------------------------------------------------
    def list_jobs(self, caller: tenancy.Principal, query: JobQuery) -> dict[str, Any]:
        with database.read_only(self.metadata) as conn:
            rows = job_finder_repo.page(
                conn,
                caller.tenant,
                query.filters,
                sort=query.sort,
                descending=query.descending,
                after=query.after,
                limit=query.limit + 1,
                viewer=_viewer(caller),
            )
        shown = rows[: query.limit]
        now = tenant_clocks.clock_for(self.clock, caller.tenant).now()
        more = len(rows) > query.limit
        return {
            "jobs": [_summary(row, now) for row in shown],
            "nextCursor": _encode_cursor(shown[-1], query.sort) if more and shown else None,
        }

    # -- one job ------------------------------------------------------------------------
    def job(self, caller: tenancy.Principal, job_id: str) -> dict[str, Any]:
        """A job in detail; errors.NotFound for an unknown or foreign id."""
        with database.read_only(self.metadata) as conn:
            row = job_finder_repo.row(conn, caller.tenant, job_id, viewer=_viewer(caller))
            record = _record(conn, caller.tenant, row) if row is not None else None
            files = files_repo.files_of_job(conn, job_id) if record is not None else []
        if row is None or record is None:
            raise errors.NotFound(f"there is no job {job_id}")
        now = tenant_clocks.clock_for(self.clock, caller.tenant).now()
        found = _summary(row, now)
        if isinstance(record, jobs_repo.JobRecord):
            return found | _aqua_detail(record, files, now)
        if isinstance(record, dataquery_repo.DataQueryRecord):
            link = self._data_queries().result_link(record, "")
            return found | _dataquery_detail(record, files, link)
        return found | _run_detail(record, files)

    def _data_queries(self) -> data_query_service.DataQueryService:
        if self.data_queries is None:
            raise errors.NotFound("Data Query jobs are not available on this server")
        return self.data_queries

    def state(self, caller: tenancy.Principal, job_id: str) -> dict[str, str] | None:
        """``{"id", "kind", "status"}`` of one of the caller's jobs, or None."""
        with database.read_only(self.metadata) as conn:
            found = job_finder_repo.state_of(conn, caller.tenant, job_id, viewer=_viewer(caller))
        return None if found is None else {"id": job_id, "kind": found[0], "status": found[1]}

    def cancel(self, caller: tenancy.Principal, job_id: str) -> dict[str, Any]:
        """Cancel a job of any kind in progress (a cancelled one answers the same again);
        ``errors.JobAlreadyFinished`` once it has finished, ``errors.JobCancelNotAllowed`` for
        another user's report run (non-admins)."""
        found = self.job(caller, job_id)
        try:
            if found["kind"] == runs.Kind.AQUA:
                self.aqua.cancel(caller, job_id)
            elif found["kind"] == runs.Kind.DATAQUERY:
                self._cancel_data_query(caller, job_id, found["status"])
            else:
                self.report_runs.cancel(caller, job_id)
        except errors.JobNotCancellable as exc:
            raise errors.JobAlreadyFinished(f"job {job_id} is already {exc.status}") from None
        except reporting_errors.ReportRunNotCancellable as exc:
            raise errors.JobAlreadyFinished(exc.message) from None
        except reporting_errors.ReportRunCancelNotAllowed as exc:
            raise errors.JobCancelNotAllowed(exc.message) from None
        return self.job(caller, job_id)

    def _cancel_data_query(self, caller: tenancy.Principal, job_id: str, status: str) -> None:
        """Through the Data Query API's cancel (it interrupts the running statement); Zuora
        refuses a second cancel, the job API answers it as for the other kinds."""
        try:
            self._data_queries().cancel(caller, job_id, "")
        except dq_errors.DataQueryNotCancellable:
            if status != jobs.DataQueryStatus.CANCELLED:
                raise errors.JobAlreadyFinished(f"job {job_id} is already {status}") from None
        except dq_errors.DataQueryAccessDenied as exc:
            raise errors.JobCancelNotAllowed(exc.message) from None
        except dq_errors.DataQueryNotFound:
            raise errors.NotFound(f"there is no job {job_id}") from None

    def refresh_gauges(self) -> None:
        """Set the stored-runs-by-status and queue-depth gauges from the store (/metrics)."""
        waiting = 0
        with database.read_only(self.metadata) as conn:
            for kind, machine in jobs.MACHINES.items():
                counts = runs_repo.count_by_status(conn, kind)
                waiting += counts.get(machine.queued, 0)
                for status in machine.statuses:
                    gauge = observability.JOBS_BY_STATUS.labels(kind.value, status.value)
                    gauge.set(counts.get(status, 0))
        observability.QUEUE_DEPTH.set(waiting)


def _viewer(caller: tenancy.Principal) -> str | None:
    """Whose Data Query jobs the caller sees: None (an administrator) for everyone's."""
    return None if caller.admin else caller.name


def _record(conn: sa.Connection, tenant: str, row: job_finder_repo.JobRow) -> Record | None:
    """The run's record with its kind's particulars; None when it vanished meanwhile."""
    if row.kind == runs.Kind.AQUA:
        return jobs_repo.get_job(conn, tenant, row.id)
    if row.kind == runs.Kind.REPORT:
        return report_runs_repo.get(conn, tenant, row.id)
    return dataquery_repo.get(conn, tenant, row.id)


def _elapsed_ms(start: dt.datetime | None, end: dt.datetime | None, now: dt.datetime) -> int:
    if start is None:
        return 0
    return max(int(((end or now) - start).total_seconds() * 1000), 0)


def _progress(row: job_finder_repo.JobRow, now: dt.datetime) -> dict[str, int]:
    """How far a run has got: an AQuA job by its batches, a report run or a Data Query job as
    one step."""
    elapsed = _elapsed_ms(row.started_at, row.finished_at, now)
    if row.kind != runs.Kind.AQUA:
        done = row.status in {jobs.ReportRunStatus.COMPLETED, jobs.DataQueryStatus.COMPLETED}
        return {
            "batches": 1,
            "batchesDone": 1 if done else 0,
            "rowsWritten": row.row_count or 0,
            "bytesWritten": 0,
            "elapsedMs": elapsed,
        }
    return {
        "batches": row.batches,
        "batchesDone": row.batches_done,
        "rowsWritten": row.rows_written,
        "bytesWritten": row.bytes_written,
        "elapsedMs": elapsed,
    }


def _summary(row: job_finder_repo.JobRow, now: dt.datetime) -> dict[str, Any]:
    return {
        "id": row.id,
        "kind": row.kind,
        "name": _query_name(row.name) if row.kind == runs.Kind.DATAQUERY else row.name,
        "status": row.status,
        "createdBy": row.created_by,
        "createdAt": stamp(row.created_at),
        "startedAt": stamp(row.started_at),
        "finishedAt": stamp(row.finished_at),
        "partner": row.partner,
        "project": row.project,
        "reportId": row.report_id,
        "viewType": row.view_type,
        "outputFormat": row.output_format,
        "message": row.message or None,
        "progress": _progress(row, now),
    }


def _query_name(query: str) -> str:
    """A Data Query job's name in a list: the start of its query on one line."""
    one_line = " ".join(query.split())
    if len(one_line) <= QUERY_NAME_SHOWN:
        return one_line
    return one_line[: QUERY_NAME_SHOWN - 1].rstrip() + "…"


def _download(name: str, url: str, file: files_repo.FileRecord) -> dict[str, Any]:
    return {
        "name": name,
        "url": url,
        "sha256": file.sha256,
        "size": file.size,
        "recordCount": file.record_count,
    }


def _aqua_detail(
    job: jobs_repo.JobRecord, files: Sequence[files_repo.FileRecord], now: dt.datetime
) -> dict[str, Any]:
    """What the detail of an AQuA job adds to its summary: settings, batches, downloads."""
    found: dict[str, Any] = {}
    found["settings"] = {
        "format": job.format,
        "version": job.version,
        "encrypted": job.encrypted,
        "stateful": job.stateful,
        "nullReplacement": job.null_replacement,
        "useQueryLabels": job.use_query_labels,
        "dateTimeUtc": job.date_time_utc,
        "notifyUrl": job.notify_url,
        "partner": job.partner,
        "project": job.project,
    }
    found["batches"] = [
        {
            "id": b.id,
            "name": b.name,
            "query": b.query,
            "type": b.batch_type,
            "status": b.status.value,
            "recordCount": b.record_count,
            "rowsWritten": b.rows_written,
            "bytesWritten": b.bytes_written,
            "elapsedMs": _elapsed_ms(b.started_at, b.finished_at, now),
            "message": b.message,
            "startedAt": stamp(b.started_at),
            "finishedAt": stamp(b.finished_at),
            "fileId": b.file_id,
            "sha256": b.sha256,
            "segments": list(b.segments),
        }
        for b in job.batches
    ]
    names = {b.id: b.name for b in job.batches}
    found["downloads"] = [
        _download(names.get(f.batch_id or "", f.id), f"/v1/file/{f.id}", f) for f in files
    ]
    return found


def _run_detail(
    run: report_runs_repo.ReportRunRecord, files: Sequence[files_repo.FileRecord]
) -> dict[str, Any]:
    """What the detail of a report run adds to its summary: its rows and exports."""
    found: dict[str, Any] = {"rowCount": run.row_count}
    by_id = {f.id: f for f in files}
    export = f"/api/rest/v1/reportruns/export/{run.id}"
    downloads = []
    if run.export_file_id in by_id:
        downloads.append(_download("export", export, by_id[run.export_file_id or ""]))
    if run.pivoted_file_id in by_id:
        pivoted = by_id[run.pivoted_file_id or ""]
        downloads.append(_download("crosstab", f"{export}?pivoted=true", pivoted))
    found["downloads"] = downloads
    return found


def _dataquery_detail(
    job: dataquery_repo.DataQueryRecord,
    files: Sequence[files_repo.FileRecord],
    link: str | None,
) -> dict[str, Any]:
    """What the detail of a Data Query job adds to its summary: the whole query, its options,
    its result and the signed link to its file (a path on this server, no credentials needed)."""
    found: dict[str, Any] = {
        "dataQueryId": ids.dashed(job.id),
        "query": job.query,
        "settings": {
            "outputFormat": job.output_format,
            "compression": job.compression,
            "columnSeparator": job.column_separator,
            "encrypted": job.encryption_key is not None,
            "readDeleted": job.read_deleted,
            "sourceData": job.source_data,
            "useIndexJoin": job.use_index_join,
            "warehouseSize": job.warehouse_size,
        },
        "rowCount": job.row_count,
        "processingTime": job.processing_ms,
        "errorCode": job.error_code,
    }
    by_id = {f.id: f for f in files}
    result = by_id.get(job.file_id or "")
    found["downloads"] = (
        [_download(data_query_service.result_name(job), link, result)]
        if link is not None and result is not None
        else []
    )
    return found
