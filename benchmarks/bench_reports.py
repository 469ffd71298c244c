"""Reporting: a Summary report run measured beside DuckDB itself on the same data (issue 5).

1. Summary run: POST reportrun to COMPLETED (polled every 20 ms), against DuckDB running the
   same GROUP BY SQL (fetchall) under the server's DuckDB settings, before and after the server
   (median taken), and with DuckDB's defaults on a copy of the data right after each run
   (``twin.py``); the phases the polls saw show where the run's time goes.
2. Cancel during QUERYDATA: DELETE a random moment into QUERYDATA; the server's own histogram
   measures DELETE to statement stopped, read back from ``/metrics`` per trial.
3. Memory: the server's peak RSS over both.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import httpx

from aquarium.catalog import model
from aquarium.domain import tenancy
from aquarium.engines import memory_gate, naming
from aquarium.settings import Settings
from aquarium.store import database, tenants_repo
from aquarium.zoql import check, lower, report_plan
from benchmarks import bench_aqua
from benchmarks.server_process import ServerProcess
from benchmarks.twin import Twin

TENANT = "demo"
DS_NAME = "InvoiceItem"
# Group by invoice month and currency, sum of amounts: the summary report.
SUMMARY_DEFINITION = {
    "rowFields": [{"id": "Invoice.InvoiceDate", "dateOptions": {"groupBy": "CM"}}],
    "colFields": [{"id": "Account.Currency"}],
    "valFields": [{"id": "InvoiceItem.ChargeAmount", "aggregation": "SUM"}],
}
RUN_ROUNDS = 15
REFERENCE_ROUNDS = 3  # before the server and again after it
POLL_EVERY_S = 0.02  # seconds between GET run polls while timing a run
CLIENT_POLL_S = bench_aqua.CLIENT_POLL_S
CLIENT_ROUNDS = 7
TRIAL_POLL_S = 0.005  # seconds between polls waiting for QUERYDATA in a cancel trial
CANCEL_TRIALS = 20
CANCEL_OBSERVED_WITHIN_S = bench_aqua.CANCEL_OBSERVED_WITHIN_S
FINISHED = {"COMPLETED", "ERROR", "CANCELLED", "INVALID"}
PHASES = ("STARTED", "QUERYDATA", "PROCESSINGDATA")
CANCELED = "The report run has been canceled"


@dataclass
class RunTiming:
    """One summary run: seconds from POST to COMPLETED, its rows, and when each status was
    first seen (seconds after the POST; a phase shorter than a poll may go unseen)."""

    seconds: float
    rows: int
    seen: dict[str, float] = field(default_factory=dict)
    #: the run's own stamps, ``startedOn`` (its creation) to ``updatedOn`` (COMPLETED): the
    #: server's time without the HTTP round trips and the polls' granularity (milliseconds)
    stamped: float = 0.0

    def phase(self, status: str) -> float | None:
        """Seconds the run was seen in ``status``: until the next status seen."""
        return bench_aqua.phase_seconds(self.seen, status, self.seconds)


@dataclass
class CancelResults:
    stopped: list[tuple[float, float]] = field(default_factory=list)  # (server s, round trip s)
    in_processing: list[float] = field(default_factory=list)  # server s, cancel after QUERYDATA
    missed: int = 0  # no statement to stop: between phases, or the run already COMPLETED


def _summary_sql(data_dir: Path) -> lower.LoweredQuery:
    """The SQL Aquarium runs for the summary, planned and lowered as the runner does."""
    with database.opened(None, data_dir) as metadata, metadata.connect() as conn:
        zone = tenants_repo.time_zone(conn, TENANT) or tenancy.DEFAULT_TIME_ZONE
    context = check.Context(catalog=model.default(), time_zone=zone, now=dt.datetime.now(dt.UTC))
    query = report_plan.build(
        SUMMARY_DEFINITION, ds_name=DS_NAME, view_type=report_plan.SUMMARY, context=context
    )
    options = lower.Options(dialect="duckdb", schema=naming.schema_name(TENANT), raw=True)
    return lower.lower(query.plan, options)


def _reference_group_by(data_dir: Path) -> list[tuple[float, int]]:
    """DuckDB running the summary's GROUP BY, REFERENCE_ROUNDS times under the server's DuckDB
    settings (threads, and the building budget it gives a GROUP BY): (seconds, rows) each."""
    lowered = _summary_sql(data_dir)
    con = duckdb.connect(str(data_dir / naming.DUCKDB_FILE), read_only=True)
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute("SET preserve_insertion_order = false")
        # The server's own DuckDB settings (aquarium.settings, duckdb_engine, memory_gate).
        settings = Settings()
        limit = max(
            settings.duckdb_build_memory_limit,
            settings.duckdb_memory_limit,
            key=memory_gate.bytes_of,
        )
        con.execute(f"SET memory_limit = '{limit}'")
        if settings.duckdb_threads:
            con.execute(f"SET threads = {settings.duckdb_threads}")
        con.execute(f"SET TimeZone = '{lowered.session_time_zone}'")
        rounds = []
        for _ in range(REFERENCE_ROUNDS):
            start = time.perf_counter()
            rows = con.execute(lowered.sql).fetchall()
            rounds.append((time.perf_counter() - start, len(rows)))
    finally:
        con.close()
    return rounds


def _create_report(client: httpx.Client) -> str:
    body = {
        "name": "bench summary",
        "dsName": DS_NAME,
        "datasource": DS_NAME,
        "definition": json.dumps(SUMMARY_DEFINITION),
    }
    answer = client.post("/api/rest/v1/reports", json=body).json()
    if not answer.get("success"):
        raise RuntimeError(f"report not created: {answer}")
    return str(answer["response"]["id"])


def _start_run(client: httpx.Client, report_id: str) -> str:
    answer = client.post(f"/api/rest/v1/reports/{report_id}/reportrun?viewType=Summary").json()
    if not answer.get("success"):
        raise RuntimeError(f"run not started: {answer}")
    return str(answer["response"]["reportRunId"])


def _get_run(client: httpx.Client, run_id: str) -> dict[str, Any]:
    run: dict[str, Any] = client.get(f"/api/rest/v1/reportruns/{run_id}").json()["response"]
    return run


def _summary_run(client: httpx.Client, report_id: str, poll_s: float = POLL_EVERY_S) -> RunTiming:
    start = time.perf_counter()
    run_id = _start_run(client, report_id)
    seen: dict[str, float] = {}
    while True:
        run = _get_run(client, run_id)
        seen.setdefault(run["status"], time.perf_counter() - start)
        if run["status"] in FINISHED:
            break
        time.sleep(poll_s)
    if run["status"] != "COMPLETED":
        raise RuntimeError(f"summary run ended {run['status']}: {run}")
    page = client.get(f"/api/rest/v1/reportruns/reportdata/{run_id}?offset=1&pageSize=100")
    if not page.json().get("success"):
        raise RuntimeError(f"report data refused: {page.text}")
    stamped = _stamp(run["updatedOn"]) - _stamp(run["startedOn"])
    return RunTiming(seen["COMPLETED"], int(run["rowCount"]), seen, stamped)


def _stamp(text: str) -> float:
    """Seconds since the epoch of a Reporting API time (``2026-12-07T12:49:24.350+0000``)."""
    return dt.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%f%z").timestamp()


def _cancel_trial(
    client: httpx.Client, report_id: str, rng: random.Random, window_s: float, into: CancelResults
) -> None:
    """One run cancelled ``0..window_s`` after QUERYDATA is seen; its outcome goes ``into``.

    A stop is counted under QUERYDATA only if the cancelled run never recorded a row count
    (the runner records it with the move to PROCESSINGDATA, which the cancel then forbids).
    """
    before_sum, before_count = bench_aqua._cancel_metric(client)
    run_id = _start_run(client, report_id)
    while _get_run(client, run_id)["status"] == "STARTED":
        time.sleep(TRIAL_POLL_S)
    time.sleep(rng.uniform(0, window_s))
    start = time.perf_counter()
    answer = client.delete(f"/api/rest/v1/reportruns/{run_id}")
    round_trip = time.perf_counter() - start
    if answer.status_code == 400 and _get_run(client, run_id)["status"] == "COMPLETED":
        into.missed += 1
        return
    if answer.json().get("response") != CANCELED:
        raise RuntimeError(f"cancel answered {answer.status_code} {answer.text}")
    stopped = _observed(client, before_sum, before_count)
    run = _get_run(client, run_id)
    if run["status"] != "CANCELLED":
        raise RuntimeError(f"cancelled run ended {run['status']}: {run}")
    if stopped is None:
        into.missed += 1
    elif "rowCount" in run:
        into.in_processing.append(stopped)
    else:
        into.stopped.append((stopped, round_trip))


def _observed(client: httpx.Client, before_sum: float, before_count: float) -> float | None:
    """The server's DELETE-to-stopped seconds for the one cancel since ``before``; None when
    no statement was stopped within CANCEL_OBSERVED_WITHIN_S."""
    deadline = time.monotonic() + CANCEL_OBSERVED_WITHIN_S
    while time.monotonic() < deadline:
        total, count = bench_aqua._cancel_metric(client)
        if count > before_count:
            return total - before_sum
        time.sleep(0.01)
    return None


def _report_jobs(client: httpx.Client) -> dict[str, float]:
    """The JOBS counter's report series, by status."""
    found: dict[str, float] = {}
    for line in client.get("/metrics").text.splitlines():
        if line.startswith('aquarium_jobs_total{kind="report"'):
            status = line.split('status="', 1)[1].split('"', 1)[0]
            found[status] = float(line.split()[-1])
    return found


