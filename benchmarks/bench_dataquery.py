"""Data Query in embedded mode, measured beside DuckDB itself on the same data (issue 13).

1. Export: ``select * from invoiceitem`` as CSV, POST /query/jobs to ``completed`` (polled
   every 20 ms) and the ``dataFile`` downloaded to disk, against DuckDB's own
   ``COPY (same SQL) TO file (FORMAT csv, HEADER)`` under the server's DuckDB settings, run
   before and after the server (median taken). The SQL is the transpiled statement the server
   runs (``dataquery.sql.translate`` over the tenant's catalogue).
2. Group by: ``select accountid, count(*), sum(chargeamount) from invoiceitem group by
   accountid`` and a monthly group-by of 3M groups the same way, against DuckDB's COPY of the
   same SQL to CSV under the server's settings (before and after), and with DuckDB's defaults
   on a copy of the data right after each job (``twin.py``; issue 15's target: <= 1.25x).
   Beside the export, the first 256 MiB of its file fetched with ``Accept-Encoding: gzip``, as
   httpx and requests ask by default (the download above asks for the file as stored).
3. Cancel during ``in_progress``: DELETE a random moment into the export; the server's own
   histogram measures DELETE to statement stopped, read back from ``/metrics`` per trial.
4. Memory: the server's peak RSS over all of the above.
5. Where the export's time goes: the server's writer run in process on the same settings, the
   engine's ``copy_rows`` alone and ``output.write_query`` (with hashing), after the server.

The tenant's ``data_query_max_rows`` is raised in the data dir's metadata before the server
starts, so the whole of InvoiceItem is one result. The exports (2.8 GB each at scale 50) are
deleted once the server stops, and the tenant's ``file_retention_s`` is an hour, so they never
pile up in ``benchmarks/.work``.
"""

from __future__ import annotations

import datetime as dt
import random
import statistics
import tempfile
import time
from pathlib import Path
from typing import Any

import duckdb
import httpx

from aquarium import server as aquarium_server
from aquarium.catalog import model, views
from aquarium.dataquery import output, sql
from aquarium.domain import ids
from aquarium.engines import duckdb_engine, memory_gate, naming, ranged_copy
from aquarium.settings import Settings
from aquarium.storage import local
from aquarium.store import database, files_repo, tenants_repo
from benchmarks import bench_aqua
from benchmarks.dataquery_table import (
    CANCEL_TRIALS,
    CLIENT_POLL_S,
    EXPORT_QUERY,
    GROUP_BY_QUERY,
    MONTHLY_QUERY,
    POLL_EVERY_S,
    CancelResults,
    GzipDownload,
    JobTiming,
    Measured,
    report,
    stamp,
)
from benchmarks.server_process import ServerProcess
from benchmarks.twin import Twin

TENANT = "demo"
#: Room for every InvoiceItem row at any scale the generator takes (Zuora's default is 500,000).
MAX_ROWS = 1_000_000_000
#: Result files are kept an hour, not the default 3 days: each run leaves GBs of exports.
FILE_RETENTION_S = 3600
EXPORT_ROUNDS = 3
EXPORT_REFERENCE_ROUNDS = 2  # before the server and again after it
GROUP_BY_ROUNDS = 5
GROUP_BY_REFERENCE_ROUNDS = 3  # before the server and again after it
TRIAL_POLL_S = 0.005  # seconds between polls waiting for in_progress in a cancel trial
CANCEL_WINDOW_S = (0.2, 0.8)  # a cancel lands this long after in_progress is seen (at most)
DOWNLOAD_CHUNK = 1 << 20
GZIP_SAMPLE = 256 << 20  # bytes of the export's file downloaded with Accept-Encoding: gzip
FINISHED = {"completed", "failed", "cancelled"}


def _prepare(data_dir: Path) -> tuple[model.Catalog, str]:
    """Raise the tenant's row limit, shorten its file retention; its catalogue and time zone."""
    limits = {"data_query_max_rows": MAX_ROWS, "file_retention_s": FILE_RETENTION_S}
    with database.opened(None, data_dir) as metadata, metadata.begin() as conn:
        tenants_repo.set_limits(conn, TENANT, limits)
        tenant = tenants_repo.required_tenant(conn, TENANT)
    return views.for_tenant(model.default(), tenant), tenant.time_zone


def _engine_sql(query: str, catalog: model.Catalog) -> str:
    """The SQL the server runs for ``query`` on DuckDB."""
    translated = sql.translate(query, catalog, schema=naming.schema_name(TENANT), dialect="duckdb")
    assert translated.sql is not None
    return translated.sql


