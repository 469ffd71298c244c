"""``aquarium aqua ...`` and ``aquarium report ...``: the command-line client of a running server.

Every command takes ``--url``, ``--user``, ``--password``, ``--client-id``, ``--client-secret``
and ``--config`` (see :mod:`aquarium.client.config` for how options, ``AQUARIUM_*`` variables and
the TOML file combine) and ``--json`` (one JSON document on stdout, nothing else there). Results
go to stdout, progress and errors to stderr; an error is one line ``error: ...``.

Exit codes, for scripts:

====  =====================================================================================
0     success
1     the job or report run ended other than completed (aborted, cancelled, error, invalid),
      or the server refused the request (its message on stderr)
2     usage error: bad options, or no usable credentials / config file
3     authentication failed (the message says so and nothing more)
4     not found: no such job, run, report or file (or another tenant's)
5     the server cannot be reached
130   interrupted by Ctrl-C (after asking whether to cancel the job or run on the server)
====  =====================================================================================
"""

from __future__ import annotations

import contextlib
import enum
import json
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import typer

from aquarium import cli_client_view as view
from aquarium import client
from aquarium.client import config
from aquarium.domain import jobs

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_USAGE = 2
EXIT_AUTH = 3
EXIT_NOT_FOUND = 4
EXIT_UNREACHABLE = 5
EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it

EXIT_BY_ERROR: tuple[tuple[type[client.ClientError], int], ...] = (
    (client.ConfigError, EXIT_USAGE),
    (client.NotAuthenticated, EXIT_AUTH),
    (client.NotFound, EXIT_NOT_FOUND),
    (client.ServerUnreachable, EXIT_UNREACHABLE),
    (client.ClientError, EXIT_FAILED),
)

aqua_app = typer.Typer(help="AQuA jobs on a running server: submit, watch, cancel, download.")
report_app = typer.Typer(help="Reports and report runs on a running server.")

Url = Annotated[
    str | None, typer.Option("--url", help="Server URL [env AQUARIUM_URL; default local 8080].")
]
User = Annotated[str | None, typer.Option("--user", help="User (HTTP Basic) [AQUARIUM_USER].")]
Password = Annotated[str | None, typer.Option("--password", help="[AQUARIUM_PASSWORD]")]
ClientId = Annotated[str | None, typer.Option("--client-id", help="OAuth client id.")]
ClientSecret = Annotated[str | None, typer.Option("--client-secret", help="OAuth secret.")]
ConfigFile = Annotated[
    Path | None,
    typer.Option("--config", help="TOML settings [default ~/.config/aquarium/client.toml]."),
]
Json = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
JobId = Annotated[str, typer.Argument(help="The AQuA job id.")]
RunId = Annotated[str, typer.Argument(help="The report run id.")]


class Format(enum.StrEnum):
    csv = "csv"
    gzip = "gzip"
    zip = "zip"


class ViewType(enum.StrEnum):
    Detail = "Detail"
    Summary = "Summary"


@dataclass(frozen=True)
class Options:
    """The connection options of one command, as typed (``None`` = not given)."""

    url: str | None
    user: str | None
    password: str | None
    client_id: str | None
    client_secret: str | None
    config: Path | None


def exit_code_for(error: client.ClientError) -> int:
    """The documented exit code of an error (see the module docstring)."""
    return next(code for kind, code in EXIT_BY_ERROR if isinstance(error, kind))


def error_line(error: client.ClientError, url: str) -> str:
    """The one line shown for an error; a refused login says only that."""
    if isinstance(error, client.NotAuthenticated):
        return (
            f"error: authentication failed at {url}: check the user and password "
            "(or the OAuth client id and secret)"
        )
    if isinstance(error, client.NotFound):
        return f"error: not found: {error.message}"
    return f"error: {error}"


def connection(options: Options, environ: dict[str, str] | None = None) -> config.Connection:
    """Resolve the connection from the options, the environment and the config file."""
    given = {
        "url": options.url,
        "user": options.user,
        "password": options.password,
        "client_id": options.client_id,
        "client_secret": options.client_secret,
    }
    return config.resolve(
        given,
        config.from_environment(os.environ if environ is None else environ),
        config.read_config_file(options.config),
    )


@contextlib.contextmanager
def connected(options: Options) -> Iterator[client.Client]:
    """A client for the command; client errors and Ctrl-C become the documented exits."""
    url = options.url or client.DEFAULT_URL
    try:
        resolved = connection(options)
        url = resolved.url
        with client.Client(resolved.url, resolved.credentials) as api:
            yield api
    except client.ClientError as exc:
        typer.echo(error_line(exc, url), err=True)
        raise typer.Exit(exit_code_for(exc)) from None
    except KeyboardInterrupt:
        view.note("interrupted")
        raise typer.Exit(EXIT_INTERRUPTED) from None