def run() -> str:
    data_dir = bench_aqua._data_dir()
    references = _reference_group_by(data_dir)
    lowered = _summary_sql(data_dir)
    with (
        tempfile.TemporaryDirectory(dir=data_dir.parent) as scratch,
        Twin(data_dir, Path(scratch) / "twin", lowered.session_time_zone) as twin,
        ServerProcess(data_dir) as server,
        httpx.Client(base_url=server.url, auth=bench_aqua.AUTH, timeout=600) as client,
    ):
        report_id = _create_report(client)
        twin.fetch(lowered.sql)  # DuckDB's first run reads the file; the server's has read it
        runs: list[RunTiming] = []
        ref_default: list[tuple[float, int]] = []
        for _ in range(RUN_ROUNDS):  # DuckDB's defaults right after each run (twin.py)
            runs.append(_summary_run(client, report_id))
            ref_default.append(twin.fetch(lowered.sql))
        paced = Paced()
        for _ in range(CLIENT_ROUNDS):
            paced.runs.append(_summary_run(client, report_id, CLIENT_POLL_S))
            paced.references.append(twin.fetch(lowered.sql))
        querydata_s = statistics.median(r.phase("QUERYDATA") or 0.0 for r in runs)
        rng = random.Random(5)
        cancels = CancelResults()
        while len(cancels.stopped) < CANCEL_TRIALS:
            _cancel_trial(client, report_id, rng, querydata_s / 2, cancels)
        jobs = _report_jobs(client)
        peak_rss = server.peak_rss_mb()
    references += _reference_group_by(data_dir)
    return _report(runs, references, ref_default, paced, querydata_s, cancels, jobs, peak_rss)