def _reference_copy(
    data_dir: Path, statement: str, zone: str, rounds: int, *, same_settings: bool = True
) -> list[tuple[float, int]]:
    """DuckDB's own ``COPY (statement) TO csv``, ``rounds`` times: (seconds, rows) each.

    ``same_settings``: under the server's DuckDB settings (threads, and the memory budget the
    server runs ``statement`` under: the building one for a statement that builds a hash table
    or a sort, ``memory_gate.Budget``); else DuckDB's defaults (every core). The file goes to the
    disk the server writes its results to.
    """
    con = duckdb.connect(str(data_dir / naming.DUCKDB_FILE), read_only=True)
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute("SET preserve_insertion_order = false")
        if same_settings:
            # The server's own DuckDB settings (aquarium.settings, duckdb_engine).
            settings = Settings()
            limit = settings.duckdb_memory_limit
            if not ranged_copy.streams(statement):
                limit = max(settings.duckdb_build_memory_limit, limit, key=memory_gate.bytes_of)
            con.execute(f"SET memory_limit = '{limit}'")
            if settings.duckdb_threads:
                con.execute(f"SET threads = {settings.duckdb_threads}")
        con.execute(f"SET TimeZone = '{zone}'")
        found = []
        with tempfile.TemporaryDirectory(dir=data_dir.parent) as scratch:
            for _ in range(rounds):
                start = time.perf_counter()
                rows = con.execute(
                    f"COPY ({statement}) TO '{scratch}/ref.csv' (FORMAT csv, HEADER)"
                ).fetchone()
                found.append((time.perf_counter() - start, int(rows[0]) if rows else 0))
                Path(scratch, "ref.csv").unlink()
    finally:
        con.close()
    return found


def _in_process(data_dir: Path, statement: str, zone: str) -> tuple[float, float]:
    """The server's CSV writer on the server's DuckDB settings, without the server: (seconds of
    the engine's ``copy_rows`` alone, seconds of ``output.write_query``: the same with the file
    hashed as it grows), one round each."""
    settings = Settings()
    engine = duckdb_engine.DuckDbEngine(
        data_dir / naming.DUCKDB_FILE,
        read_only=True,
        memory_limit=settings.duckdb_memory_limit or None,
        threads=settings.duckdb_threads or None,
        build_memory_limit=settings.duckdb_build_memory_limit or None,
    )
    spec = output.OutputSpec(output.OutputFormat.CSV, time_zone=zone)
    try:
        with (
            tempfile.TemporaryDirectory(dir=data_dir.parent) as scratch,
            engine.snapshot(TENANT) as snapshot,
        ):
            target = Path(scratch, "rows.csv")
            start = time.perf_counter()
            snapshot.copy_rows(statement, target, spec.layout(gzip=False))
            copy_s = time.perf_counter() - start
            target.unlink()
            start = time.perf_counter()
            output.write_query(snapshot, statement, spec, target, entry_name="bench")
            write_s = time.perf_counter() - start
    finally:
        engine.close()
    return copy_s, write_s


def _completed_jobs(client: httpx.Client) -> list[str]:
    """The stored ids of the tenant's completed Data Query jobs (this run's and any before)."""
    answer = client.get("/query/jobs", params={"queryStatus": "completed", "pageSize": 1000})
    found = (ids.from_uuid(str(job["id"])) for job in answer.json()["data"])
    return [job_id for job_id in found if job_id is not None]


def _discard_results(data_dir: Path, job_ids: list[str]) -> None:
    """Delete the result files of ``job_ids`` as the retention sweep would (with the server
    stopped): 2.8 GB an export at scale 50, which would otherwise fill the disk of a machine
    that runs the bench a few times within the hour of FILE_RETENTION_S."""
    store = local.LocalResultStore(data_dir / aquarium_server.RESULTS_DIR)
    now = dt.datetime.now(dt.UTC)
    with database.opened(None, data_dir) as metadata, metadata.begin() as conn:
        for job_id in job_ids:
            for record in files_repo.files_of_job(conn, job_id):
                store.delete(record.path)
                files_repo.mark_deleted(conn, record.id, now)


def _submit(client: httpx.Client, query: str) -> str:
    body = {
        "query": query,
        "outputFormat": "CSV",
        "compression": "NONE",
        "output": {"target": "S3"},
    }
    answer = client.post("/query/jobs", json=body)
    if answer.status_code != 200:
        raise RuntimeError(f"submit refused: {answer.status_code} {answer.text}")
    return str(answer.json()["data"]["id"])


