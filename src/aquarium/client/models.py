"""Typed results of the client, parsed from the wire JSON (frozen dataclasses).

Each ``*.parse`` function takes the decoded JSON of one answer and raises
:class:`~aquarium.client.errors.ClientError` ("unexpected answer") when a member the client
relies on is missing or of the wrong kind; members it does not use are ignored, so a newer server
that adds fields stays readable. Statuses use the domain's str-enums, whose values are the wire
values; Aquarium's own job list mixes both kinds of job, so its ``status`` stays a string.
Every result keeps the JSON object it was parsed from in ``wire`` (the ``--json`` output).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from aquarium.client import errors
from aquarium.domain import jobs

#: Statuses of Aquarium's job list (either kind) after which nothing changes, lower-cased.
FINISHED_STATUSES = frozenset({"completed", "aborted", "cancelled", "error", "invalid", "failed"})


class Fields:
    """Typed access to one JSON object of an answer; a wrong shape is a :class:`ClientError`.

    Also used by the models of :mod:`aquarium.client.dataquery`."""

    def __init__(self, document: Any, what: str) -> None:
        if not isinstance(document, dict):
            raise errors.ClientError(f"unexpected answer from the server: {what} is not an object")
        self._doc: dict[str, Any] = document
        self._what = what

    def _bad(self, key: str, kind: str) -> errors.ClientError:
        return errors.ClientError(
            f"unexpected answer from the server: {self._what}.{key} is not {kind}"
        )

    def text(self, key: str) -> str:
        value = self._doc.get(key)
        if not isinstance(value, str):
            raise self._bad(key, "a string")
        return value

    def optional_text(self, key: str) -> str | None:
        value = self._doc.get(key)
        if value is None:
            return None
        if not isinstance(value, str):
            raise self._bad(key, "a string")
        return value

    def integer(self, key: str, default: int = 0) -> int:
        value = self._doc.get(key, default)
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int):
            raise self._bad(key, "an integer")
        return value

    def optional_integer(self, key: str) -> int | None:
        return None if self._doc.get(key) is None else self.integer(key)

    def optional_bool(self, key: str) -> bool | None:
        value = self._doc.get(key)
        return value if isinstance(value, bool) else None

    def time(self, key: str) -> dt.datetime | None:
        """An ISO 8601 timestamp (``...Z``, ``...+0000``), or ``None`` when absent."""
        text = self.optional_text(key)
        if text is None:
            return None
        try:
            return dt.datetime.fromisoformat(text)
        except ValueError:
            raise self._bad(key, "an ISO 8601 timestamp") from None

    def objects(self, key: str) -> list[Any]:
        value = self._doc.get(key, [])
        if not isinstance(value, list):
            raise self._bad(key, "a list")
        return value

    def texts(self, key: str) -> tuple[str, ...]:
        values = self.objects(key)
        if not all(isinstance(v, str) for v in values):
            raise self._bad(key, "a list of strings")
        return tuple(values)

    def member(self, key: str) -> Any:
        return self._doc.get(key)


@dataclass(frozen=True)
class Wire:
    """Base of every result: ``wire`` is the JSON object it was parsed from, as the server sent
    it (camelCase keys); empty for a result made in code. Not part of equality."""

    wire: Mapping[str, Any] = field(default_factory=dict, compare=False, repr=False, kw_only=True)


_Status = TypeVar("_Status", jobs.JobStatus, jobs.BatchStatus, jobs.ReportRunStatus)


def _enum_value(kind: type[_Status], value: str, what: str) -> _Status:
    try:
        return kind(value)
    except ValueError:
        raise errors.ClientError(
            f"unexpected answer from the server: {what} status {value!r}"
        ) from None


# -- AQuA (Zuora's wire) ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Batch(Wire):
    """One query of an AQuA job, as ``GET /v1/batch-query/jobs/{id}`` answers it."""

    id: str
    name: str
    query: str
    status: jobs.BatchStatus
    record_count: int
    message: str  #: empty unless the batch failed (or before it ran)
    file_id: str | None  #: set once completed, unless the result is segmented
    segments: tuple[str, ...]  #: the file ids of a segmented result, in order
    full: bool | None  #: full load (True) or incremental (False)
    batch_type: str

    @property
    def file_ids(self) -> tuple[str, ...]:
        """The batch's result files in order: its segments, or its one file, or none."""
        if self.segments:
            return self.segments
        return (self.file_id,) if self.file_id else ()


@dataclass(frozen=True)
class Job(Wire):
    """An AQuA job with its batches."""

    id: str
    name: str | None
    status: jobs.JobStatus
    format: str  #: upper case, as the server echoes it: CSV, GZIP, ZIP
    version: str
    encrypted: str  #: "none" or "pgp"
    batches: tuple[Batch, ...]
    start_time: str | None  #: Zuora's ``2014-09-03 08:20:07``, in the tenant's time zone
    partner: str | None
    project: str | None

    @property
    def finished(self) -> bool:
        """True once the job is completed, aborted, cancelled or in error."""
        return self.status.terminal


