"""``aquarium control clock ...``: the tenant's clock on a running server started with
``--test-control`` (show, freeze, set, advance, reset; docs/testing-your-integration.md).

Connection options, ``--json`` and exit codes are shared by every client command:
:mod:`aquarium.cli.common`. A bad instant or duration is the server's to refuse (HTTP 400,
naming the member), so the command and the API say the same.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from aquarium.cli import client_view as view
from aquarium.cli import common

app = typer.Typer(help="The tenant's clock on a server started with --test-control.")

At = Annotated[
    str, typer.Argument(help="An ISO-8601 instant with an offset, e.g. 2026-12-01T00:00:00Z.")
]


def _answer(options: common.Options, as_json: bool, body: dict[str, Any] | None) -> None:
    with common.connected(options) as api:
        found = api.control.clock.show() if body is None else api.control.clock.move(body)
    if as_json:
        view.print_json(found)
        return
    state = "frozen" if found["frozen"] else "running"
    view.out.print(
        f"{found['tenant']}: {found['now']} ({state}, {found['offsetSeconds']:+.0f} s from the "
        f"server's {found['serverNow']})"
    )


@app.command("show")
@common.with_connection
def show(options: common.Options = common.NO_OPTIONS, as_json: common.Json = False) -> None:
    """Where the tenant's clock stands."""
    _answer(options, as_json, None)


@app.command("freeze")
@common.with_connection
def freeze(
    at: Annotated[str | None, typer.Argument(help="Freeze at this instant (default: now).")] = None,
    options: common.Options = common.NO_OPTIONS,
    as_json: common.Json = False,
) -> None:
    """Stop the tenant's clock where it stands, or at AT."""
    _answer(options, as_json, {"action": "freeze"} | ({"at": at} if at is not None else {}))


@app.command("set")
@common.with_connection
def set_clock(
    at: At,
    frozen: Annotated[bool, typer.Option("--frozen", help="Stop it there.")] = False,
    options: common.Options = common.NO_OPTIONS,
    as_json: common.Json = False,
) -> None:
    """Put the tenant's clock at AT (backwards too), running on from there unless --frozen."""
    _answer(options, as_json, {"action": "set", "at": at, "frozen": frozen})


@app.command("advance")
@common.with_connection
def advance(
    days: Annotated[float, typer.Option("--days", min=0)] = 0,
    hours: Annotated[float, typer.Option("--hours", min=0)] = 0,
    minutes: Annotated[float, typer.Option("--minutes", min=0)] = 0,
    seconds: Annotated[float, typer.Option("--seconds", min=0)] = 0,
    options: common.Options = common.NO_OPTIONS,
    as_json: common.Json = False,
) -> None:
    """Move the tenant's clock forwards; what expired meanwhile is swept at once."""
    by = {"days": days, "hours": hours, "minutes": minutes, "seconds": seconds}
    by = {unit: amount for unit, amount in by.items() if amount}
    if not by:
        raise common.fail("say how far: --days, --hours, --minutes or --seconds", common.EXIT_USAGE)
    _answer(options, as_json, {"action": "advance", "by": by})


@app.command("reset")
@common.with_connection
def reset(options: common.Options = common.NO_OPTIONS, as_json: common.Json = False) -> None:
    """Put the tenant's clock back on real time."""
    _answer(options, as_json, {"action": "reset"})
