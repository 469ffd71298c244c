"""AQuA in embedded mode, measured beside DuckDB itself on the same data (issue 3).

1. Export throughput: a job exporting every InvoiceItem row, submit to ``completed``, against
   DuckDB's own ``COPY (same SQL) TO`` file (run before and after the server, median taken).
2. Cancel latency: DELETE while the batch scans; the server's own histogram measures DELETE to
   statement stopped, read back from ``/metrics`` per trial.
3. Status polling: 50 keep-alive clients polling GET job for 20 s while an export runs.
4. Memory: the server's peak RSS over all of the above.
"""

from __future__ import annotations

import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx

from aquarium import datagen
from aquarium.catalog import model
from aquarium.engines import naming
from aquarium.settings import Settings
from aquarium.zoql import check, lower, translate
from benchmarks import loadgen
from benchmarks.server_process import ServerProcess, env_scale

WORK = Path(__file__).resolve().parent / ".work"
SCALE = env_scale(50)
EXPORT_QUERY = "select * from InvoiceItem"
AUTH = ("demo", "demo")
EXPORT_ROUNDS = 3
CANCEL_TRIALS = 20
POLL_CLIENTS = 50
POLL_SECONDS = 20.0


def _data_dir() -> Path:
    """Scale-N demo data, generated once and reused (generation is its own benchmark)."""
    data_dir = WORK / f"aqua-scale-{SCALE:g}"
    marker = data_dir / ".generated"
    if not marker.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        datagen.generate_into(data_dir, "demo", scale=SCALE, seed=1)
        marker.touch()
    return data_dir


def _reference_copy(data_dir: Path, *, same_settings: bool = True) -> tuple[float, int]:
    """DuckDB's own COPY of the SQL Aquarium runs for EXPORT_QUERY: (seconds, rows).

    ``same_settings``: under the server's DuckDB settings (threads, memory); else DuckDB's
    defaults (every core).
    """
    context = check.Context(catalog=model.default(), time_zone="America/Los_Angeles")
    lowered = translate.translate(
        EXPORT_QUERY,
        context=context,
        options=lower.Options(dialect="duckdb", schema=naming.schema_name("demo"), use_labels=True),
    )
    con = duckdb.connect(str(data_dir / naming.DUCKDB_FILE), read_only=True)
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute("SET preserve_insertion_order = false")
        if same_settings:
            # The server's own DuckDB settings (aquarium.settings, duckdb_engine).
            settings = Settings()
            con.execute(f"SET memory_limit = '{settings.duckdb_memory_limit}'")
            if settings.duckdb_threads:
                con.execute(f"SET threads = {settings.duckdb_threads}")
        con.execute("SET TimeZone = 'America/Los_Angeles'")
        with tempfile.TemporaryDirectory() as scratch:
            start = time.perf_counter()
            rows = con.execute(
                f"COPY ({lowered.sql}) TO '{scratch}/ref.csv' (FORMAT csv, HEADER, COMMENT '')"
            ).fetchone()
            seconds = time.perf_counter() - start
    finally:
        con.close()
    return seconds, int(rows[0]) if rows else 0


def _submit(client: httpx.Client, queries: list[str]) -> str:
    body = {
        "version": "1.0",
        "queries": [{"name": f"q{i}", "query": q} for i, q in enumerate(queries)],
    }
    answer = client.post("/v1/batch-query/", json=body).json()
    return str(answer["id"])


def _wait(
    client: httpx.Client, job_id: str, *, until: set[str], every: float = 0.02
) -> dict[str, Any]:
    while True:
        job: dict[str, Any] = client.get(f"/v1/batch-query/jobs/{job_id}").json()
        if job["status"] in until:
            return job
        time.sleep(every)


def _export(client: httpx.Client) -> tuple[float, int]:
    start = time.perf_counter()
    job_id = _submit(client, [EXPORT_QUERY])
    job = _wait(client, job_id, until={"completed", "aborted", "cancelled"})
    seconds = time.perf_counter() - start
    if job["status"] != "completed":
        raise RuntimeError(f"export ended {job['status']}: {job}")
    return seconds, int(job["batches"][0]["recordCount"])


def _cancel_metric(client: httpx.Client) -> tuple[float, float]:
    total = count = 0.0
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("aquarium_cancel_latency_seconds_sum"):
            total = float(line.split()[-1])
        elif line.startswith("aquarium_cancel_latency_seconds_count"):
            count = float(line.split()[-1])
    return total, count