def parse_batch(document: Any) -> Batch:
    fields = Fields(document, "batch")
    return Batch(
        wire=document,
        id=fields.text("batchId"),
        name=fields.text("name"),
        query=fields.text("query"),
        status=_enum_value(jobs.BatchStatus, fields.text("status"), "batch"),
        record_count=fields.integer("recordCount"),
        message=fields.optional_text("message") or "",
        file_id=fields.optional_text("fileId"),
        segments=fields.texts("segments"),
        full=fields.optional_bool("full"),
        batch_type=fields.optional_text("batchType") or "zoqlexport",
    )


def parse_job(document: Any) -> Job:
    fields = Fields(document, "job")
    return Job(
        wire=document,
        id=fields.text("id"),
        name=fields.optional_text("name"),
        status=_enum_value(jobs.JobStatus, fields.text("status"), "job"),
        format=fields.optional_text("format") or "CSV",
        version=str(fields.member("version") or ""),
        encrypted=fields.optional_text("encrypted") or "none",
        batches=tuple(parse_batch(b) for b in fields.objects("batches")),
        start_time=fields.optional_text("startTime"),
        partner=fields.optional_text("partner"),
        project=fields.optional_text("project"),
    )


# -- Aquarium's own job API (docs/job-finder-api.md) -----------------------------------------------


@dataclass(frozen=True)
class Progress(Wire):
    """How far a job has got: batches done, rows and bytes written so far."""

    batches: int
    batches_done: int
    rows_written: int
    bytes_written: int
    elapsed_ms: int


@dataclass(frozen=True)
class JobSummary(Wire):
    """One job of any kind (``aqua``, ``report`` or ``dataquery``) in Aquarium's job list."""

    id: str
    kind: str  #: "aqua", "report" or "dataquery"
    name: str | None
    status: str  #: as on its own wire: "executing" for AQuA, "QUERYDATA" for a report run
    created_by: str | None
    created_at: dt.datetime | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    partner: str | None
    project: str | None
    report_id: str | None
    view_type: str | None
    message: str | None
    progress: Progress | None

    @property
    def finished(self) -> bool:
        return self.status.lower() in FINISHED_STATUSES


@dataclass(frozen=True)
class BatchProgress(Wire):
    """One batch of a job's detail, with the rows and bytes written so far while it runs."""

    id: str
    name: str
    status: str
    record_count: int
    rows_written: int
    bytes_written: int
    elapsed_ms: int
    file_id: str | None
    message: str


@dataclass(frozen=True)
class Download(Wire):
    """A finished file of a job, with the Zuora URL that serves it."""

    name: str
    url: str
    sha256: str | None
    size: int | None
    record_count: int | None


@dataclass(frozen=True)
class JobDetail(Wire):
    """``GET /aquarium/api/v1/jobs/{id}``: the job, its batches' progress, its finished files."""

    summary: JobSummary
    batches: tuple[BatchProgress, ...]
    downloads: tuple[Download, ...]


@dataclass(frozen=True)
class JobPage(Wire):
    """One page of the job list; ``next_cursor`` is ``None`` on the last page."""

    jobs: tuple[JobSummary, ...]
    next_cursor: str | None


def parse_progress(document: Any) -> Progress | None:
    if document is None:
        return None
    fields = Fields(document, "progress")
    return Progress(
        wire=document,
        batches=fields.integer("batches"),
        batches_done=fields.integer("batchesDone"),
        rows_written=fields.integer("rowsWritten"),
        bytes_written=fields.integer("bytesWritten"),
        elapsed_ms=fields.integer("elapsedMs"),
    )


def parse_job_summary(document: Any) -> JobSummary:
    fields = Fields(document, "job")
    return JobSummary(
        wire=document,
        id=fields.text("id"),
        kind=fields.text("kind"),
        name=fields.optional_text("name"),
        status=fields.text("status"),
        created_by=fields.optional_text("createdBy"),
        created_at=fields.time("createdAt"),
        started_at=fields.time("startedAt"),
        finished_at=fields.time("finishedAt"),
        partner=fields.optional_text("partner"),
        project=fields.optional_text("project"),
        report_id=fields.optional_text("reportId"),
        view_type=fields.optional_text("viewType"),
        message=fields.optional_text("message"),
        progress=parse_progress(fields.member("progress")),
    )


def parse_batch_progress(document: Any) -> BatchProgress:
    fields = Fields(document, "batch")
    return BatchProgress(
        wire=document,
        id=fields.text("id"),
        name=fields.optional_text("name") or "",
        status=fields.text("status"),
        record_count=fields.integer("recordCount"),
        rows_written=fields.integer("rowsWritten"),
        bytes_written=fields.integer("bytesWritten"),
        elapsed_ms=fields.integer("elapsedMs"),
        file_id=fields.optional_text("fileId"),
        message=fields.optional_text("message") or "",
    )