@dataclass
class Paced:
    """Runs polled at a client's pace (CLIENT_POLL_S), each with DuckDB's time right after."""

    runs: list[RunTiming] = field(default_factory=list)
    references: list[tuple[float, int]] = field(default_factory=list)

    def row(self) -> str:
        stamped = statistics.median(r.stamped for r in self.runs)
        default = statistics.median(s for s, _ in self.references)
        return (
            f"| the same polled every {CLIENT_POLL_S:g} s (a client's pace), by their stamps "
            f"(median of {len(self.runs)}) | {stamped:.3f} s | DuckDB with its defaults right "
            f"after each run: {default:.3f} s | {stamped / default:.2f}x (target <= 1.25) |"
        )


def _phases(runs: list[RunTiming]) -> str:
    parts = []
    for status in PHASES:
        seen = [s for s in (r.phase(status) for r in runs) if s is not None]
        if seen:
            parts.append(f"{status} {statistics.median(seen) * 1000:.0f} ms")
    return ", ".join(parts)


def _report(
    runs: list[RunTiming],
    references: list[tuple[float, int]],
    ref_default: list[tuple[float, int]],
    paced: Paced,
    querydata_s: float,
    cancels: CancelResults,
    jobs: dict[str, float],
    peak_rss: float,
) -> str:
    ours = [r.seconds for r in runs]
    ref = [s for s, _ in references]
    default_s = statistics.median(s for s, _ in ref_default)
    ours_s, ref_s = statistics.median(ours), statistics.median(ref)
    stamped_s = statistics.median(r.stamped for r in runs)
    if {r.rows for r in runs} != {n for _, n in references}:
        raise RuntimeError(f"row counts differ: runs {runs}, DuckDB {references}")
    stopped = [c[0] * 1000 for c in cancels.stopped]
    trips = [c[1] * 1000 for c in cancels.stopped]
    pct = bench_aqua._percentile
    counters = ", ".join(f"{status} {n:.0f}" for status, n in sorted(jobs.items()))
    return "\n".join(
        [
            f"### Reporting, scale {bench_aqua.SCALE:g}: Summary of {DS_NAME} by invoice month "
            f"and currency ({runs[0].rows:,} rows)",
            "",
            "| measure | Aquarium | reference | ratio / target |",
            "|---|---|---|---|",
            f"| summary run, POST reportrun to COMPLETED (median of {RUN_ROUNDS}) | "
            f"{ours_s:.3f} s (min {min(ours):.3f} s) | DuckDB same GROUP BY SQL, same settings "
            f"(median of {len(ref)}): {ref_s:.3f} s (min {min(ref):.3f} s) | "
            f"{ours_s / ref_s:.2f}x |",
            f"| the same summary | | DuckDB with its defaults (all cores), right after each run "
            f"(median of {len(ref_default)}): {default_s:.3f} s | "
            f"{ours_s / default_s:.2f}x (target <= 1.25) |",
            f"| the same runs by their own stamps, startedOn to updatedOn (median) | "
            f"{stamped_s:.3f} s | DuckDB with its defaults: {default_s:.3f} s | "
            f"{stamped_s / default_s:.2f}x |",
            paced.row(),
            f"| where the run's time goes (median, as seen by polls every "
            f"{POLL_EVERY_S * 1000:.0f} ms) | {_phases(runs)} | | |",
            f"| cancel during QUERYDATA, DELETE to statement stopped ({CANCEL_TRIALS} trials, "
            f"DELETE 0-{querydata_s / 2 * 1000:.0f} ms into QUERYDATA) | "
            f"p50 {pct(stopped, 0.5):.1f} ms, p95 {pct(stopped, 0.95):.1f} ms, "
            f"max {max(stopped):.1f} ms ({len(cancels.in_processing)} more trials stopped "
            f"PROCESSINGDATA instead, {cancels.missed} found no statement to stop or the run "
            "already COMPLETED) | "
            f"DELETE round trip p95 {pct(trips, 0.95):.1f} ms; every cancel ended CANCELLED | "
            "target p95 <= 250 ms |",
            f"| the server's JOBS counter, kind report | {counters} | | |",
            f"| server peak RSS over the whole run | {peak_rss:,.0f} MiB | | |",
        ]
    )
