"""Data Query jobs (``/query/jobs``, docs/data-query.md): :class:`DataQueries`, the part of the
:class:`~aquarium.client.Client` at ``client.data_queries``, and its typed job.

::

    with Client(url, credentials) as api:
        job = api.data_queries.submit("select accountnumber, balance from account")
        job = api.data_queries.wait(job.id, on_progress=lambda job: print(job.status))
        if job.status is DataQueryStatus.COMPLETED:
            api.data_queries.download(job.id, Path("balances.csv"))

Every answer is ``{"data": ...}``; errors are a flat ``{"code", "message"}`` and become the
client's exceptions (:mod:`aquarium.client.errors`): 404 code 1001 ``No such query: <id>`` is
:class:`~aquarium.client.errors.NotFound`, a refused cancel (1003), a bad body (400), a full
queue (429) are :class:`~aquarium.client.errors.Refused` with the code. A query that fails is
not an HTTP error: the job ends ``failed`` with ``errorMessage`` (and ``errorCode``).

The result file is at ``dataFile``, an absolute pre-signed URL fetched without credentials; a
download resumes with ``Range`` as every download of the client does (:mod:`.files`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import time
import urllib.parse
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from aquarium.client import errors, events, files, models, session

JOBS_PATH = "/query/jobs"
FIRST_POLL_S = 0.25  # seconds before the second read of a wait (then longer, events.poll)
MAX_POLL_S = 5.0  # seconds between two reads of a job that has stayed the same a while
#: The result file's suffix by ``outputFormat`` (JSON is JSON Lines), then by ``compression``.
SUFFIX_BY_FORMAT = {"JSON": ".jsonl", "CSV": ".csv", "TSV": ".tsv", "DSV": ".dsv"}
SUFFIX_BY_COMPRESSION = {"GZIP": ".gz", "ZIP": ".zip"}


class DataQueryStatus(enum.StrEnum):
    """A Data Query job's ``queryStatus``, values as on the wire.

    Not the domain's :class:`aquarium.domain.jobs.DataQueryStatus`: the client also talks to
    Zuora, whose enum has ``submitted``, a status Aquarium never shows. Every domain value is
    here too (tests/unit/test_client_dataquery.py checks).
    """

    SUBMITTED = "submitted"  #: handed to the query service (Zuora's enum; Aquarium says accepted)
    ACCEPTED = "accepted"  #: queued, waiting for its turn
    IN_PROGRESS = "in_progress"  #: running
    COMPLETED = "completed"  #: finished; ``dataFile``, ``outputRows``, ``processingTime`` set
    FAILED = "failed"  #: the query could not run; ``errorMessage`` says why
    CANCELLED = "cancelled"  #: stopped by DELETE

    @property
    def terminal(self) -> bool:
        return self in {self.COMPLETED, self.FAILED, self.CANCELLED}


@dataclasses.dataclass(frozen=True)
class DataQueryJob(models.Wire):
    """A Data Query job as ``GET /query/jobs/{id}`` answers it; the result members are ``None``
    until it has completed, the error members unless it failed."""

    id: str  #: a 36-character dashed UUID
    query: str
    status: DataQueryStatus  #: the wire's ``queryStatus``
    source_data: str | None  #: LIVE, WAREHOUSE or DATAHUB
    use_index_join: bool | None
    output_format: str | None  #: JSON, CSV, TSV or DSV
    compression: str | None  #: NONE, GZIP or ZIP
    column_separator: str | None  #: DSV only
    read_deleted: bool | None
    remaining_retries: int | None
    retries: int | None
    created_by: str | None
    created_on: dt.datetime | None
    updated_on: dt.datetime | None
    data_file: str | None  #: the result's pre-signed URL, once completed
    output_rows: int | None
    processing_time_ms: int | None  #: the wire's ``processingTime``
    error_message: str | None
    error_code: str | None

    @property
    def finished(self) -> bool:
        """True once the job is completed, failed or cancelled."""
        return self.status.terminal


def parse_job(document: Any) -> DataQueryJob:
    """A job from its JSON object (the ``data`` member of an answer)."""
    fields = models.Fields(document, "query job")
    status = fields.text("queryStatus")
    try:
        query_status = DataQueryStatus(status)
    except ValueError:
        raise errors.ClientError(
            f"unexpected answer from the server: query job status {status!r}"
        ) from None
    error_code = fields.member("errorCode")
    return DataQueryJob(
        wire=document,
        id=fields.text("id"),
        query=fields.optional_text("query") or "",
        status=query_status,
        source_data=fields.optional_text("sourceData"),
        use_index_join=fields.optional_bool("useIndexJoin"),
        output_format=fields.optional_text("outputFormat"),
        compression=fields.optional_text("compression"),
        column_separator=fields.optional_text("columnSeparator"),
        read_deleted=fields.optional_bool("readDeleted"),
        remaining_retries=fields.optional_integer("remainingRetries"),
        retries=fields.optional_integer("retries"),
        created_by=fields.optional_text("createdBy"),
        created_on=fields.time("createdOn"),
        updated_on=fields.time("updatedOn"),
        data_file=fields.optional_text("dataFile"),
        output_rows=fields.optional_integer("outputRows"),
        processing_time_ms=fields.optional_integer("processingTime"),
        error_message=fields.optional_text("errorMessage"),
        error_code=None if error_code is None else str(error_code),
    )


def _data(answer: Any) -> Any:
    """The ``data`` member of a Data Query answer."""
    if not isinstance(answer, dict) or "data" not in answer:
        raise errors.ClientError("unexpected answer from the Data Query API: no 'data'")
    return answer["data"]


def parse_answer(answer: Any) -> DataQueryJob:
    """The job of a ``{"data": job}`` answer (submit, get, cancel)."""
    return parse_job(_data(answer))


def parse_list(answer: Any) -> tuple[DataQueryJob, ...]:
    """The jobs of a ``{"data": [job, ...]}`` answer (list), in the server's order."""
    jobs = _data(answer)
    if not isinstance(jobs, list):
        raise errors.ClientError("unexpected answer from the Data Query API: data is not a list")
    return tuple(parse_job(job) for job in jobs)


