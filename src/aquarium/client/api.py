"""The :class:`Client`: AQuA jobs, report runs, Aquarium's own job list and (in
:attr:`Client.data_queries`) Data Query jobs, over one session."""

from __future__ import annotations

import time
import urllib.parse
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx

from aquarium.client import control, dataquery, describe, errors, events, files, models, session

DEFAULT_URL = "http://127.0.0.1:8080"
POLL_S = 0.5  # seconds between two polls while waiting
REPORTING = "/api/rest/v1"
AQUA = "/v1/batch-query"
DESCRIBE = "/v1/describe"
JOB_API = "/aquarium/api/v1/jobs"
#: The report-run list's columns the client reads (the server's default set lacks some).
RUN_COLUMNS = (
    "id",
    "reportId",
    "reportName",
    "reportType",
    "status",
    "startedOn",
    "updatedOn",
    "completedOn",
    "createdByUserProfile.username",
    "rowCount",
    "errorMessage",
)

#: Called on every read of :meth:`Client.wait` with the job and, where the server offers it,
#: its detail with per-batch progress (rows and bytes written so far); ``None`` otherwise.
JobProgressCallback = Callable[[models.Job, models.JobDetail | None], None]
#: Called on every read of :meth:`Client.wait_report_run`.
RunProgressCallback = Callable[[models.ReportRun], None]


def _segment(value: str) -> str:
    """An id as one path segment: whatever it holds, it cannot reach another path."""
    if value in {"", ".", ".."}:  # URL normalisation would make these another path
        raise errors.NotFound(f"{value!r} is not an id")
    return urllib.parse.quote(value, safe="")


def _reporting(document: Any) -> Any:
    """The ``response`` member of a successful Reporting answer."""
    if not isinstance(document, dict) or "response" not in document:
        raise errors.ClientError("unexpected answer from the Reporting API: no 'response'")
    return document["response"]


