"""``aquarium aqua ...``: AQuA jobs on a running server (submit, status, cancel, download, list).

Connection options, ``--json`` and exit codes are shared by every client command:
:mod:`aquarium.cli.common`.
"""

from __future__ import annotations

import enum
import json
import re
from pathlib import Path
from typing import Annotated, Any

import typer

from aquarium import client
from aquarium.cli import client_view as view
from aquarium.cli import common
from aquarium.domain import jobs

PLAIN_ID = re.compile(r"[A-Za-z0-9_-]+")  # what a file id may hold to be used as a file name

app = typer.Typer(help="AQuA jobs on a running server: submit, watch, cancel, download.")


class Format(enum.StrEnum):
    csv = "csv"
    gzip = "gzip"
    zip = "zip"


def read_query_file(path: Path) -> tuple[list[str], dict[str, Any] | None]:
    """A ``--file``: a JSON request body (starts with ``{``), else one ZOQL query per line.

    Returns ``(queries, None)`` or ``([], body)``; blank lines are skipped.
    """
    try:
        text = path.read_text("utf-8")
    except OSError as exc:
        raise typer.BadParameter(f"cannot read {path}: {exc.strerror}") from None
    if text.lstrip().startswith("{"):
        try:
            body = json.loads(text)
        except ValueError as exc:
            raise typer.BadParameter(f"{path} is not valid JSON: {exc}") from None
        if not isinstance(body, dict):
            raise typer.BadParameter(f"{path} must hold a JSON object")
        return [], body
    queries = [line.strip() for line in text.splitlines() if line.strip()]
    if not queries:
        raise typer.BadParameter(f"{path} holds no query")
    return queries, None


def _submit(
    api: client.Client,
    queries: list[str],
    body: dict[str, Any] | None,
    overrides: dict[str, str | None],
) -> client.Job:
    given = {k: v for k, v in overrides.items() if v is not None}
    if body is not None:
        return api.submit_request({**body, **given})
    return api.submit(
        queries,
        name=given.get("name"),
        format=given.get("format", Format.csv.value),
        partner=given.get("partner"),
        project=given.get("project"),
    )


def _wait_for_job(api: client.Client, job: client.Job) -> client.Job:
    """Wait with live progress; Ctrl-C asks whether to cancel the job, then exits 130."""
    try:
        with view.JobProgress() as progress:
            return api.wait(job.id, on_progress=progress.update)
    except KeyboardInterrupt:
        pass
    if common.ask_to_cancel(f"job {job.id}"):
        cancelled = api.cancel(job.id)
        view.note(f"job {job.id} {cancelled.status}")
    else:
        view.note(f"job {job.id} keeps running on the server")
    raise typer.Exit(common.EXIT_INTERRUPTED)


@app.command("submit")
@common.with_connection
def submit(
    query: Annotated[
        list[str] | None, typer.Option("--query", "-q", help="A ZOQL query; repeat for more.")
    ] = None,
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", help="One query per line, or a JSON AQuA request body."),
    ] = None,
    name: Annotated[str | None, typer.Option("--name", help="The job's name.")] = None,
    format: Annotated[
        Format | None, typer.Option("--format", case_sensitive=False, help="csv (default).")
    ] = None,
    partner: Annotated[str | None, typer.Option("--partner", help="Stateful: partner.")] = None,
    project: Annotated[str | None, typer.Option("--project", help="Stateful: project.")] = None,
    wait: Annotated[bool, typer.Option("--wait", help="Wait, showing progress.")] = False,
    download: Annotated[
        Path | None,
        typer.Option("--download", help="Wait, then save every result file in DIR."),
    ] = None,
    options: common.Options = common.NO_OPTIONS,
    as_json: common.Json = False,
) -> None:
    """Submit an AQuA job; with --wait, follow it to the end (Ctrl-C offers to cancel it)."""
    if (query is None) == (file is None):
        raise typer.BadParameter("give --query (one or more) or --file, not both")
    if (partner is None) != (project is None):
        raise typer.BadParameter("--partner and --project go together")
    queries, body = (query or [], None) if file is None else read_query_file(file)
    overrides = {
        "name": name,
        "format": None if format is None else format.value,
        "partner": partner,
        "project": project,
    }
    with common.connected(options) as api:
        job = _submit(api, queries, body, overrides)
        view.note(f"job {job.id} {job.status}")
        saved = []
        if wait or download is not None:
            job = _wait_for_job(api, job)
            if download is not None:
                saved = api.download_job(job, download)
    if as_json:
        view.print_json({"job": job, "files": saved})
    else:
        view.show_job(job, saved)
    if job.finished and job.status != jobs.JobStatus.COMPLETED:
        failed = [b.message for b in job.batches if b.message]
        raise common.fail(f"job {job.id} ended {job.status}" + (f": {failed[0]}" if failed else ""))


@app.command("status")
@common.with_connection
def status(
    job_id: common.JobId,
    options: common.Options = common.NO_OPTIONS,
    as_json: common.Json = False,
) -> None:
    """Show a job: its status, and each query's status, record count and files."""
    with common.connected(options) as api:
        job = api.job(job_id)
    if as_json:
        view.print_json(job)
    else:
        view.show_job(job)


@app.command("cancel")
@common.with_connection
def cancel(
    job_id: common.JobId,
    options: common.Options = common.NO_OPTIONS,
    as_json: common.Json = False,
) -> None:
    """Cancel a submitted or executing job (a finished one is refused: exit 1)."""
    with common.connected(options) as api:
        job = api.cancel(job_id)
    if as_json:
        view.print_json(job)
    else:
        view.show_job(job)


@app.command("download")
@common.with_connection
def download(
    job_or_file_id: Annotated[str, typer.Argument(help="A job id (all its files) or a file id.")],
    to: Annotated[Path, typer.Option("--to", help="Directory to save into.")] = Path("."),
    options: common.Options = common.NO_OPTIONS,
    as_json: common.Json = False,
) -> None:
    """Save a job's result files (named after its queries), or one file (named by its id and
    the suffix its answer implies: .csv, .csv.gz, .zip, .pgp)."""
    if not PLAIN_ID.fullmatch(job_or_file_id):  # a file id becomes a file name under --to
        raise typer.BadParameter(f"{job_or_file_id!r} is not a job or file id")
    with common.connected(options) as api:
        try:
            job: client.Job | None = api.job(job_or_file_id)
        except client.NotFound:
            job = None  # not a job id: try it as a file id
        if job is None:
            saved = [api.download_file(job_or_file_id, to)]
        else:
            saved = api.download_job(job, to)
            if not saved:
                raise common.fail(f"job {job.id} has no result files (it is {job.status})")
    if as_json:
        view.print_json({"files": saved})
    else:
        for path in saved:
            view.out.print(f"saved {path}")


@app.command("list")
@common.with_connection
def list_jobs(
    status: Annotated[
        list[str] | None,
        typer.Option("--status", help="submitted, executing, ..., active or finished; repeat."),
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, max=500)] = None,
    cursor: Annotated[str | None, typer.Option("--cursor", help="The next page.")] = None,
    options: common.Options = common.NO_OPTIONS,
    as_json: common.Json = False,
) -> None:
    """List the tenant's AQuA jobs, newest first."""
    with common.connected(options) as api:
        page = api.jobs(kind="aqua", status=status, limit=limit, cursor=cursor)
    if as_json:
        view.print_json(page)
    else:
        view.show_job_page(page)
