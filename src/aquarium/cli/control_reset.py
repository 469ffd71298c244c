"""``aquarium control reset ...``: named snapshots of the tenant on a running server started with
``--test-control`` (save, restore, list, remove; docs/testing-your-integration.md "Reset").

Connection options, ``--json`` and exit codes are shared by every client command:
:mod:`aquarium.cli.common`. A bad name is the server's to refuse (HTTP 400), so the command and
the API say the same.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from aquarium.cli import client_view as view
from aquarium.cli import common

app = typer.Typer(help="Save and restore the tenant's data as named snapshots (--test-control).")

Name = Annotated[str, typer.Argument(help="The snapshot's name: a-z, 0-9, '_' or '-'.")]


def _line(found: dict[str, Any]) -> str:
    return (
        f"{found['name']}  {found['created']}  {found['rows']:,} rows, {found['runRows']} run "
        f"rows, {found['files']} files ({found['bytes']:,} B)"
    )


def _said(done: str, found: dict[str, Any], as_json: bool) -> None:
    if as_json:
        view.print_json(found)
    else:
        view.out.print(f"{done} {_line(found)}", soft_wrap=True)


@app.command("save")
@common.with_connection
def save(
    name: Name, options: common.Options = common.NO_OPTIONS, as_json: common.Json = False
) -> None:
    """Save the tenant's billing data, runs and files as NAME (replacing one of that name)."""
    with common.connected(options) as api:
        _said("saved", api.control.snapshots.save(name), as_json)


@app.command("restore")
@common.with_connection
def restore(
    name: Name, options: common.Options = common.NO_OPTIONS, as_json: common.Json = False
) -> None:
    """Put the tenant back as saved in NAME: later runs and their files gone, data as saved."""
    with common.connected(options) as api:
        _said("restored", api.control.snapshots.restore(name), as_json)


@app.command("list")
@common.with_connection
def list_snapshots(
    options: common.Options = common.NO_OPTIONS, as_json: common.Json = False
) -> None:
    """List the tenant's snapshots, oldest first."""
    with common.connected(options) as api:
        found = api.control.snapshots.list()
    if as_json:
        view.print_json({"snapshots": found})
        return
    for one in found:
        view.out.print(_line(one), soft_wrap=True)


@app.command("remove")
@common.with_connection
def remove(name: Name, options: common.Options = common.NO_OPTIONS) -> None:
    """Remove the snapshot NAME."""
    with common.connected(options) as api:
        api.control.snapshots.remove(name)
    view.note(f"snapshot {name} removed")