def file_name(job: DataQueryJob) -> str:
    """A file name for the job's result: the last part of its ``dataFile`` URL's path (Zuora's
    ``<id>_<digits>.jsonl``) with characters other than letters, digits, ``.``, ``_`` and ``-``
    made ``_``; else ``<id>`` with the suffix its format and compression imply (``.csv``,
    ``.jsonl.gz``, ``.tsv.zip`` ...)."""
    if job.data_file:
        last = urllib.parse.urlsplit(job.data_file).path.rsplit("/", 1)[-1]
        safe = files.UNSAFE_IN_FILE_NAME.sub("_", urllib.parse.unquote(last)).strip("._")
        if safe:
            return safe
    suffix = SUFFIX_BY_FORMAT.get((job.output_format or "").upper(), "")
    return job.id + suffix + SUFFIX_BY_COMPRESSION.get((job.compression or "").upper(), "")


#: Called on every read of :meth:`DataQueries.wait`, the last time with the finished job.
ProgressCallback = Callable[[DataQueryJob], None]


def _segment(value: str) -> str:
    """An id as one path segment: whatever it holds, it cannot reach another path."""
    if value in {"", ".", ".."}:  # URL normalisation would make these another path
        raise errors.NotFound(f"{value!r} is not a query job id")
    return urllib.parse.quote(value, safe="")


