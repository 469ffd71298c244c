"""How ``aquarium aqua`` / ``report`` / ``dq`` show things: tables, ``--json``, live progress.

Results go to stdout (a table, or with ``--json`` one JSON document and nothing else); progress
and notes go to stderr. Live progress draws rich bars on a terminal; anywhere else (a pipe, a
log file, a test) it prints one plain line per change instead, so the output is readable there.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import json
import sys
import time
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any, Self

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TaskID, TextColumn
from rich.status import Status
from rich.table import Table
from rich.text import Text

from aquarium.client import dataquery, models
from aquarium.domain import jobs

PIPE_WIDTH = 200  # characters per line of tables written to a pipe or file (rich's default: 80)
out = Console(highlight=False, width=None if sys.stdout.isatty() else PIPE_WIDTH)
err = Console(stderr=True, highlight=False)


def jsonable(value: Any) -> Any:
    """Results as plain JSON values: a client result as the JSON object the server sent
    (camelCase keys, statuses and times as on the wire), any other dataclass as an object with
    camelCase keys, enums as their wire value, times as ISO 8601, paths as text."""
    if isinstance(value, models.Wire) and value.wire:
        return value.wire
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            _camel(f.name): jsonable(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.name != "wire"
        }
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    return value


def _camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.capitalize() for part in rest)


def print_json(value: Any) -> None:
    typer.echo(json.dumps(jsonable(value), indent=2, ensure_ascii=False))


def note(text: str) -> None:
    """A line for people on stderr (never on stdout, which ``--json`` keeps clean)."""
    typer.echo(text, err=True)


def _when(value: dt.datetime | None) -> str:
    return "" if value is None else value.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


ID_WIDTH = 32  # characters of an Aquarium id
ID_COLUMNS = frozenset({"id", "file"})  # never wrapped or cut: ids are copied from here
TIME_COLUMNS = frozenset({"created", "started", "updated"})


def _table(title: str, columns: Sequence[str]) -> Table:
    table = Table(title=title, title_justify="left")
    for column in columns:
        if column in ID_COLUMNS:
            table.add_column(column, no_wrap=True, min_width=ID_WIDTH)
        elif column in TIME_COLUMNS:
            table.add_column(column, no_wrap=True)
        else:
            table.add_column(column, overflow="fold")
    return table


# -- AQuA ------------------------------------------------------------------------------------------


def show_job(job: models.Job, files: Iterable[Path] = ()) -> None:
    title = f"job {job.id}" + (f" ({job.name})" if job.name else "")
    out.print(f"{title}: [bold]{job.status}[/bold], {job.format}, version {job.version}")
    table = _table("", ["batch", "status", "records", "file", "message"])
    for batch in job.batches:
        table.add_row(
            batch.name,
            batch.status.value,
            f"{batch.record_count:,}",
            "\n".join(batch.file_ids),
            batch.message,
        )
    out.print(table)
    for path in files:
        out.print(f"saved {path}")


def show_job_page(page: models.JobPage) -> None:
    table = _table("jobs", ["id", "kind", "name", "status", "created", "by", "rows"])
    for job in page.jobs:
        rows = "" if job.progress is None else f"{job.progress.rows_written:,}"
        table.add_row(
            job.id,
            job.kind,
            job.name or "",
            job.status,
            _when(job.created_at),
            job.created_by or "",
            rows,
        )
    out.print(table)
    if page.next_cursor:
        note(f"more: --cursor {page.next_cursor}")


class JobProgress:
    """Per-batch progress of an AQuA job while waiting for it (a context manager)."""

    def __init__(self, console: Console = err) -> None:
        self._bars: Progress | None = None
        if console.is_terminal:
            self._bars = Progress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                BarColumn(),
                TextColumn("{task.fields[rows]:>14} rows"),
                TextColumn("{task.fields[status]}"),
                console=console,
            )
        self._tasks: dict[str, TaskID] = {}
        self._shown: dict[str, tuple[str, int]] = {}

    def __enter__(self) -> JobProgress:
        if self._bars is not None:
            self._bars.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._bars is not None:
            self._bars.stop()

    def update(self, job: models.Job, detail: models.JobDetail | None) -> None:
        """Show the job as one poll found it; ``detail`` adds rows written while batches run."""
        running = {} if detail is None else {b.id: b for b in detail.batches}
        by_name = {} if detail is None else {b.name: b for b in detail.batches}
        for batch in job.batches:
            live = running.get(batch.id) or by_name.get(batch.name)
            rows = max(batch.record_count, live.rows_written if live else 0)
            self._show(job.id, batch, rows)

    def _show(self, job_id: str, batch: models.Batch, rows: int) -> None:
        status = batch.status.value
        if self._shown.get(batch.id) == (status, rows):
            return
        self._shown[batch.id] = (status, rows)
        done = batch.status not in {jobs.BatchStatus.PENDING, jobs.BatchStatus.EXECUTING}
        if self._bars is None:
            note(f"job {job_id} batch {batch.name}: {status}, {rows:,} rows")
            return
        if batch.id not in self._tasks:
            self._tasks[batch.id] = self._bars.add_task(batch.name, total=None, rows="0", status="")
        self._bars.update(
            self._tasks[batch.id],
            total=1 if done else None,
            completed=1 if done else 0,
            rows=f"{rows:,}",
            status=status,
        )


# -- Reporting -------------------------------------------------------------------------------------


def show_reports(reports: Sequence[models.Report]) -> None:
    table = _table("reports", ["id", "name", "view", "data source", "updated"])
    for report in reports:
        table.add_row(
            report.id,
            report.name,
            report.view_type or "",
            report.data_source or "",
            _when(report.updated_on),
        )
    out.print(table)


def show_run(run: models.ReportRun, file: Path | None = None) -> None:
    name = f" ({run.report_name})" if run.report_name else ""
    rows = "" if run.row_count is None else f", {run.row_count:,} rows"
    out.print(f"report run {run.id}{name}: [bold]{run.status}[/bold]{rows}")
    if run.error_message:
        out.print(run.error_message)
    if file is not None:
        out.print(f"saved {file}")


def show_run_page(page: models.ReportRunPage) -> None:
    table = _table(
        f"report runs (page {page.page} of {max(page.total_pages, 1)}, {page.total_count} in all)",
        ["id", "report", "view", "status", "started", "by", "rows"],
    )
    for run in page.runs:
        table.add_row(
            run.id,
            run.report_name or run.report_id or "",
            run.view_type or "",
            run.status.value,
            _when(run.started_on),
            run.created_by or "",
            "" if run.row_count is None else f"{run.row_count:,}",
        )
    out.print(table)


def show_report_data(page: models.ReportData) -> None:
    """A page of report rows as a table whose columns are the rows' keys (``Object.Field``)."""
    last = page.offset + len(page.rows) - 1
    shown = f"rows {page.offset:,} to {last:,}" if page.rows else f"no rows from {page.offset:,}"
    table = Table(title=f"{shown} of {page.total:,}", title_justify="left")
    columns = list(dict.fromkeys(key for row in page.rows for key in row))
    for column in columns:
        table.add_column(Text(column), overflow="fold")
    for row in page.rows:
        # Text, not markup: a value holding "[b]" is data.
        table.add_row(*(Text(row.get(column, "")) for column in columns))
    out.print(table)
    if page.rows and last < page.total:
        note(f"more: --offset {last + 1}")