def parse_download(document: Any) -> Download:
    fields = Fields(document, "download")
    return Download(
        wire=document,
        name=fields.optional_text("name") or "",
        url=fields.text("url"),
        sha256=fields.optional_text("sha256"),
        size=fields.optional_integer("size"),
        record_count=fields.optional_integer("recordCount"),
    )


def parse_job_detail(document: Any) -> JobDetail:
    fields = Fields(document, "job")
    return JobDetail(
        wire=document,
        summary=parse_job_summary(document),
        batches=tuple(parse_batch_progress(b) for b in fields.objects("batches")),
        downloads=tuple(parse_download(d) for d in fields.objects("downloads")),
    )


def parse_job_page(document: Any) -> JobPage:
    fields = Fields(document, "page")
    return JobPage(
        wire=document,
        jobs=tuple(parse_job_summary(j) for j in fields.objects("jobs")),
        next_cursor=fields.optional_text("nextCursor"),
    )


# -- Reporting (Zuora's wire) ----------------------------------------------------------------------


@dataclass(frozen=True)
class Report(Wire):
    """A report definition, as ``GET /reports/search`` lists it."""

    id: str
    name: str
    number: str | None
    view_type: str | None  #: the view it opens in: "Detail" or "Summary"
    data_source: str | None  #: the data source object, e.g. "InvoiceItem"
    description: str | None
    creator: str | None
    updated_on: dt.datetime | None


@dataclass(frozen=True)
class ReportRun(Wire):
    """A report run; ``row_count`` and ``completed_on`` appear once it has completed."""

    id: str
    report_id: str | None
    report_name: str | None
    view_type: str | None  #: the wire's ``reportType``: "Detail" or "Summary"
    status: jobs.ReportRunStatus
    started_on: dt.datetime | None
    updated_on: dt.datetime | None
    completed_on: dt.datetime | None
    row_count: int | None
    error_message: str | None
    created_by: str | None

    @property
    def finished(self) -> bool:
        """True once the run is COMPLETED, CANCELLED, ERROR or INVALID."""
        return self.status.terminal


@dataclass(frozen=True)
class ReportRunPage(Wire):
    """One page of the report-run list (pages count from 1)."""

    runs: tuple[ReportRun, ...]
    total_count: int
    total_pages: int
    page: int
    page_size: int


@dataclass(frozen=True)
class ReportData(Wire):
    """A page of a completed run's display values, each row keyed ``Object.Field``."""

    rows: tuple[Mapping[str, str], ...]
    offset: int
    size: int
    total: int


def parse_report(document: Any) -> Report:
    fields = Fields(document, "report")
    return Report(
        wire=document,
        id=fields.text("id"),
        name=fields.text("name"),
        number=fields.optional_text("number"),
        view_type=fields.optional_text("viewType"),
        data_source=fields.optional_text("dsName"),
        description=fields.optional_text("description"),
        creator=fields.optional_text("creator"),
        updated_on=fields.time("updatedOn"),
    )


def parse_reports(document: Any) -> list[Report]:
    return [parse_report(r) for r in Fields(document, "answer").objects("reports")]


def parse_report_run(document: Any) -> ReportRun:
    fields = Fields(document, "run")
    profile = fields.member("createdByUserProfile")
    created_by = profile.get("username") if isinstance(profile, dict) else None
    return ReportRun(
        wire=document,
        id=fields.text("id"),
        report_id=fields.optional_text("reportId"),
        report_name=fields.optional_text("reportName"),
        view_type=fields.optional_text("reportType"),
        status=_enum_value(jobs.ReportRunStatus, fields.text("status"), "report run"),
        started_on=fields.time("startedOn"),
        updated_on=fields.time("updatedOn"),
        completed_on=fields.time("completedOn"),
        row_count=fields.optional_integer("rowCount"),
        error_message=fields.optional_text("errorMessage"),
        created_by=created_by if isinstance(created_by, str) else None,
    )


def parse_report_run_page(document: Any) -> ReportRunPage:
    fields = Fields(document, "run list")
    return ReportRunPage(
        wire=document,
        runs=tuple(parse_report_run(r) for r in fields.objects("elements")),
        total_count=fields.integer("totalCount"),
        total_pages=fields.integer("totalPage"),
        page=fields.integer("currentPage", 1),
        page_size=fields.integer("pageSize"),
    )


def parse_report_data(document: Any) -> ReportData:
    fields = Fields(document, "report data")
    rows = fields.objects("page")
    if not all(isinstance(row, dict) for row in rows):
        raise errors.ClientError("unexpected answer from the server: report data rows")
    return ReportData(
        wire=document,
        rows=tuple({str(k): "" if v is None else str(v) for k, v in row.items()} for row in rows),
        offset=fields.integer("offset"),
        size=fields.integer("size"),
        total=fields.integer("total"),
    )