class Client:
    """A synchronous client of one Aquarium (or Zuora) server; close it, or use it in ``with``.

    Every method raises :class:`~aquarium.client.errors.ClientError` subclasses only.
    """

    def __init__(
        self,
        base_url: str,
        credentials: session.Credentials,
        *,
        timeout: float = session.DEFAULT_TIMEOUT_S,
        transport: httpx.BaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self._http = session.Session(
            base_url, credentials, timeout=timeout, transport=transport, clock=clock
        )
        self._clock = clock
        self._sleep = sleep
        #: Data Query jobs (``/query/jobs``): submit, get, list, cancel, wait, download.
        self.data_queries = dataquery.DataQueries(self._http, clock=clock, sleep=sleep)
        #: The test-control API of a server started with ``--test-control``: fault rules, the
        #: requests it saw and the tenant's clock (``aquarium/client/control.py``).
        self.control = control.Control(self._http)

    @property
    def base_url(self) -> str:
        return self._http.base_url

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    # -- AQuA ----------------------------------------------------------------------------------

    def submit(
        self,
        queries: Sequence[str | Mapping[str, Any]],
        *,
        name: str | None = None,
        format: str = "csv",
        partner: str | None = None,
        project: str | None = None,
        version: str | None = None,
        use_query_labels: bool | None = None,
        date_time_utc: bool | None = None,
        null_replacement: str | None = None,
        encrypted: str | None = None,
        notify_url: str | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> models.Job:
        """Submit an AQuA job; queries are ZOQL strings or Zuora query objects.

        ``version`` defaults to ``"1.1"`` (stateful) when both ``partner`` and ``project`` are
        given, else ``"1.0"``. ``extra`` adds any other request member as is. A refused request
        (Zuora's 900xx codes) raises :class:`~aquarium.client.errors.Refused`.
        """
        body: dict[str, Any] = {
            "format": format,
            "version": version or ("1.1" if partner and project else "1.0"),
            "queries": [{"query": q} if isinstance(q, str) else dict(q) for q in queries],
        }
        optional = {
            "name": name,
            "partner": partner,
            "project": project,
            "useQueryLabels": use_query_labels,
            "dateTimeUtc": date_time_utc,
            "nullReplacement": null_replacement,
            "encrypted": encrypted,
            "notifyUrl": notify_url,
        }
        body.update({k: v for k, v in optional.items() if v is not None})
        body.update(extra or {})
        return self.submit_request(body)

    def submit_request(self, body: Mapping[str, Any]) -> models.Job:
        """Submit a whole AQuA request body as Zuora documents it."""
        return models.parse_job(self._http.call("POST", AQUA + "/", json=dict(body)))

    def job(self, job_id: str) -> models.Job:
        """The job and its batches; an unknown id raises :class:`NotFound`."""
        return models.parse_job(self._http.call("GET", f"{AQUA}/jobs/{_segment(job_id)}"))

    def wait(
        self,
        job_id: str,
        *,
        on_progress: JobProgressCallback | None = None,
        poll_s: float = POLL_S,
        timeout: float | None = None,
    ) -> models.Job:
        """Follow the job until it is completed, aborted, cancelled or in error; return it.

        The job is read again on every change the server's event stream announces (see
        :mod:`aquarium.client.events`), or every ``poll_s`` seconds where there is no stream.
        ``on_progress`` is called after every read, the last time with the finished job. The
        per-batch progress comes from Aquarium's own API; against a server without it (Zuora,
        an older Aquarium) the callback gets ``None`` and the wait goes on. ``timeout`` (in
        seconds, ``None`` = no limit) raises :class:`~aquarium.client.errors.TimedOut`.
        """
        with_detail = on_progress is not None

        def refresh() -> models.Job:
            nonlocal with_detail
            job = self.job(job_id)
            if on_progress is not None:
                detail = None
                if with_detail:
                    try:
                        detail = self.job_detail(job_id)
                    except errors.NotFound:
                        with_detail = False  # no such API here: the job itself was found
                on_progress(job, detail)
            return job

        return events.follow(
            self._http,
            job_id,
            refresh,
            what=f"job {job_id}",
            poll_s=poll_s,
            timeout=timeout,
            clock=self._clock,
            sleep=self._sleep,
        )

    def cancel(self, job_id: str) -> models.Job:
        """Cancel a submitted or executing job and return it (``cancelled``).

        A finished job is refused with 90003 (:class:`~aquarium.client.errors.Refused`).
        """
        return models.parse_job(self._http.call("DELETE", f"{AQUA}/jobs/{_segment(job_id)}"))

    def download(self, file_id: str, target: Path, *, resume: bool = True) -> Path:
        """Stream a result file to ``target``; resumes a ``target.part`` left by a broken one.

        The file appears at ``target`` only when complete and checked (size and SHA-256); an
        existing ``target`` is replaced. Returns ``target``.
        """
        return files.stream_to(self._http, f"/v1/file/{_segment(file_id)}", target, resume=resume)

    def download_file(self, file_id: str, directory: Path, *, resume: bool = True) -> Path:
        """Stream a result file to ``directory/<file id><suffix>``, the suffix as the answer
        implies it (:func:`aquarium.client.files.suffix_of`: ``.csv``, ``.csv.gz``, ``.zip``,
        ``.pgp`` ...); resumes ``directory/<file id>.part`` left by a broken download. Returns
        the path.
        """
        return files.stream_to(
            self._http,
            f"/v1/file/{_segment(file_id)}",
            directory / file_id,
            resume=resume,
            name=lambda headers, part: directory / (file_id + files.suffix_of(headers, part)),
        )

    def download_job(self, job: models.Job, directory: Path) -> list[Path]:
        """Download every result file of ``job`` into ``directory``, named after its batch.

        See :func:`aquarium.client.files.batch_file_names` for the names. Returns the paths in
        batch order (empty when no batch has a file).
        """
        return [
            self.download(file_id, directory / name)
            for file_id, name in files.batch_file_names(job)
        ]

    # -- Describe ------------------------------------------------------------------------------

    def describe_objects(self) -> list[str]:
        """The names of the tenant's objects (``GET /v1/describe``)."""
        return describe.parse_objects(self._xml(DESCRIBE))

    def describe_object(self, name: str) -> describe.DescribedObject:
        """An object's fields, custom ones included (``GET /v1/describe/{Object}``); an unknown
        object raises :class:`NotFound`."""
        return describe.parse_object(self._xml(f"{DESCRIBE}/{_segment(name)}"))

    def _xml(self, path: str) -> bytes:
        with self._http.stream(path) as response:
            return response.read()

    # -- Aquarium's own job API ----------------------------------------------------------------

    def jobs(
        self,
        *,
        kind: str | Iterable[str] | None = None,
        status: str | Iterable[str] | None = None,
        partner: str | None = None,
        project: str | None = None,
        created_by: str | None = None,
        since: str | None = None,
        until: str | None = None,
        sort: str | None = None,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> models.JobPage:
        """One page of the tenant's jobs of every kind, newest first unless ``sort`` says else.

        ``kind`` is ``"aqua"``, ``"report"`` or ``"dataquery"``; ``status`` any wire status,
        ``"active"`` or ``"finished"``; both may be several. Pass the page's ``next_cursor``
        for the next page.
        """
        params: dict[str, str | int | list[str]] = {}
        for key, many in (("kind", kind), ("status", status)):
            if many is not None:
                params[key] = [many] if isinstance(many, str) else list(many)
        single = {
            "partner": partner,
            "project": project,
            "createdBy": created_by,
            "since": since,
            "until": until,
            "sort": sort,
            "limit": limit,
            "cursor": cursor,
        }
        params.update({k: v for k, v in single.items() if v is not None})
        return models.parse_job_page(self._http.call("GET", JOB_API, params=params))

    def job_detail(self, job_id: str) -> models.JobDetail:
        """A job of either kind with per-batch progress and its finished files."""
        return models.parse_job_detail(self._http.call("GET", f"{JOB_API}/{_segment(job_id)}"))

    # -- Reporting -----------------------------------------------------------------------------

    def reports(self, query: str | None = None) -> list[models.Report]:
        """Reports whose name matches ``query`` (Zuora's search), or every report without one."""
        if query:
            answer = self._http.call("GET", f"{REPORTING}/reports/search", params={"query": query})
        else:
            answer = self._http.call("GET", f"{REPORTING}/reports")
        return models.parse_reports(_reporting(answer))

    def run_report(
        self,
        report_id: str,
        view_type: str = "Detail",
        filters: Sequence[Mapping[str, Any]] | None = None,
    ) -> str:
        """Start a run of a report (``Detail`` or ``Summary``); returns the run id.

        ``filters`` is Zuora's filter override (a list of filter groups) for this run only.
        """
        answer = self._http.call(
            "POST",
            f"{REPORTING}/reports/{_segment(report_id)}/reportrun",
            params={"viewType": view_type},
            json=None if filters is None else [dict(f) for f in filters],
        )
        started = _reporting(answer)
        run_id = started.get("reportRunId") if isinstance(started, dict) else None
        if not isinstance(run_id, str):
            raise errors.ClientError("unexpected answer from the Reporting API: no reportRunId")
        return run_id

    def report_run(self, run_id: str) -> models.ReportRun:
        answer = self._http.call("GET", f"{REPORTING}/reportruns/{_segment(run_id)}")
        return models.parse_report_run(_reporting(answer))

    def wait_report_run(
        self,
        run_id: str,
        *,
        on_progress: RunProgressCallback | None = None,
        poll_s: float = POLL_S,
        timeout: float | None = None,
    ) -> models.ReportRun:
        """Follow the run until it is COMPLETED, CANCELLED, ERROR or INVALID, and return it;
        read again on every change announced, as :meth:`wait` does."""

        def refresh() -> models.ReportRun:
            run = self.report_run(run_id)
            if on_progress is not None:
                on_progress(run)
            return run

        return events.follow(
            self._http,
            run_id,
            refresh,
            what=f"report run {run_id}",
            poll_s=poll_s,
            timeout=timeout,
            clock=self._clock,
            sleep=self._sleep,
        )

    def report_runs(
        self,
        statuses: Iterable[str] = (),
        *,
        page: int = 1,
        page_size: int | None = None,
    ) -> models.ReportRunPage:
        """One page of report runs (newest first), of the given statuses or all of them."""
        body: dict[str, Any] = {"columns": list(RUN_COLUMNS)}
        body["pagination"] = {"currentPage": page}
        if page_size is not None:
            body["pagination"]["pageSize"] = page_size
        answer = self._http.call(
            "POST",
            f"{REPORTING}/reportruns",
            params={"status": list(statuses)},
            json=body,
        )
        return models.parse_report_run_page(_reporting(answer))

    def cancel_report_run(self, run_id: str) -> str:
        """Cancel a run in progress; returns the server's sentence. A finished run is refused."""
        answer = self._http.call("DELETE", f"{REPORTING}/reportruns/{_segment(run_id)}")
        return str(_reporting(answer))

    def export_report_run(self, run_id: str, target: Path, *, pivoted: bool = False) -> Path:
        """Save a completed run's export to ``target``, byte for byte (UTF-16LE with a BOM)."""
        return files.stream_to(
            self._http,
            f"{REPORTING}/reportruns/export/{_segment(run_id)}",
            target,
            resume=False,
            params={"pivoted": "true" if pivoted else "false"},
        )

    def report_data(self, run_id: str, offset: int = 1, page_size: int = 100) -> models.ReportData:
        """A page of a completed run's rows; ``offset`` 1 is the first row (0 is the header)."""
        answer = self._http.call(
            "GET",
            f"{REPORTING}/reportruns/reportdata/{_segment(run_id)}",
            params={"offset": offset, "pageSize": page_size},
        )
        return models.parse_report_data(_reporting(answer))
