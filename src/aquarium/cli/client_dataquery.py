"""``aquarium dq ...``: Data Query jobs on a running server (submit, status, cancel, download,
list), over :attr:`aquarium.client.Client.data_queries`.

Connection options, ``--json`` and exit codes are shared by every client command:
:mod:`aquarium.cli.common`.
"""

from __future__ import annotations

import enum
import os
from pathlib import Path
from typing import Annotated

import typer

from aquarium import client
from aquarium.cli import client_view as view
from aquarium.cli import common
from aquarium.client import dataquery, keys

app = typer.Typer(
    help="Data Query jobs (SQL) on a running server: submit, watch, cancel, download."
)

QueryJobId = Annotated[str, typer.Argument(help="The query job id.")]


class OutputFormat(enum.StrEnum):
    json = "json"
    csv = "csv"
    tsv = "tsv"
    dsv = "dsv"


class Compression(enum.StrEnum):
    none = "none"
    gzip = "gzip"
    zip = "zip"


class QueryStatus(enum.StrEnum):
    """The statuses ``GET /query/jobs`` filters on (Zuora's list enum has no ``submitted``)."""

    accepted = "accepted"
    in_progress = "in_progress"
    completed = "completed"
    failed = "failed"
    cancelled = "cancelled"


def read_sql(sql: str | None, file: Path | None) -> str:
    """The statement: the argument, or the text of ``--file``; exactly one of them, not blank."""
    if (sql is None) == (file is None):
        raise typer.BadParameter("give the SQL as an argument or with --file, not both")
    text = sql or ""
    if file is not None:
        try:
            text = file.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
            raise typer.BadParameter(f"cannot read {file}: {reason}") from None
    if not text.strip():
        raise typer.BadParameter("the SQL is empty")
    return text.strip()


