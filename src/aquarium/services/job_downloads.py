"""Result files of one Job Finder job, as the web UI serves them to a signed-in user.

The files are the ones the job's ``downloads`` list (:meth:`JobFinder.job`): an AQuA job's
published files (``/v1/file/{id}``), a report run's export and crosstab
(``/api/rest/v1/reportruns/export/{id}``) and a Data Query job's result (its signed
``/query/results/...`` link). A file id that is not one of the job's answers
:class:`errors.NotFound`, like an unknown job; the bytes come from the same service calls as
Zuora's endpoints (:meth:`AquaService.file`, :meth:`ReportRunService.export`,
:meth:`DataQueryService.result_file`).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass
from typing import Any

from aquarium.domain import errors, runs, tenancy
from aquarium.services import aqua, job_finder, report_runs, run_service
from aquarium.services import data_queries as data_query_service

FILE_URL = re.compile(r"^/v1/file/(?P<file>[0-9a-f]{32})$")
EXPORT_URL = re.compile(
    r"^/api/rest/v1/reportruns/export/[0-9a-f]{32}(?P<pivoted>\?pivoted=true)?$"
)
RESULT_URL = re.compile(r"^/query/results/[^/?]+/(?P<file>[0-9a-f]{32})/[^/?]+\?")
EXTENSIONS = (  # content type prefix -> file name extension
    ("text/csv", ".csv"),
    ("application/x-gzip", ".csv.gz"),
    ("application/gzip", ".csv.gz"),
    ("application/zip", ".zip"),
    ("application/pgp-encrypted", ".csv.pgp"),
)
SAFE_NAME = re.compile(r"[^A-Za-z0-9 ._-]+")


@dataclass
class JobDownloads:
    finder: job_finder.JobFinder
    aqua: aqua.AquaService
    report_runs: report_runs.ReportRunService
    data_queries: data_query_service.DataQueryService | None = None

    def file(
        self, caller: tenancy.Principal, job_id: str, file_id: str
    ) -> run_service.FileDownload:
        """One result file of an AQuA job; NotFound when the job has no such file."""
        job = self.finder.job(caller, job_id)
        for entry in _downloads(job):
            match = FILE_URL.match(str(entry.get("url", "")))
            if match is not None and match["file"] == file_id:
                return self._aqua_file(caller, job, entry, file_id)
        raise errors.NotFound(f"job {job_id} has no file {file_id}")

    def export(
        self, caller: tenancy.Principal, job_id: str, *, pivoted: bool
    ) -> run_service.FileDownload:
        """A report run's export (``pivoted``: a summary's crosstab), as Zuora's export sends it."""
        return self.report_runs.export(caller, job_id, "true" if pivoted else None)

    def result(self, caller: tenancy.Principal, job_id: str) -> run_service.FileDownload:
        """A Data Query job's result file; NotFound when the job is not one (or not the
        caller's to see)."""
        job = self.finder.job(caller, job_id)
        if job.get("kind") != runs.Kind.DATAQUERY or self.data_queries is None:
            raise errors.NotFound(f"job {job_id} is not a Data Query job")
        return self.data_queries.result_file(caller, job_id)

    def only(self, caller: tenancy.Principal, job_id: str) -> run_service.FileDownload | None:
        """The job's file when there is exactly one to take (a report run: its export);
        ``None`` when it has several or none yet."""
        job = self.finder.job(caller, job_id)
        entries = _downloads(job)
        if job.get("kind") == runs.Kind.REPORT:
            return self.export(caller, job_id, pivoted=False) if entries else None
        if job.get("kind") == runs.Kind.DATAQUERY:
            return self.result(caller, job_id) if entries else None
        if len(entries) != 1:
            return None
        match = FILE_URL.match(str(entries[0].get("url", "")))
        if match is None:
            return None
        return self._aqua_file(caller, job, entries[0], match["file"])

    def _aqua_file(
        self, caller: tenancy.Principal, job: dict[str, Any], entry: dict[str, Any], file_id: str
    ) -> run_service.FileDownload:
        found = self.aqua.file(caller, file_id)
        stem = "-".join(str(part) for part in (job.get("name"), entry.get("name")) if part)
        extension = next(
            (ext for prefix, ext in EXTENSIONS if found.content_type.startswith(prefix)), ""
        )
        filename = (SAFE_NAME.sub("_", stem) or file_id) + extension
        return dataclasses.replace(found, filename=filename)


def _downloads(job: dict[str, Any]) -> list[dict[str, Any]]:
    entries = job.get("downloads") or []
    return [entry for entry in entries if isinstance(entry, dict)]


def ui_kind(url: str) -> tuple[str, str] | None:
    """``("file", file_id)``, ``("export", "" | "pivoted")`` or ``("result", file_id)`` for a
    download URL; else None."""
    found = FILE_URL.match(url)
    if found is not None:
        return "file", found["file"]
    result = RESULT_URL.match(url)
    if result is not None:
        return "result", result["file"]
    exported = EXPORT_URL.match(url)
    if exported is not None:
        return "export", "pivoted" if exported["pivoted"] else ""
    return None