def _get(client: httpx.Client, job_id: str) -> dict[str, Any]:
    job: dict[str, Any] = client.get(f"/query/jobs/{job_id}").json()["data"]
    return job


def _download(
    files: httpx.Client, url: str, into: Path, *, encoding: str = "identity", limit: int = 0
) -> tuple[int, str]:
    """Stream the signed ``dataFile`` to ``into`` with ``files`` (a client without credentials):
    the bytes written (decoded) and the ``Content-Encoding`` answered (``identity`` when none).

    ``encoding`` is the ``Accept-Encoding`` sent: ``identity`` fetches the file as stored (as
    curl does); ``gzip`` is what httpx and requests send by default. ``limit``: stop after that
    many bytes (0: the whole file).
    """
    size = 0
    headers = {"Accept-Encoding": encoding}
    with files.stream("GET", url, headers=headers) as answer, into.open("wb") as out:
        if answer.status_code != 200:
            raise RuntimeError(f"download refused: {answer.status_code}")
        expected = answer.headers.get("content-length")
        answered = answer.headers.get("content-encoding", "identity")
        for chunk in answer.iter_bytes(DOWNLOAD_CHUNK):
            out.write(chunk)
            size += len(chunk)
            if limit and size >= limit:
                return size, answered
    if expected is not None and answered == "identity" and int(expected) != size:
        raise RuntimeError(f"download cut short: {size} of {expected} bytes")
    return size, answered


def _gzip_download(client: httpx.Client, files: httpx.Client, scratch: Path) -> GzipDownload:
    """One more export, the first GZIP_SAMPLE bytes of its file downloaded with
    ``Accept-Encoding: gzip``."""
    job_id = _submit(client, EXPORT_QUERY)
    while (job := _get(client, job_id))["queryStatus"] not in FINISHED:
        time.sleep(POLL_EVERY_S)
    target = scratch / "gzip.csv"
    start = time.perf_counter()
    size, answered = _download(files, job["dataFile"], target, encoding="gzip", limit=GZIP_SAMPLE)
    seconds = time.perf_counter() - start
    target.unlink()
    return GzipDownload(seconds, size, answered)


def _timed_job(
    client: httpx.Client,
    files: httpx.Client,
    query: str,
    scratch: Path,
    poll_s: float = POLL_EVERY_S,
) -> JobTiming:
    """Submit ``query``, poll it every ``poll_s`` to ``completed``, download its file: the
    timings."""
    start = time.perf_counter()
    job_id = _submit(client, query)
    seen: dict[str, float] = {}
    while True:
        job = _get(client, job_id)
        seen.setdefault(job["queryStatus"], time.perf_counter() - start)
        if job["queryStatus"] in FINISHED:
            break
        time.sleep(poll_s)
    if job["queryStatus"] != "completed":
        raise RuntimeError(f"job ended {job['queryStatus']}: {job}")
    target = scratch / f"{job_id}.csv"
    size, answered = _download(files, job["dataFile"], target)
    downloaded = time.perf_counter() - start
    target.unlink()
    if answered != "identity":
        raise RuntimeError(f"asked for the file as stored, got {answered}")
    stamped = (stamp(job["updatedOn"]) - stamp(job["createdOn"])).total_seconds()
    return JobTiming(
        seen["completed"], downloaded, int(job["processingTime"]), int(job["outputRows"]),
        size, seen, stamped,
    )  # fmt: skip


def _cancel_trial(
    client: httpx.Client, rng: random.Random, window: tuple[float, float], into: CancelResults
) -> None:
    """One export cancelled a random moment in ``window`` after in_progress is seen."""
    before_sum, before_count = bench_aqua._cancel_metric(client)
    job_id = _submit(client, EXPORT_QUERY)
    while _get(client, job_id)["queryStatus"] == "accepted":
        time.sleep(TRIAL_POLL_S)
    time.sleep(rng.uniform(*window))
    start = time.perf_counter()
    answer = client.delete(f"/query/jobs/{job_id}")
    round_trip = time.perf_counter() - start
    if answer.status_code == 400 and _get(client, job_id)["queryStatus"] == "completed":
        into.missed += 1
        return
    if answer.status_code != 200 or answer.json()["data"]["queryStatus"] != "cancelled":
        raise RuntimeError(f"cancel answered {answer.status_code} {answer.text}")
    stopped = _observed(client, before_sum, before_count)
    if stopped is None:
        into.missed += 1
    else:
        into.stopped.append((stopped, round_trip))