def _cancel_trial(client: httpx.Client, rng: random.Random) -> tuple[float, float]:
    """(server-measured DELETE-to-stopped seconds, client round trip of the DELETE)."""
    before_sum, before_count = _cancel_metric(client)
    job_id = _submit(client, [EXPORT_QUERY])
    while (
        client.get(f"/v1/batch-query/jobs/{job_id}").json()["batches"][0]["status"] != "executing"
    ):
        time.sleep(0.01)
    time.sleep(rng.uniform(0.2, 0.8))  # somewhere inside the scan
    start = time.perf_counter()
    answer = client.delete(f"/v1/batch-query/jobs/{job_id}").json()
    round_trip = time.perf_counter() - start
    if answer.get("status") != "cancelled":
        raise RuntimeError(f"cancel answered {answer}")
    while True:
        total, count = _cancel_metric(client)
        if count > before_count:
            return total - before_sum, round_trip
        time.sleep(0.01)


def _percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def run() -> str:
    data_dir = _data_dir()
    ref_before = _reference_copy(data_dir)
    with (
        ServerProcess(data_dir) as server,
        httpx.Client(base_url=server.url, auth=AUTH, timeout=600) as client,
    ):
        exports = [_export(client) for _ in range(EXPORT_ROUNDS)]
        rng = random.Random(3)
        cancels = [_cancel_trial(client, rng) for _ in range(CANCEL_TRIALS)]
        busy = _submit(client, [EXPORT_QUERY] * 10)
        _wait(client, busy, until={"executing"})
        polled = loadgen.poll(
            "127.0.0.1",
            server.port,
            f"/v1/batch-query/jobs/{busy}",
            user=AUTH[0],
            password=AUTH[1],
            clients=POLL_CLIENTS,
            seconds=POLL_SECONDS,
        )
        still_running = client.get(f"/v1/batch-query/jobs/{busy}").json()["status"] == "executing"
        client.delete(f"/v1/batch-query/jobs/{busy}")
        peak_rss = server.peak_rss_mb()
    ref_after = _reference_copy(data_dir)
    ref_default = _reference_copy(data_dir, same_settings=False)
    return _report(
        exports, [ref_before, ref_after], ref_default, cancels, polled, still_running, peak_rss
    )


def _report(
    exports: list[tuple[float, int]],
    references: list[tuple[float, int]],
    ref_default: tuple[float, int],
    cancels: list[tuple[float, float]],
    polled: loadgen.LoadResult,
    still_running: bool,
    peak_rss: float,
) -> str:
    ours_s = statistics.median(s for s, _ in exports)
    rows = exports[0][1]
    ref_s = statistics.median(s for s, _ in references)
    stopped = [c[0] * 1000 for c in cancels]
    trips = [c[1] * 1000 for c in cancels]
    ms = 1000
    return "\n".join(
        [
            f"### AQuA embedded mode, scale {SCALE:g} ({rows:,} InvoiceItem rows)",
            "",
            "| measure | Aquarium | reference | ratio / target |",
            "|---|---|---|---|",
            f"| export, submit to completed (median of {EXPORT_ROUNDS}) | {ours_s:.2f} s, "
            f"{rows / ours_s:,.0f} rows/s | DuckDB COPY same SQL: {ref_s:.2f} s, "
            f"{references[0][1] / ref_s:,.0f} rows/s | {ref_s / ours_s:.2f}x (target >= 0.8) |",
            f"| the same export | | DuckDB COPY with DuckDB's defaults (all cores): "
            f"{ref_default[0]:.2f} s | {ref_default[0] / ours_s:.2f}x |",
            f"| cancel, DELETE to statement stopped ({CANCEL_TRIALS} trials) | "
            f"p50 {_percentile(stopped, 0.5):.1f} ms, p95 {_percentile(stopped, 0.95):.1f} ms, "
            f"max {max(stopped):.1f} ms | DELETE round trip p95 {_percentile(trips, 0.95):.1f} ms "
            "| target p95 <= 250 ms |",
            f"| polling GET job, {POLL_CLIENTS} clients x {POLL_SECONDS:.0f} s during an export "
            f"(export still running at the end: {still_running}) | "
            f"{polled.requests_per_second:,.0f} req/s, p50 {polled.percentile(0.5) * ms:.1f} ms, "
            f"p99 {polled.percentile(0.99) * ms:.1f} ms, {polled.errors} errors | | "
            "target >= 1,000 req/s, p99 <= 50 ms |",
            f"| server peak RSS over the whole run | {peak_rss:,.0f} MiB | | target <= 400 MB |",
        ]
    )
