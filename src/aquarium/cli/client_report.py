"""``aquarium report ...``: reports and report runs on a running server (list, run, runs,
cancel, export, data).

Connection options, ``--json`` and exit codes are shared by every client command:
:mod:`aquarium.cli.common`.
"""

from __future__ import annotations

import enum
from pathlib import Path
from typing import Annotated

import typer

from aquarium import client
from aquarium.cli import client_view as view
from aquarium.cli import common
from aquarium.domain import jobs

MAX_PAGE_SIZE = 10_000  # rows of a report data page: the server refuses more (reporting.md)
app = typer.Typer(help="Reports and report runs on a running server.")


class ViewType(enum.StrEnum):
    Detail = "Detail"
    Summary = "Summary"


@app.command("list")
@common.with_connection
def list_reports(
    query: Annotated[str | None, typer.Argument(help="Part of a report's name.")] = None,
    options: common.Options = common.NO_OPTIONS,
    as_json: common.Json = False,
) -> None:
    """List reports, or those whose name matches QUERY."""
    with common.connected(options) as api:
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
    if common.ask_to_cancel(f"report run {run_id}"):
        view.note(api.cancel_report_run(run_id))
    else:
        view.note(f"report run {run_id} keeps running on the server")
    raise typer.Exit(common.EXIT_INTERRUPTED)


@app.command("run")
@common.with_connection
def run(
    report_id: Annotated[str, typer.Argument(help="The report's id.")],
    view_type: Annotated[ViewType, typer.Option("--view", help="Detail or Summary.")] = (
        ViewType.Detail
    ),
    wait: Annotated[bool, typer.Option("--wait", help="Wait until it finishes.")] = False,
    export: Annotated[
        Path | None, typer.Option("--export", help="Wait, then save the export (UTF-16) here.")
    ] = None,
    pivoted: Annotated[bool, typer.Option("--pivoted", help="Export a summary pivoted.")] = False,
    options: common.Options = common.NO_OPTIONS,
    as_json: common.Json = False,
) -> None:
    """Run a report; with --wait or --export, follow the run (Ctrl-C offers to cancel it)."""
    with common.connected(options) as api:
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
        raise common.fail(f"report run {run.id} ended {run.status}{reason}")


@app.command("runs")
@common.with_connection
def runs(
    status: Annotated[
        list[str] | None,
        typer.Option("--status", help="STARTED, QUERYDATA, ..., COMPLETED; repeat for more."),
    ] = None,
    page: Annotated[int, typer.Option("--page", min=1)] = 1,
    page_size: Annotated[int | None, typer.Option("--page-size", min=1, max=1000)] = None,
    options: common.Options = common.NO_OPTIONS,
    as_json: common.Json = False,
) -> None:
    """List report runs, newest first."""
    with common.connected(options) as api:
        found = api.report_runs(status or (), page=page, page_size=page_size)
    if as_json:
        view.print_json(found)
    else:
        view.show_run_page(found)


@app.command("cancel")
@common.with_connection
def cancel(
    run_id: common.RunId,
    options: common.Options = common.NO_OPTIONS,
    as_json: common.Json = False,
) -> None:
    """Cancel a report run in progress (a finished one is refused: exit 1)."""
    with common.connected(options) as api:
        answer = api.cancel_report_run(run_id)
    if as_json:
        view.print_json({"id": run_id, "message": answer})
    else:
        view.out.print(answer)


@app.command("export")
@common.with_connection
def export(
    run_id: common.RunId,
    file: Annotated[Path, typer.Argument(help="Where to save the export.")],
    pivoted: Annotated[bool, typer.Option("--pivoted", help="A summary's crosstab.")] = False,
    options: common.Options = common.NO_OPTIONS,
    as_json: common.Json = False,
) -> None:
    """Save a completed run's export as the server sends it (UTF-16LE, tab-separated)."""
    with common.connected(options) as api:
        saved = api.export_report_run(run_id, file, pivoted=pivoted)
    if as_json:
        view.print_json({"file": saved})
    else:
        view.out.print(f"saved {saved}")


@app.command("data")
@common.with_connection
def data(
    run_id: common.RunId,
    offset: Annotated[
        int, typer.Option("--offset", min=0, help="The first row to show: 1 is the first.")
    ] = 1,
    page_size: Annotated[
        int, typer.Option("--page-size", min=1, max=MAX_PAGE_SIZE, help="Rows to show.")
    ] = 100,
    options: common.Options = common.NO_OPTIONS,
    as_json: common.Json = False,
) -> None:
    """Show a page of a completed run's rows, as the report shows them (display values)."""
    with common.connected(options) as api:
        page = api.report_data(run_id, offset, page_size)
    if as_json:
        view.print_json(page)
    else:
        view.show_report_data(page)
