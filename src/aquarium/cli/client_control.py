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
    fail_phase: Annotated[
        str | None,
        typer.Option(
            "--fail-phase",
            help="Report runs (QUERYDATA, PROCESSINGDATA) or Data Query jobs (in_progress): "
            "fail the next runs in this phase.",
        ),
    ] = None,
    latency_ms: Annotated[
        int | None,
        typer.Option("--latency-ms", min=1, help="Wait N ms before each phase of the next runs."),
    ] = None,
    hang: Annotated[
        bool, typer.Option("--hang", help="Keep the next runs running until cancelled.")
    ] = False,
    partner: Annotated[
        str | None, typer.Option("--partner", help="Runs only: AQuA jobs of this partner.")
    ] = None,
    project: Annotated[
        str | None, typer.Option("--project", help="Runs only: AQuA jobs of this project.")
    ] = None,
    query: Annotated[
        str | None,
        typer.Option(
            "--query", help="Runs only: a regular expression searched in the ZOQL, SQL or report."
        ),
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
    """Add a fault rule: --http STATUS, --refuse CODE --message M or --disconnect for requests;
    --abort-batch K --message M, --fail-phase P --message M, --latency-ms N or --hang for runs
    (narrowed by --partner, --project, --query); for the next --count N (default 1) or
    --duration S seconds of matching requests or runs."""
    if rule is not None:
        document = _rule_from_json(rule)
    else:
        actions = _Actions(
            http, refuse, disconnect, abort_batch, message, retry_after, fail_phase, latency_ms,
            hang,
        )  # fmt: skip
        runs = {"partner": partner, "project": project, "query": query}
        document = _rule_from_options(endpoint, kind, actions, count, duration, runs)
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
    fail_phase: str | None
    latency_ms: int | None
    hang: bool

    def action(self) -> dict[str, Any]:
        """The one action chosen, as its JSON document (the server judges its values)."""
        chosen: list[dict[str, Any]] = []
        if self.http is not None:
            chosen.append({"type": "http", "status": self.http})
        if self.refuse is not None:
            chosen.append({"type": "refuse", "errorCode": self.refuse})
        if self.disconnect:
            chosen.append({"type": "disconnect"})
        if self.abort_batch is not None:
            chosen.append({"type": "abort", "batch": self.abort_batch})
        if self.fail_phase is not None:
            chosen.append({"type": "fail", "phase": self.fail_phase})
        if self.latency_ms is not None:
            chosen.append({"type": "latency", "milliseconds": self.latency_ms})
        if self.hang:
            chosen.append({"type": "hang"})
        if len(chosen) != 1:
            raise typer.BadParameter(
                "give one of --http STATUS, --refuse CODE, --disconnect, --abort-batch K, "
                "--fail-phase P, --latency-ms N and --hang"
            )
        action = chosen[0]
        if self.message is not None:
            action["message"] = self.message
        if self.retry_after is not None:
            action["retryAfterSeconds"] = self.retry_after
        return action


#: Actions the runner takes on runs: they match a kind of run, never an endpoint.
_RUN_ACTIONS = ("abort", "fail", "latency", "hang")


def _rule_from_options(
    endpoint: str | None,
    kind: Kind | None,
    given: _Actions,
    count: int | None,
    duration: float | None,
    runs: dict[str, str | None],
) -> dict[str, Any]:
    from aquarium.client import control

    action = given.action()
    if action["type"] in ("refuse", "abort"):
        kind = kind or Kind.aqua  # AQuA's only
    if endpoint is None and kind is None:
        hint = "--kind" if action["type"] in _RUN_ACTIONS else "--endpoint, --kind, or both"
        raise typer.BadParameter(f"give {hint} (or --rule)")
    if count is not None and duration is not None:
        raise typer.BadParameter("give --count or --duration, not both")
    return control.rule(
        action,
        endpoint=endpoint,
        kind=kind.value if kind is not None else None,
        count=count,
        duration_s=duration,
        **runs,
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
            step = f"batch {one['batch']}" if one.get("batch") else f"phase {one.get('phase')}"
            what = f"run {one['jobId']} {step}"
        else:
            what = f"{one['method']} {one['path']}" + (f"?{one['query']}" if one["query"] else "")
        view.out.print(f"{one['at']}  {one['ruleId']}  {one['action']}  {what}", soft_wrap=True)
