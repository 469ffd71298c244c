"""Try a ZOQL statement from the Job Finder: submit it as an AQuA job, wait, show the first rows.

The statement runs exactly as an integration's would (same submit, same runner, same file), so
what the Objects page shows is what AQuA answers; the job stays in the tenant's job list. A bad
statement is refused at submit with Zuora's message and its line and column; a failure at run
time is the batch's message. The wait is bounded: a statement still running after
:data:`WAIT_S` is left running and reported as such.
"""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aquarium.domain import errors, jobs, tenancy
from aquarium.services import aqua

JOB_NAME = "Objects page query"
QUERY_NAME = "preview"
MAX_QUERY_CHARS = 20_000  # a statement typed into a box; longer ones belong in a job file
PREVIEW_ROWS = 20  # rows shown
MAX_CELL_CHARS = 300  # characters shown of one value
WAIT_S = 20.0  # seconds to wait for the job before showing "still running"
POLL_S = 0.05  # seconds between looks at the job
READ_BYTES = 1024 * 1024  # at most this much of the result file is read


@dataclass(frozen=True)
class Preview:
    """What happened to a statement; ``error`` is set when it could not run."""

    job_id: str | None
    status: str
    record_count: int = 0
    header: tuple[str, ...] = ()
    rows: tuple[tuple[str, ...], ...] = ()
    error: str | None = None
    #: the statement's line with a caret under the error's column (ZOQL errors)
    excerpt: str | None = None
    line: int | None = None
    column: int | None = None
    file_id: str | None = None

    @property
    def finished(self) -> bool:
        return self.status not in {s.value for s in jobs.ACTIVE}


@dataclass
class ZoqlPreview:
    aqua: aqua.AquaService
    sleep: Callable[[float], None] = field(default=time.sleep)
    monotonic: Callable[[], float] = field(default=time.monotonic)

    def run(self, caller: tenancy.Principal, query: str, *, rows: int = PREVIEW_ROWS) -> Preview:
        """Submit ``query`` as a one-query AQuA job, wait up to :data:`WAIT_S`, and read up to
        ``rows`` rows of its result. Refusals come back as a Preview with ``error`` set."""
        if not query.strip():
            return Preview(None, "error", error="Type a ZOQL statement first.")
        if len(query) > MAX_QUERY_CHARS:
            return Preview(
                None, "error", error=f"The statement is longer than {MAX_QUERY_CHARS:,} characters."
            )
        body = {
            "format": "csv",
            "version": "1.1",  # stateless (no partner/project); headers as the query names them
            "useQueryLabels": True,
            "name": JOB_NAME,
            "queries": [{"name": QUERY_NAME, "query": query, "type": "zoqlexport"}],
        }
        try:
            submitted = self.aqua.submit(caller, body)
        except errors.ZoqlError as exc:
            position = exc.position
            return Preview(
                None,
                "error",
                error=exc.describe(),
                excerpt=position.excerpt if position else None,
                line=position.line if position else None,
                column=position.column if position else None,
            )
        except errors.AquaError as exc:
            return Preview(None, "error", error=exc.describe())
        return self._outcome(caller, self._wait(caller, str(submitted["id"])), rows)

    def _wait(self, caller: tenancy.Principal, job_id: str) -> dict[str, Any]:
        deadline = self.monotonic() + WAIT_S
        while True:
            job = self.aqua.get(caller, job_id)
            if jobs.JobStatus(str(job["status"])).terminal or self.monotonic() > deadline:
                return job
            self.sleep(POLL_S)

    def _outcome(self, caller: tenancy.Principal, job: dict[str, Any], rows: int) -> Preview:
        job_id, status = str(job["id"]), str(job["status"])
        batches = job.get("batches")
        batch = batches[0] if isinstance(batches, list) and batches else {}
        record_count = int(batch.get("recordCount") or 0)
        if status != jobs.JobStatus.COMPLETED:
            message = str(batch.get("message") or "") or None
            return Preview(job_id, status, record_count, error=message)
        segments = batch.get("segments") or []
        file_id = str(batch.get("fileId") or (segments[0] if segments else ""))
        if not file_id:
            return Preview(job_id, status, record_count)
        header, data = self._first_rows(caller, file_id, rows)
        return Preview(job_id, status, record_count, header, data, file_id=file_id)

    def _first_rows(
        self, caller: tenancy.Principal, file_id: str, rows: int
    ) -> tuple[tuple[str, ...], tuple[tuple[str, ...], ...]]:
        found = self.aqua.file(caller, file_id)
        with found.path.open("rb") as handle:
            head = handle.read(READ_BYTES)
        text = head.decode("utf-8", errors="replace")
        if len(head) == READ_BYTES:
            text = text.rpartition("\n")[0]  # a cut row is no row
        reader = csv.reader(io.StringIO(text, newline=""))
        parsed = [
            tuple(cell[:MAX_CELL_CHARS] for cell in row)
            for _, row in zip(range(rows + 1), reader, strict=False)
        ]
        if not parsed:
            return (), ()
        return parsed[0], tuple(parsed[1:])