def read_encryption_key(path: Path) -> str:
    """``--encryption-key-file``: a PEM or DER RSA public key as base64 DER."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc.strerror}") from None
    try:
        return keys.encryption_key(data)
    except ValueError as exc:
        raise typer.BadParameter(f"{path}: {exc}") from None


def check_separator(output_format: OutputFormat, separator: str | None) -> None:
    """DSV needs ``--separator`` (one character); the other formats take none."""
    if output_format is OutputFormat.dsv and separator is None:
        raise typer.BadParameter("--format dsv needs --separator (one character)")
    if output_format is not OutputFormat.dsv and separator is not None:
        raise typer.BadParameter("--separator goes with --format dsv only")
    if separator is not None and len(separator) != 1:
        raise typer.BadParameter(f"--separator must be one character, not {separator!r}")


def _wait_for_job(api: client.Client, job: client.DataQueryJob) -> client.DataQueryJob:
    """Wait showing the status; Ctrl-C asks whether to cancel the job, then exits 130."""
    try:
        with view.DataQueryProgress(shown=job.status) as progress:
            return api.data_queries.wait(job.id, on_progress=progress.update)
    except KeyboardInterrupt:
        pass
    if common.ask_to_cancel(f"query job {job.id}"):
        cancelled = api.data_queries.cancel(job.id)
        view.note(f"query job {job.id} {cancelled.status}")
    else:
        view.note(f"query job {job.id} keeps running on the server")
    raise typer.Exit(common.EXIT_INTERRUPTED)


def _ended_badly(job: client.DataQueryJob) -> str:
    """The error line of a waited-for job that did not complete."""
    if job.status is client.DataQueryStatus.FAILED:
        code = f" ({job.error_code})" if job.error_code else ""
        return f"query job {job.id} failed: {job.error_message or 'no reason given'}{code}"
    return f"query job {job.id} ended {job.status}"


def _target(output: str, job: client.DataQueryJob) -> Path:
    """``--output``: the file; or, in a directory (one that exists, or any path ending in
    ``/``), the name the server gave the result."""
    if output.endswith(("/", os.sep)) or Path(output).is_dir():
        return Path(output) / dataquery.file_name(job)
    return Path(output)


@app.command("submit")
@common.with_connection
def submit(
    sql: Annotated[str | None, typer.Argument(help="One SQL statement.")] = None,
    file: Annotated[
        Path | None, typer.Option("--file", "-f", help="A file holding the SQL statement.")
    ] = None,
    output_format: Annotated[
        OutputFormat, typer.Option("--format", case_sensitive=False, help="JSON is JSON Lines.")
    ] = OutputFormat.csv,
    separator: Annotated[
        str | None, typer.Option("--separator", help="DSV's column separator (one character).")
    ] = None,
    compression: Annotated[
        Compression, typer.Option("--compression", case_sensitive=False)
    ] = Compression.none,
    read_deleted: Annotated[
        bool, typer.Option("--read-deleted", help="Only deleted rows (Zuora's readDeleted).")
    ] = False,
    encryption_key_file: Annotated[
        Path | None,
        typer.Option("--encryption-key-file", help="Encrypt the result: an RSA public key file."),
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait, showing its status.")] = False,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="Wait, then save the result as FILE (or in DIR/).",
            metavar="PATH",
        ),
    ] = None,
    options: common.Options = common.NO_OPTIONS,
    as_json: common.Json = False,
) -> None:
    """Submit a SQL query; with --wait or --output, follow it (Ctrl-C offers to cancel it)."""
    query = read_sql(sql, file)
    check_separator(output_format, separator)
    key = None if encryption_key_file is None else read_encryption_key(encryption_key_file)
    saved = None
    with common.connected(options) as api:
        job = api.data_queries.submit(
            query,
            output_format=output_format.value,
            compression=compression.value,
            column_separator=separator,
            read_deleted=read_deleted or None,
            encryption_key=key,
        )
        view.note(f"query job {job.id} {job.status}")
        if wait or output is not None:
            job = _wait_for_job(api, job)
            if output is not None and job.status is client.DataQueryStatus.COMPLETED:
                saved = api.data_queries.download(job, _target(output, job))
    if as_json:
        view.print_json({"job": job, "file": saved})
    else:
        view.show_data_query(job, saved)
    if job.finished and job.status is not client.DataQueryStatus.COMPLETED:
        raise common.fail(_ended_badly(job))


@app.command("status")
@common.with_connection
def status(
    job_id: QueryJobId,
    options: common.Options = common.NO_OPTIONS,
    as_json: common.Json = False,
) -> None:
    """Show a query job: its status, rows, time, result URL or error."""
    with common.connected(options) as api:
        job = api.data_queries.get(job_id)
    if as_json:
        view.print_json(job)
    else:
        view.show_data_query(job)


@app.command("cancel")
@common.with_connection
def cancel(
    job_id: QueryJobId,
    options: common.Options = common.NO_OPTIONS,
    as_json: common.Json = False,
) -> None:
    """Cancel an accepted or running query job (a finished one is refused: exit 1)."""
    with common.connected(options) as api:
        job = api.data_queries.cancel(job_id)
    if as_json:
        view.print_json(job)
    else:
        view.show_data_query(job)


@app.command("download")
@common.with_connection
def download(
    job_id: QueryJobId,
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="FILE, or DIR/ to save in [default: the server's name, here].",
            metavar="PATH",
        ),
    ] = None,
    options: common.Options = common.NO_OPTIONS,
    as_json: common.Json = False,
) -> None:
    """Save a completed query job's result file (resuming a broken download)."""
    with common.connected(options) as api:
        job = api.data_queries.get(job_id)
        if job.status is not client.DataQueryStatus.COMPLETED:
            raise common.fail(dataquery.not_downloadable(job))
        saved = api.data_queries.download(job, _target(output or "./", job))
    if as_json:
        view.print_json({"file": saved})
    else:
        view.out.print(f"saved {saved}")


@app.command("list")
@common.with_connection
def list_jobs(
    query_status: Annotated[
        QueryStatus | None, typer.Option("--status", case_sensitive=False, help="Only these.")
    ] = None,
    page_size: Annotated[
        int | None, typer.Option("--page-size", min=1, max=1000, help="At most N [server: 20].")
    ] = None,
    options: common.Options = common.NO_OPTIONS,
    as_json: common.Json = False,
) -> None:
    """List the tenant's query jobs, newest first."""
    with common.connected(options) as api:
        found = api.data_queries.list(
            query_status=None if query_status is None else query_status.value,
            page_size=page_size,
        )
    if as_json:
        view.print_json(found)
    else:
        view.show_data_query_list(found)
