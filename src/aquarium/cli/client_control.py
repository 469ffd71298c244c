"""``aquarium control ...``: the test-control API of a server started with ``--test-control``.

``requests`` (what the server saw from the tenant), ``fault add | list | remove | log``,
``clear``; ``clock`` and ``reset`` (tenant snapshots) are sub-apps of their own. The connection
options, ``--json`` and the exit codes are every client command's
(:mod:`aquarium.cli.common`); the calling user must administer its tenant.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from typing import Annotated, Any

import typer

from aquarium.cli import client_view as view
from aquarium.cli import common

app = typer.Typer(help="The test-control API of a server started with --test-control.")
fault_app = typer.Typer(help="Fault rules: make the server fail the tenant's requests.")
app.add_typer(fault_app, name="fault")


class Kind(enum.StrEnum):
    aqua = "aqua"
    report = "report"
    dataquery = "dataquery"


@app.command("requests")
@common.with_connection
def requests(
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="The last N.")] = 100,
    clear: Annotated[bool, typer.Option("--clear", help="Forget them (after showing).")] = False,
    options: common.Options = common.NO_OPTIONS,
    as_json: common.Json = False,
) -> None:
    """Show the last requests the server saw from the tenant, oldest first."""
    with common.connected(options) as api:
        seen = api.control.requests.list(limit)
        if clear:
            api.control.requests.clear()
    if as_json:
        view.print_json({"requests": seen})
        return
    for one in seen:
        query = f"?{one['query']}" if one["query"] else ""
        fault = f"  fault {one['faultId']}" if one["faultId"] else ""
        view.out.print(
            f"{one['startedAt']}  {one['status']}  {one['method']} {one['path']}{query}  "
            f"{one['bodyBytes']} B  {one['durationMs']:.1f} ms{fault}",
            soft_wrap=True,
        )


@app.command("clear")
@common.with_connection
def clear(options: common.Options = common.NO_OPTIONS) -> None:
    """A fresh start for the tenant: remove every fault rule, the firing log and the requests
    seen."""
    with common.connected(options) as api:
        api.control.clear()
    view.note("test control cleared: no fault rules, no firings, no requests seen")


@fault_app.command("add")
@common.with_connection
def add(
    endpoint: Annotated[
        str | None,
        typer.Option("--endpoint", help="Method and path pattern: 'GET /v1/batch-query/jobs/*'."),
    ] = None,
    kind: Annotated[Kind | None, typer.Option("--kind", help="Only this API's requests.")] = None,
    http: Annotated[
        int | None, typer.Option("--http", help="Answer with this status: 429, 500 or 503.")
    ] = None,
    refuse: Annotated[
        str | None, typer.Option("--refuse", help="AQuA: refuse with this Zuora error code.")
    ] = None,
    disconnect: Annotated[
        bool, typer.Option("--disconnect", help="Close the connection half-way through.")
    ] = False,
    abort_batch: Annotated[
        int | None,
        typer.Option("--abort-batch", min=1, help="AQuA: fail batch K of the next jobs."),
    ] = None,
    message: Annotated[str | None, typer.Option("--message", help="The answer's message.")] = None,
    retry_after: Annotated[
        int | None, typer.Option("--retry-after", help="Seconds in Retry-After (429, 503).")
    ] = None,
    count: Annotated[
        int | None, typer.Option("--count", min=1, help="The next N matching requests.")
    ] = None,
    duration: Annotated[
        float | None, typer.Option("--duration", help="Every matching request for S seconds.")
    ] = None,
    rule: Annotated[
        str | None, typer.Option("--rule", help="The whole rule as JSON instead of the above.")
    ] = None,
    options: common.Options = common.NO_OPTIONS,
    as_json: common.Json = False,
) -> None:
    """Add a fault rule: --http STATUS, --refuse CODE --message M, --disconnect or
    --abort-batch K --message M, for the next --count N (default 1) or --duration S seconds of
    matching requests (jobs, for --abort-batch)."""
    if rule is not None:
        document = _rule_from_json(rule)
    else:
        actions = _Actions(http, refuse, disconnect, abort_batch, message, retry_after)
        document = _rule_from_options(endpoint, kind, actions, count, duration)
    with common.connected(options) as api:
        added = api.control.faults.add(document)
    if as_json:
        view.print_json(added)
    else:
        view.out.print(f"fault {added['id']} added", soft_wrap=True)


def _rule_from_json(text: str) -> dict[str, Any]:
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise typer.BadParameter(f"--rule is not valid JSON: {exc}") from None
    if not isinstance(document, dict):
        raise typer.BadParameter("--rule must be a JSON object")
    return document


@dataclasses.dataclass(frozen=True)
class _Actions:
    """The action options of ``fault add`` as typed."""

    http: int | None
    refuse: str | None
    disconnect: bool
    abort_batch: int | None
    message: str | None
    retry_after: int | None


def _rule_from_options(
    endpoint: str | None,
    kind: Kind | None,
    given: _Actions,
    count: int | None,
    duration: float | None,
) -> dict[str, Any]:
    from aquarium.client import control

    chosen = (given.http, given.refuse, given.disconnect or None, given.abort_batch)
    if sum(option is not None for option in chosen) != 1:
        raise typer.BadParameter(
            "give one of --http STATUS, --refuse CODE, --disconnect and --abort-batch K"
        )
    if given.refuse is not None or given.abort_batch is not None:
        kind = kind or Kind.aqua  # AQuA's only
    if endpoint is None and kind is None:
        raise typer.BadParameter("give --endpoint, --kind, or both (or --rule)")
    if count is not None and duration is not None:
        raise typer.BadParameter("give --count or --duration, not both")
    action: dict[str, Any]
    if given.http is not None:
        action = {"type": "http", "status": given.http}
    elif given.refuse is not None:
        action = {"type": "refuse", "errorCode": given.refuse}
    elif given.abort_batch is not None:
        action = {"type": "abort", "batch": given.abort_batch}
    else:
        action = {"type": "disconnect"}
    if given.message is not None:
        action["message"] = given.message
    if given.retry_after is not None:
        action["retryAfterSeconds"] = given.retry_after
    return control.rule(
        action,
        endpoint=endpoint,
        kind=kind.value if kind is not None else None,
        count=count,
        duration_s=duration,
    )


@fault_app.command("list")
@common.with_connection
def list_faults(options: common.Options = common.NO_OPTIONS, as_json: common.Json = False) -> None:
    """List the tenant's fault rules: how often each fired, what remains."""
    with common.connected(options) as api:
        found = api.control.faults.list()
    if as_json:
        view.print_json({"faults": found})
        return
    for one in found:
        state = "active" if one["active"] else "used up"
        left = "" if one["remaining"] is None else f", {one['remaining']} left"
        until = "" if one["until"] is None else f", until {one['until']}"
        view.out.print(
            f"{one['id']}  {json.dumps(one['match'])} -> {json.dumps(one['action'])}  "
            f"fired {one['fired']}{left}{until} ({state})",
            soft_wrap=True,
        )