def ask_to_cancel(what: str) -> bool:
    """Ask on stderr, read the answer from stdin; no answer (EOF, no terminal) means no."""
    typer.echo(f"Cancel {what} on the server? [y/N] ", err=True, nl=False)
    try:
        answer = sys.stdin.readline() if sys.stdin is not None else ""
    except (KeyboardInterrupt, OSError, ValueError):
        answer = ""
    if not answer.endswith("\n"):
        typer.echo("", err=True)
    return answer.strip().lower() in {"y", "yes"}


def fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(EXIT_FAILED)


# -- aqua ------------------------------------------------------------------------------------------


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
    if ask_to_cancel(f"job {job.id}"):
        cancelled = api.cancel(job.id)
        view.note(f"job {job.id} {cancelled.status}")
    else:
        view.note(f"job {job.id} keeps running on the server")
    raise typer.Exit(EXIT_INTERRUPTED)


@aqua_app.command("submit")
def aqua_submit(
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
    url: Url = None,
    user: User = None,
    password: Password = None,
    client_id: ClientId = None,
    client_secret: ClientSecret = None,
    config_file: ConfigFile = None,
    as_json: Json = False,
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
    options = Options(url, user, password, client_id, client_secret, config_file)
    with connected(options) as api:
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
        raise fail(f"job {job.id} ended {job.status}" + (f": {failed[0]}" if failed else ""))


@aqua_app.command("status")
def aqua_status(
    job_id: JobId,
    url: Url = None,
    user: User = None,
    password: Password = None,
    client_id: ClientId = None,
    client_secret: ClientSecret = None,
    config_file: ConfigFile = None,
    as_json: Json = False,
) -> None:
    """Show a job: its status, and each query's status, record count and files."""
    with connected(Options(url, user, password, client_id, client_secret, config_file)) as api:
        job = api.job(job_id)
    if as_json:
        view.print_json(job)
    else:
        view.show_job(job)


@aqua_app.command("cancel")
def aqua_cancel(
    job_id: JobId,
    url: Url = None,
    user: User = None,
    password: Password = None,
    client_id: ClientId = None,
    client_secret: ClientSecret = None,
    config_file: ConfigFile = None,
    as_json: Json = False,
) -> None:
    """Cancel a submitted or executing job (a finished one is refused: exit 1)."""
    with connected(Options(url, user, password, client_id, client_secret, config_file)) as api:
        job = api.cancel(job_id)
    if as_json:
        view.print_json(job)
    else:
        view.show_job(job)


@aqua_app.command("download")
def aqua_download(
    job_or_file_id: Annotated[str, typer.Argument(help="A job id (all its files) or a file id.")],
    to: Annotated[Path, typer.Option("--to", help="Directory to save into.")] = Path("."),
    url: Url = None,
    user: User = None,
    password: Password = None,
    client_id: ClientId = None,
    client_secret: ClientSecret = None,
    config_file: ConfigFile = None,
    as_json: Json = False,
) -> None:
    """Save a job's result files (named after its queries), or one file (named by its id)."""
    with connected(Options(url, user, password, client_id, client_secret, config_file)) as api:
        try:
            job: client.Job | None = api.job(job_or_file_id)
        except client.NotFound:
            job = None  # not a job id: try it as a file id
        if job is None:
            saved = [api.download(job_or_file_id, to / job_or_file_id)]
        else:
            saved = api.download_job(job, to)
            if not saved:
                raise fail(f"job {job.id} has no result files (it is {job.status})")
    if as_json:
        view.print_json({"files": saved})
    else:
        for path in saved:
            view.out.print(f"saved {path}")


@aqua_app.command("list")
def aqua_list(
    status: Annotated[
        list[str] | None,
        typer.Option("--status", help="submitted, executing, ..., active or finished; repeat."),
    ] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, max=500)] = None,
    cursor: Annotated[str | None, typer.Option("--cursor", help="The next page.")] = None,
    url: Url = None,
    user: User = None,
    password: Password = None,
    client_id: ClientId = None,
    client_secret: ClientSecret = None,
    config_file: ConfigFile = None,
    as_json: Json = False,
) -> None:
    """List the tenant's AQuA jobs, newest first."""
    with connected(Options(url, user, password, client_id, client_secret, config_file)) as api:
        page = api.jobs(kind="aqua", status=status, limit=limit, cursor=cursor)
    if as_json:
        view.print_json(page)
    else:
        view.show_job_page(page)


# -- report ----------------------------------------------------------------------------------------


@report_app.command("list")
def report_list(
    query: Annotated[str | None, typer.Argument(help="Part of a report's name.")] = None,
    url: Url = None,
    user: User = None,
    password: Password = None,
    client_id: ClientId = None,
    client_secret: ClientSecret = None,
    config_file: ConfigFile = None,
    as_json: Json = False,
) -> None:
    """List reports, or those whose name matches QUERY."""
    with connected(Options(url, user, password, client_id, client_secret, config_file)) as api:
        reports = api.reports(query)
    if as_json:
        view.print_json(reports)
    else:
        view.show_reports(reports)