class _Waiting:
    """A spinner shown while the block waits, on a terminal (``_status``); None elsewhere,
    where a waiter prints a line per change instead."""

    _status: Status | None

    def __enter__(self) -> Self:
        if self._status is not None:
            self._status.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._status is not None:
            self._status.stop()


class RunProgress(_Waiting):
    """The phase of a report run while waiting for it: a spinner on a terminal, else lines."""

    def __init__(self, console: Console = err) -> None:
        self._console = console
        self._status = console.status("") if console.is_terminal else None
        self._shown: str | None = None

    def update(self, run: models.ReportRun) -> None:
        if run.status.value == self._shown:
            return
        self._shown = run.status.value
        text = f"report run {run.id}: {run.status.value}"
        if self._status is not None:
            self._status.update(text)
        else:
            note(text)


# -- Data Query ------------------------------------------------------------------------------------

QUERY_SHOWN_CHARS = 60  # characters of a query shown in the list (the rest: dq status ID)


def show_data_query(job: dataquery.DataQueryJob, file: Path | None = None) -> None:
    rows = "" if job.output_rows is None else f", {job.output_rows:,} rows"
    took = "" if job.processing_time_ms is None else f" in {job.processing_time_ms:,} ms"
    out.print(f"query job {job.id}: [bold]{job.status}[/bold]{rows}{took}")
    out.print(Text(f"query: {job.query}"))
    if job.error_message:
        code = f" ({job.error_code})" if job.error_code else ""
        out.print(Text(f"error: {job.error_message}{code}"))
    if job.data_file:
        out.print(Text(f"file: {job.data_file}"), soft_wrap=True)  # whole: it is copied
    if file is not None:
        out.print(f"saved {file}")


def show_data_query_list(found: Sequence[dataquery.DataQueryJob]) -> None:
    table = _table("query jobs", ["id", "status", "created", "rows", "query"])
    for job in found:
        query = " ".join(job.query.split())
        if len(query) > QUERY_SHOWN_CHARS:
            query = query[: QUERY_SHOWN_CHARS - 1] + "…"
        table.add_row(
            job.id,
            job.status.value,
            _when(job.created_on),
            "" if job.output_rows is None else f"{job.output_rows:,}",
            Text(query),
        )
    out.print(table)


class DataQueryProgress(_Waiting):
    """A query job's status while waiting for it, with the seconds waited: a spinner on a
    terminal, else one line per change of status."""

    def __init__(self, console: Console = err, *, shown: str | None = None) -> None:
        """``shown``: a status already told (the submit's), not to repeat off a terminal."""
        self._status = console.status("") if console.is_terminal else None
        self._shown = shown
        self._started = time.monotonic()

    def update(self, job: dataquery.DataQueryJob) -> None:
        text = f"query job {job.id}: {job.status.value}"
        if self._status is not None:
            waited = time.monotonic() - self._started
            self._status.update(f"{text} ({waited:,.0f} s)")
        elif job.status.value != self._shown:
            note(text)
        self._shown = job.status.value