class DataQueries:
    """Data Query jobs on the client's session: ``client.data_queries``.

    Every method raises :class:`~aquarium.client.errors.ClientError` subclasses only.
    """

    def __init__(
        self,
        http: session.Session,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._http = http
        self._clock = clock
        self._sleep = sleep

    def submit(
        self,
        query: str,
        *,
        output_format: str = "CSV",
        compression: str = "NONE",
        column_separator: str | None = None,
        read_deleted: bool | None = None,
        encryption_key: str | None = None,
        source_data: str | None = None,
        use_index_join: bool | None = None,
        warehouse_size: str | None = None,
        idempotency_key: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> DataQueryJob:
        """Submit one SQL statement; the job comes back ``accepted``.

        ``output_format`` is JSON (JSON Lines), CSV, TSV or DSV (with ``column_separator``, one
        character); ``compression`` NONE, GZIP or ZIP; both in any case. ``encryption_key`` is
        an RSA public key as base64 DER (:func:`aquarium.client.keys.encryption_key` makes one
        from a key file). Options left ``None`` are not sent (the server's defaults apply).
        ``idempotency_key`` travels as the ``Idempotency-Key`` header: a retry with the same key
        gets the same job. ``extra`` adds any other request member as is. A body the server
        refuses raises :class:`~aquarium.client.errors.Refused` (code 400, or 429 when the
        tenant's queue is full).
        """
        body: dict[str, Any] = {
            "query": query,
            "outputFormat": output_format.upper(),
            "compression": compression.upper(),
            "output": {"target": "S3"},
        }
        optional = {
            "columnSeparator": column_separator,
            "readDeleted": read_deleted,
            "encryptionKey": encryption_key,
            "sourceData": source_data,
            "useIndexJoin": use_index_join,
            "warehouseSize": warehouse_size,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        body.update(extra or {})
        return self.submit_request(body, idempotency_key=idempotency_key)

    def submit_request(
        self, body: Mapping[str, Any], *, idempotency_key: str | None = None
    ) -> DataQueryJob:
        """Submit a whole request body as Zuora documents it."""
        headers = {} if idempotency_key is None else {"Idempotency-Key": idempotency_key}
        answer = self._http.call("POST", JOBS_PATH, json=dict(body), headers=headers)
        return parse_answer(answer)

    def get(self, job_id: str) -> DataQueryJob:
        """The job; an unknown id (or another tenant's) raises :class:`NotFound`."""
        return parse_answer(self._http.call("GET", f"{JOBS_PATH}/{_segment(job_id)}"))

    def list(
        self, *, query_status: str | None = None, page_size: int | None = None
    ) -> tuple[DataQueryJob, ...]:
        """The tenant's jobs, newest first: the first ``page_size`` (server default 20, at most
        1000) of those in ``query_status`` (accepted, in_progress, completed, failed,
        cancelled), or of all. Zuora offers no further pages."""
        params: dict[str, str | int] = {}
        if query_status is not None:
            params["queryStatus"] = query_status
        if page_size is not None:
            params["pageSize"] = page_size
        return parse_list(self._http.call("GET", JOBS_PATH, params=params))

    def cancel(self, job_id: str) -> DataQueryJob:
        """Cancel an accepted or running job and return it (``cancelled``). A finished job is
        refused (:class:`Refused`, code 1003)."""
        return parse_answer(self._http.call("DELETE", f"{JOBS_PATH}/{_segment(job_id)}"))

    def wait(
        self,
        job_id: str,
        *,
        on_progress: ProgressCallback | None = None,
        first_poll_s: float = FIRST_POLL_S,
        max_poll_s: float = MAX_POLL_S,
        timeout: float | None = None,
    ) -> DataQueryJob:
        """Poll the job until it is completed, failed or cancelled, and return it (whichever
        of the three: check ``status``).

        Polls after ``first_poll_s`` seconds, then ever less often up to every ``max_poll_s``
        while the status stays the same (:func:`aquarium.client.events.poll`). ``on_progress``
        is called after every read. ``timeout`` (seconds, ``None`` = no limit) raises
        :class:`~aquarium.client.errors.TimedOut`.
        """

        def refresh() -> DataQueryJob:
            job = self.get(job_id)
            if on_progress is not None:
                on_progress(job)
            return job

        return events.poll(
            refresh,
            what=f"query job {job_id}",
            first_s=first_poll_s,
            max_s=max_poll_s,
            timeout=timeout,
            clock=self._clock,
            sleep=self._sleep,
        )

    def download(
        self, job: str | DataQueryJob, target: Path | None = None, *, resume: bool = True
    ) -> Path:
        """Stream a completed job's result file to ``target`` (default: :func:`file_name` in
        the current directory) and return the path.

        Given an id, the job is read first, so its ``dataFile`` URL is fresh; given a job, its
        URL is used as it is (it expires). The URL is fetched without credentials. The file
        appears only when complete; a ``.part`` left by a broken download is resumed with
        ``Range``. A job that has not completed raises :class:`ClientError` saying what it is
        (a failed one with its ``errorMessage``).
        """
        found = self.get(job) if isinstance(job, str) else job
        if found.status is not DataQueryStatus.COMPLETED or not found.data_file:
            raise errors.ClientError(not_downloadable(found))
        path = Path(file_name(found)) if target is None else target
        return files.stream_to(
            self._http, found.data_file, path, resume=resume, authenticated=False
        )


def not_downloadable(job: DataQueryJob) -> str:
    """Why a job has no result file, in one sentence."""
    if job.status is DataQueryStatus.FAILED:
        return f"query job {job.id} failed: {job.error_message or 'no reason given'}"
    if job.status is DataQueryStatus.COMPLETED:
        return f"query job {job.id} completed without a result file"
    return f"query job {job.id} is {job.status}: it has no result file"