def _observed(client: httpx.Client, before_sum: float, before_count: float) -> float | None:
    """The server's DELETE-to-stopped seconds for the one cancel since ``before``; None when
    no statement was stopped within bench_aqua.CANCEL_OBSERVED_WITHIN_S."""
    deadline = time.monotonic() + bench_aqua.CANCEL_OBSERVED_WITHIN_S
    while time.monotonic() < deadline:
        total, count = bench_aqua._cancel_metric(client)
        if count > before_count:
            return total - before_sum
        time.sleep(0.01)
    return None


def _cancel_window(exports: list[JobTiming]) -> tuple[float, float]:
    """CANCEL_WINDOW_S, shrunk to the first half of the export's in_progress at small scales."""
    running = statistics.median(e.phase("in_progress") or e.completed_s for e in exports)
    high = min(CANCEL_WINDOW_S[1], running / 2)
    return min(CANCEL_WINDOW_S[0], high / 2), high


def _alternated(
    client: httpx.Client,
    files: httpx.Client,
    query: str,
    statement: str,
    twin: Twin,
    work: Path,
    *,
    rounds: int = GROUP_BY_ROUNDS,
    poll_s: float = POLL_EVERY_S,
) -> tuple[list[JobTiming], list[tuple[float, int]]]:
    """``query`` as a job polled every ``poll_s``, then DuckDB's own COPY of ``statement`` with
    its defaults on the twin (``benchmarks/twin.py``), ``rounds`` times."""
    jobs: list[JobTiming] = []
    refs: list[tuple[float, int]] = []
    twin.copy(statement)  # DuckDB's first run reads the file; the server has read it already
    for _ in range(rounds):
        jobs.append(_timed_job(client, files, query, work, poll_s))
        refs.append(twin.copy(statement))
    return jobs, refs


def run() -> str:
    data_dir = bench_aqua._data_dir()
    catalog, zone = _prepare(data_dir)
    export_sql = _engine_sql(EXPORT_QUERY, catalog)
    group_sql = _engine_sql(GROUP_BY_QUERY, catalog)
    export_refs = _reference_copy(data_dir, export_sql, zone, EXPORT_REFERENCE_ROUNDS)
    group_refs = _reference_copy(data_dir, group_sql, zone, GROUP_BY_REFERENCE_ROUNDS)
    monthly_sql = _engine_sql(MONTHLY_QUERY, catalog)
    monthly_refs = _reference_copy(data_dir, monthly_sql, zone, GROUP_BY_REFERENCE_ROUNDS)
    with tempfile.TemporaryDirectory(dir=data_dir.parent) as scratch:
        work = Path(scratch)
        with (
            Twin(data_dir, work / "twin", zone) as twin,
            ServerProcess(data_dir) as server,
            httpx.Client(base_url=server.url, auth=bench_aqua.AUTH, timeout=600) as client,
            httpx.Client(timeout=3600) as files,
        ):
            exports = [_timed_job(client, files, EXPORT_QUERY, work) for _ in range(EXPORT_ROUNDS)]
            gzip_download = _gzip_download(client, files, work)
            groups, group_default = _alternated(
                client, files, GROUP_BY_QUERY, group_sql, twin, work
            )
            monthly, monthly_default = _alternated(
                client, files, MONTHLY_QUERY, monthly_sql, twin, work
            )
            paced, paced_default = _alternated(
                client, files, MONTHLY_QUERY, monthly_sql, twin, work, poll_s=CLIENT_POLL_S
            )
            window = _cancel_window(exports)
            rng = random.Random(13)
            cancels = CancelResults()
            while len(cancels.stopped) < CANCEL_TRIALS:
                _cancel_trial(client, rng, window, cancels)
            peak_rss = server.peak_rss_mb()
            finished = _completed_jobs(client)
    _discard_results(data_dir, finished)
    export_refs += _reference_copy(data_dir, export_sql, zone, EXPORT_REFERENCE_ROUNDS)
    group_refs += _reference_copy(data_dir, group_sql, zone, GROUP_BY_REFERENCE_ROUNDS)
    export_default = _reference_copy(data_dir, export_sql, zone, 1, same_settings=False)[0]
    monthly_refs += _reference_copy(data_dir, monthly_sql, zone, GROUP_BY_REFERENCE_ROUNDS)
    in_process = _in_process(data_dir, export_sql, zone)
    measured = Measured(
        exports, export_refs, export_default, groups, group_refs,
        statistics.median_low(group_default), monthly, monthly_refs,
        statistics.median_low(monthly_default), paced, statistics.median_low(paced_default),
        gzip_download, in_process, window, cancels, peak_rss,
    )  # fmt: skip
    return report(measured)