@fault_app.command("remove")
@common.with_connection
def remove(
    rule_id: Annotated[str | None, typer.Argument(help="The rule's id (f1, ...).")] = None,
    every: Annotated[bool, typer.Option("--all", help="Remove every rule.")] = False,
    options: common.Options = common.NO_OPTIONS,
) -> None:
    """Remove one fault rule, or --all (and the firing log with them)."""
    if (rule_id is None) == (not every):
        raise typer.BadParameter("give a rule id or --all")
    with common.connected(options) as api:
        if rule_id is None:
            api.control.faults.clear()
        else:
            api.control.faults.remove(rule_id)
    view.note("every fault rule removed" if rule_id is None else f"fault {rule_id} removed")


@fault_app.command("log")
@common.with_connection
def log(options: common.Options = common.NO_OPTIONS, as_json: common.Json = False) -> None:
    """Show every firing of the tenant's fault rules, oldest first."""
    with common.connected(options) as api:
        firings = api.control.faults.log()
    if as_json:
        view.print_json({"firings": firings})
        return
    for one in firings:
        if one.get("jobId"):
            what = f"job {one['jobId']} batch {one['batch']}"
        else:
            what = f"{one['method']} {one['path']}" + (f"?{one['query']}" if one["query"] else "")
        view.out.print(f"{one['at']}  {one['ruleId']}  {one['action']}  {what}", soft_wrap=True)