def _wait_for_run(api: client.Client, run_id: str) -> client.ReportRun:
    """Wait showing the phase; Ctrl-C asks whether to cancel the run, then exits 130."""
    try:
        with view.RunProgress() as progress:
            return api.wait_report_run(run_id, on_progress=progress.update)
    except KeyboardInterrupt:
        pass
    if ask_to_cancel(f"report run {run_id}"):
        view.note(api.cancel_report_run(run_id))
    else:
        view.note(f"report run {run_id} keeps running on the server")
    raise typer.Exit(EXIT_INTERRUPTED)


@report_app.command("run")
def report_run(
    report_id: Annotated[str, typer.Argument(help="The report's id.")],
    view_type: Annotated[ViewType, typer.Option("--view", help="Detail or Summary.")] = (
        ViewType.Detail
    ),
    wait: Annotated[bool, typer.Option("--wait", help="Wait until it finishes.")] = False,
    export: Annotated[
        Path | None, typer.Option("--export", help="Wait, then save the export (UTF-16) here.")
    ] = None,
    pivoted: Annotated[bool, typer.Option("--pivoted", help="Export a summary pivoted.")] = False,
    url: Url = None,
    user: User = None,
    password: Password = None,
    client_id: ClientId = None,
    client_secret: ClientSecret = None,
    config_file: ConfigFile = None,
    as_json: Json = False,
) -> None:
    """Run a report; with --wait or --export, follow the run (Ctrl-C offers to cancel it)."""
    with connected(Options(url, user, password, client_id, client_secret, config_file)) as api:
        run_id = api.run_report(report_id, view_type.value)
        view.note(f"report run {run_id} started")
        saved = None
        if wait or export is not None:
            run = _wait_for_run(api, run_id)
            if export is not None and run.status == jobs.ReportRunStatus.COMPLETED:
                saved = api.export_report_run(run_id, export, pivoted=pivoted)
        else:
            run = api.report_run(run_id)
    if as_json:
        view.print_json({"run": run, "file": saved})
    else:
        view.show_run(run, saved)
    if run.finished and run.status != jobs.ReportRunStatus.COMPLETED:
        reason = f": {run.error_message}" if run.error_message else ""
        raise fail(f"report run {run.id} ended {run.status}{reason}")


@report_app.command("runs")
def report_runs(
    status: Annotated[
        list[str] | None,
        typer.Option("--status", help="STARTED, QUERYDATA, ..., COMPLETED; repeat for more."),
    ] = None,
    page: Annotated[int, typer.Option("--page", min=1)] = 1,
    page_size: Annotated[int | None, typer.Option("--page-size", min=1, max=1000)] = None,
    url: Url = None,
    user: User = None,
    password: Password = None,
    client_id: ClientId = None,
    client_secret: ClientSecret = None,
    config_file: ConfigFile = None,
    as_json: Json = False,
) -> None:
    """List report runs, newest first."""
    with connected(Options(url, user, password, client_id, client_secret, config_file)) as api:
        found = api.report_runs(status or (), page=page, page_size=page_size)
    if as_json:
        view.print_json(found)
    else:
        view.show_run_page(found)


@report_app.command("cancel")
def report_cancel(
    run_id: RunId,
    url: Url = None,
    user: User = None,
    password: Password = None,
    client_id: ClientId = None,
    client_secret: ClientSecret = None,
    config_file: ConfigFile = None,
    as_json: Json = False,
) -> None:
    """Cancel a report run in progress (a finished one is refused: exit 1)."""
    with connected(Options(url, user, password, client_id, client_secret, config_file)) as api:
        answer = api.cancel_report_run(run_id)
    if as_json:
        view.print_json({"id": run_id, "message": answer})
    else:
        view.out.print(answer)


@report_app.command("export")
def report_export(
    run_id: RunId,
    file: Annotated[Path, typer.Argument(help="Where to save the export.")],
    pivoted: Annotated[bool, typer.Option("--pivoted", help="A summary's crosstab.")] = False,
    url: Url = None,
    user: User = None,
    password: Password = None,
    client_id: ClientId = None,
    client_secret: ClientSecret = None,
    config_file: ConfigFile = None,
    as_json: Json = False,
) -> None:
    """Save a completed run's export as the server sends it (UTF-16LE, tab-separated)."""
    with connected(Options(url, user, password, client_id, client_secret, config_file)) as api:
        saved = api.export_report_run(run_id, file, pivoted=pivoted)
    if as_json:
        view.print_json({"file": saved})
    else:
        view.out.print(f"saved {saved}")
