"""Scale-out mode (issue 14): one API node and worker processes on one PostgreSQL.

Each run makes a fresh database on the PostgreSQL server at ``AQUARIUM_BENCH_PG`` (a DSN of
any database there; default the local ``postgres``, trust auth), loads the demo tenant into it
at ``AQUARIUM_BENCH_SO_SCALE`` (default 10; the load is timed and reported on its own), starts
``aquarium serve --no-workers`` and ``aquarium worker`` processes on it, measures, stops them
and drops the database. Without a reachable server it says so and measures nothing.

1. Export: an AQuA job of ``select * from InvoiceItem`` (every field, CSV), POST to
   ``completed`` (polled every 20 ms) and to the file downloaded, with one worker, against
   ``psql``'s ``\\copy (same SQL) to file csv header``, the two taking turns (medians taken),
   and the CPU time the API node and the worker spent on each export. The SQL is the ZOQL
   lowered by Aquarium's own lowering for the postgres dialect (as the worker lowers it),
   checked against the text of the COPY statement the worker has running (``pg_stat_activity``,
   which keeps the first ``track_activity_query_size`` bytes).
2. Small jobs: :data:`SMALL_AQUA` tiny AQuA jobs and :data:`SMALL_DATAQUERY` tiny Data Query
   jobs submitted at once by :data:`SUBMITTERS` clients, first submit to last ``completed`` (as
   the runs table records it), with one worker, then with two.
3. Cancel across processes: a Data Query job that runs until stopped (:data:`LONG_QUERY`),
   DELETE on the API node a random moment after its statement is seen running, to the moment
   the statement is gone from ``pg_stat_activity`` (polled every ms from the benchmark).
4. Memory: peak RSS (VmHWM) of the API node and of the worker after the exports.
"""

from __future__ import annotations

import os
import random
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import psycopg

from aquarium import datagen
from aquarium.catalog import model
from aquarium.engines import naming
from aquarium.store import database, tenants_repo
from aquarium.zoql import check, lower, translate
from benchmarks import bench_aqua, bench_dataquery
from benchmarks.server_process import NodeProcess, free_port

SERVER_DSN = os.environ.get("AQUARIUM_BENCH_PG", "postgresql://postgres@127.0.0.1:5432/postgres")
SCALE = float(os.environ.get("AQUARIUM_BENCH_SO_SCALE", "10"))
TENANT = "demo"
ZONE = "America/Los_Angeles"  # the demo tenant's time zone
EXPORT_QUERY = "select * from InvoiceItem"
EXPORT_ROUNDS = 5  # each after a psql reference round; one more reference round at the end
CONCURRENCY = 2  # runs per worker process
SMALL_AQUA = 200
SMALL_AQUA_QUERY = "select Id, Name from Product"
SMALL_DATAQUERY = 10
SMALL_DATAQUERY_QUERY = "select count(*) as n from account"
SUBMITTERS = 4
LONG_QUERY = (
    "select count(*) as n from invoiceitem a cross join invoiceitem b "
    "cross join invoiceitem c cross join invoiceitem d"
)
CANCEL_TRIALS = 30
CANCEL_WINDOW_S = (0.1, 0.5)  # a cancel lands this long after the statement is seen running
GONE_POLL_S = 0.001
POLL_EVERY_S = 0.02
DOWNLOAD_CHUNK = 1 << 20
WAIT_S = 600.0
#: Room for every small job at once (the defaults refuse a 51st stateless AQuA job and an 11th
#: waiting Data Query job).
LIMITS = {"max_stateless_jobs": 1000, "max_queued_data_queries": 1000}
TERMINAL = ("completed", "aborted", "cancelled", "error", "failed")


def _dsn(database: str) -> str:
    return SERVER_DSN.rsplit("/", 1)[0] + "/" + database


@dataclass
class Deployment:
    """The database, the data dir and the processes of one run."""

    database: str
    data_dir: Path
    api: NodeProcess | None = None
    workers: list[NodeProcess] = field(default_factory=list)

    @property
    def dsn(self) -> str:
        return _dsn(self.database)

    def _aquarium(self, *args: str) -> list[str]:
        return [
            sys.executable, "-m", "aquarium", *args, "--database-url", self.dsn,
            "--data-dir", str(self.data_dir),
        ]  # fmt: skip

    def start_api(self) -> NodeProcess:
        port = free_port()
        command = self._aquarium("serve", "--no-workers", "--port", str(port))
        self.api = NodeProcess(command, self.data_dir / "api.log", f"http://127.0.0.1:{port}")
        return self.api.start()

    def start_worker(self) -> NodeProcess:
        number = len(self.workers) + 1
        command = self._aquarium("worker", "--concurrency", str(CONCURRENCY), "--log-level", "info")
        worker = NodeProcess(command, self.data_dir / f"worker{number}.log", ready="worker ready")
        self.workers.append(worker.start())
        return worker

    def stop(self) -> None:
        for node in [*self.workers, self.api]:
            if node is not None:
                node.stop()


def _create_database(name: str) -> None:
    with psycopg.connect(SERVER_DSN, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')


def _drop_database(name: str) -> None:
    with psycopg.connect(SERVER_DSN, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@dataclass
class Load:
    seconds: float
    rows: int
    invoice_items: int


def _load(deployment: Deployment) -> Load:
    """The demo tenant's data, generated and loaded into the run's database (timed)."""
    report = datagen.generate_into(
        deployment.data_dir, TENANT, scale=SCALE, seed=1, engine="postgres",
        dsn=deployment.dsn, metadata_url=deployment.dsn,
    )  # fmt: skip
    with database.opened(deployment.dsn, deployment.data_dir) as metadata, metadata.begin() as c:
        tenants_repo.set_limits(c, TENANT, LIMITS)
    return Load(report.seconds, report.total_rows, report.rows["InvoiceItem"])


def _submit_aqua(client: httpx.Client, query: str) -> str:
    body = {"version": "1.0", "queries": [{"name": "q", "query": query}]}
    answer = client.post("/v1/batch-query/", json=body)
    job = answer.json()
    if answer.status_code != 200 or "id" not in job:
        raise RuntimeError(f"submit refused: {answer.status_code} {answer.text}")
    return str(job["id"])


def _lowered_sql() -> str:
    """The SQL a worker runs for EXPORT_QUERY (the AQuA handler's lowering, postgres dialect)."""
    context = check.Context(catalog=model.default(), time_zone=ZONE)
    options = lower.Options(dialect="postgres", schema=naming.schema_name(TENANT), use_labels=True)
    lowered = translate.translate(EXPORT_QUERY, context=context, options=options)
    assert lowered.session_time_zone == ZONE
    return lowered.sql


def _psql_copy(dsn: str, statement: str, scratch: Path, rounds: int) -> list[tuple[float, int]]:
    """``psql``'s ``\\copy (statement) to file csv header``, ``rounds`` times: (seconds, rows).

    In the worker's session settings: the tenant's time zone, JIT off (``postgres_engine``).
    """
    target = scratch / "psql.csv"
    found = []
    for _ in range(rounds):
        command = [
            "psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", dsn,
            "-c", f"SET TimeZone = '{ZONE}'", "-c", "SET jit = off",
            "-c", f"\\copy ({statement}) to '{target}' csv header",
        ]  # fmt: skip
        start = time.perf_counter()
        subprocess.run(command, check=True)
        seconds = time.perf_counter() - start
        with target.open("rb") as handle:
            rows = sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 24), b""))
        found.append((seconds, rows - 1))
        target.unlink()
    return found


@dataclass
class Export:
    completed_s: float
    downloaded_s: float
    rows: int
    size: int
    api_cpu_s: float = 0.0  # CPU seconds the API node spent from the POST to completed
    worker_cpu_s: float = 0.0  # and the worker


def _cpu_s(node: NodeProcess) -> float:
    """CPU seconds (user and system) process ``node`` has used so far."""
    assert node.process is not None
    fields = Path(f"/proc/{node.process.pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _running_copy(dsn: str, started: float) -> str:
    """The text of the first COPY statement seen running in the run's database (as far as
    pg_stat_activity keeps it); empty when none was seen within the export."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        while time.perf_counter() - started < WAIT_S:
            row = conn.execute(
                "SELECT query FROM pg_stat_activity WHERE datname = current_database() "
                "AND state = 'active' AND query LIKE 'COPY (%'"
            ).fetchone()
            if row is not None:
                return str(row[0])
            time.sleep(0.005)
    return ""


def _export(client: httpx.Client, scratch: Path, nodes: tuple[NodeProcess, NodeProcess]) -> Export:
    """One export by the API node and worker ``nodes``: POST, poll to completed, download."""
    cpu = [_cpu_s(node) for node in nodes]
    start = time.perf_counter()
    job_id = _submit_aqua(client, EXPORT_QUERY)
    job = bench_aqua._wait(
        client, job_id, until={"completed", "aborted", "cancelled"}, every=POLL_EVERY_S
    )
    completed = time.perf_counter() - start
    api_cpu, worker_cpu = (_cpu_s(node) - before for node, before in zip(nodes, cpu, strict=True))
    if job["status"] != "completed":
        raise RuntimeError(f"export ended {job['status']}: {job}")
    batch = job["batches"][0]
    target = scratch / "download.csv"
    size = 0
    with client.stream("GET", f"/v1/files/{batch['fileId']}") as answer, target.open("wb") as out:
        if answer.status_code != 200:
            raise RuntimeError(f"download refused: {answer.status_code}")
        for chunk in answer.iter_raw(DOWNLOAD_CHUNK):
            out.write(chunk)
            size += len(chunk)
    downloaded = time.perf_counter() - start
    target.unlink()
    return Export(completed, downloaded, int(batch["recordCount"]), size, api_cpu, worker_cpu)


@dataclass
class SmallJobs:
    jobs: int
    submit_s: float  # first submit to last submit answered
    completed_s: float  # first submit to the last completed (the runs table's updated_at)


def _small_jobs(client: httpx.Client, dsn: str) -> SmallJobs:
    """SMALL_AQUA + SMALL_DATAQUERY jobs submitted at once: first submit to last completed."""
    with psycopg.connect(dsn, autocommit=True) as conn:
        since = conn.execute("SELECT clock_timestamp()").fetchone()
        assert since is not None
        wall = time.time()

        def submit(number: int) -> None:
            if number < SMALL_DATAQUERY:
                bench_dataquery._submit(client, SMALL_DATAQUERY_QUERY)
            else:
                _submit_aqua(client, SMALL_AQUA_QUERY)

        total = SMALL_AQUA + SMALL_DATAQUERY
        with ThreadPoolExecutor(SUBMITTERS) as pool:
            list(pool.map(submit, range(total)))
        submitted = time.time() - wall
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            rows = conn.execute(
                "SELECT status, count(*), max(updated_at) FROM runs WHERE created_at >= %s "
                "AND status = ANY(%s) GROUP BY status",
                [since[0], list(TERMINAL)],
            ).fetchall()
            done = {str(status): (int(count), last) for status, count, last in rows}
            if sum(count for count, _ in done.values()) >= total:
                break
            time.sleep(0.05)
        else:
            raise RuntimeError(f"small jobs not finished after {WAIT_S} s: {done}")
    if set(done) != {"completed"}:
        raise RuntimeError(f"small jobs ended otherwise: {done}")
    last = done["completed"][1]
    return SmallJobs(total, submitted, (last - since[0]).total_seconds())


@dataclass
class Cancels:
    gone: list[float] = field(default_factory=list)  # DELETE sent to statement gone, seconds
    round_trips: list[float] = field(default_factory=list)  # the DELETE's own round trip


#: The statement of a Data Query job as pg_stat_activity shows it (its text is cut at 1 KiB, before
#: the joins): in the cancel trials nothing else runs a COPY.
RUNNING_COPY = (
    "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' "
    "AND query LIKE 'COPY (%%' AND pid <> pg_backend_pid()"
)


def _long_statement(conn: psycopg.Connection[tuple[object, ...]]) -> int | None:
    """The backend running LONG_QUERY's statement, if any (not one of its parallel workers)."""
    row = conn.execute(RUNNING_COPY + " AND backend_type = 'client backend'").fetchone()
    return int(str(row[0])) if row is not None else None


def _still_running(conn: psycopg.Connection[tuple[object, ...]], pid: int) -> bool:
    """Whether backend ``pid`` or one of its parallel workers still runs the statement."""
    found = conn.execute(RUNNING_COPY + " AND %s IN (pid, leader_pid)", [pid]).fetchone()
    return found is not None


def _cancel_trial(
    client: httpx.Client, conn: psycopg.Connection[tuple[object, ...]], rng: random.Random,
    into: Cancels,
) -> None:  # fmt: skip
    job_id = bench_dataquery._submit(client, LONG_QUERY)
    deadline = time.monotonic() + WAIT_S
    while (pid := _long_statement(conn)) is None:
        if time.monotonic() > deadline:
            raise RuntimeError("the long Data Query never started")
        time.sleep(0.005)
    time.sleep(rng.uniform(*CANCEL_WINDOW_S))
    start = time.perf_counter()
    answer = client.delete(f"/query/jobs/{job_id}")
    into.round_trips.append(time.perf_counter() - start)
    if answer.status_code != 200 or answer.json()["data"]["queryStatus"] != "cancelled":
        raise RuntimeError(f"cancel answered {answer.status_code} {answer.text}")
    while _still_running(conn, pid):
        if time.perf_counter() - start > WAIT_S:
            raise RuntimeError("the cancelled statement kept running")
        time.sleep(GONE_POLL_S)
    into.gone.append(time.perf_counter() - start)


@dataclass
class Measured:
    load: Load
    running_copy: str
    exports: list[Export]
    references: list[tuple[float, int]]
    small: dict[int, SmallJobs]
    cancels: Cancels
    api_rss: float
    worker_rss: float
    load_average: tuple[float, float, float]


def run() -> str:
    try:
        with psycopg.connect(SERVER_DSN, connect_timeout=5):
            pass
    except psycopg.OperationalError as exc:
        reason = str(exc).strip().splitlines()[0]
        where = f"no PostgreSQL at {SERVER_DSN} ({reason}); set AQUARIUM_BENCH_PG"
        return f"### Scale-out\n\nskipped: {where}"
    database = f"aquarium_bench_{secrets.token_hex(4)}"
    work = bench_aqua.WORK
    work.mkdir(parents=True, exist_ok=True)
    data_dir = Path(tempfile.mkdtemp(prefix="scaleout-", dir=work))
    deployment = Deployment(database, data_dir)
    _create_database(database)
    try:
        return _report(_measure(deployment))
    finally:
        deployment.stop()
        _drop_database(database)
        shutil.rmtree(data_dir, ignore_errors=True)


def _progress(what: str) -> None:
    print(f"{time.strftime('%H:%M:%S')} scaleout: {what}", file=sys.stderr, flush=True)


def _measure(deployment: Deployment) -> Measured:
    _progress(f"loading scale {SCALE:g} into {deployment.database}")
    load = _load(deployment)
    _progress(f"loaded in {load.seconds:.1f} s; exports")
    statement = _lowered_sql()
    scratch = deployment.data_dir / "scratch"
    scratch.mkdir()
    api = deployment.start_api()
    worker = deployment.start_worker()
    nodes = (api, worker)
    with httpx.Client(base_url=api.url, auth=bench_aqua.AUTH, timeout=WAIT_S) as client:
        # The reference and the export take turns, so the machine's noise hits both alike.
        references = _psql_copy(deployment.dsn, statement, scratch, 1)
        started = time.perf_counter()
        with ThreadPoolExecutor(1) as watcher:
            seen = watcher.submit(_running_copy, deployment.dsn, started)
            exports = [_export(client, scratch, nodes)]
            running_copy = seen.result()
        for _ in range(EXPORT_ROUNDS - 1):
            references += _psql_copy(deployment.dsn, statement, scratch, 1)
            exports.append(_export(client, scratch, nodes))
        references += _psql_copy(deployment.dsn, statement, scratch, 1)
        api_rss, worker_rss = api.peak_rss_mb(), worker.peak_rss_mb()
        _progress(f"exports {[round(e.completed_s, 2) for e in exports]}; small jobs")
        small = {1: _small_jobs(client, deployment.dsn)}
        deployment.start_worker()
        small[2] = _small_jobs(client, deployment.dsn)
        _progress(f"small jobs {small}; cancels")
        cancels = Cancels()
        rng = random.Random(14)
        with psycopg.connect(deployment.dsn, autocommit=True) as conn:
            for _ in range(CANCEL_TRIALS):
                _cancel_trial(client, conn, rng, cancels)
    load_average = os.getloadavg()
    if not statement.startswith(_copied_select(running_copy)):
        raise RuntimeError(f"the worker ran another statement: {running_copy[:200]}")
    return Measured(
        load, running_copy, exports, references, small, cancels, api_rss, worker_rss,
        load_average,
    )  # fmt: skip


def _copied_select(copy_text: str) -> str:
    """The SELECT inside ``COPY (select) TO ...``, as far as the (cut) text holds it."""
    inner = copy_text.removeprefix("COPY (")
    end = inner.rfind(") TO STDOUT")
    return inner[:end] if end >= 0 else inner


def _s(seconds: float) -> str:
    return f"{seconds:.2f} s"


def _ms(samples: Sequence[float], fraction: float) -> str:
    return f"{bench_aqua._percentile(list(samples), fraction) * 1000:,.0f} ms"


def _report(m: Measured) -> str:
    rows = m.exports[0].rows
    if {e.rows for e in m.exports} | {n for _, n in m.references} != {rows}:
        raise RuntimeError(f"row counts differ: {m.exports} {m.references}")
    ours = statistics.median(e.completed_s for e in m.exports)
    downloaded = statistics.median(e.downloaded_s for e in m.exports)
    ref = statistics.median(s for s, _ in m.references)
    mib = m.exports[0].size / 2**20
    one, two = m.small[1], m.small[2]
    gone = m.cancels.gone
    checked = len(_copied_select(m.running_copy))
    return "\n".join(
        [
            f"### Scale-out, scale {SCALE:g} ({rows:,} InvoiceItem rows, {mib:,.0f} MiB CSV)",
            "",
            "One API node (`serve --no-workers`) and `aquarium worker --concurrency "
            f"{CONCURRENCY}` processes on one PostgreSQL; load average at the end "
            f"{m.load_average[0]:.1f} / {m.load_average[1]:.1f} / {m.load_average[2]:.1f} "
            "(1 / 5 / 15 min).",
            "",
            "| measure | Aquarium | reference | ratio / target |",
            "|---|---|---|---|",
            f"| data load (`datagen --engine postgres`, all objects) | {_s(m.load.seconds)}, "
            f"{m.load.rows:,} rows, {m.load.rows / m.load.seconds:,.0f} rows/s | | |",
            f"| AQuA export `{EXPORT_QUERY}`, POST to completed, one worker (median of "
            f"{len(m.exports)}) | {_s(ours)}, {rows / ours:,.0f} rows/s | psql `\\copy (same SQL) "
            f"to file csv header` (median of {len(m.references)}): {_s(ref)}, "
            f"{rows / ref:,.0f} rows/s | {ref / ours:.2f}x (target >= 0.8) |",
            f"| the same, POST to file downloaded from the API node | {_s(downloaded)} | "
            f"{_s(ref)} | {ref / downloaded:.2f}x |",
            f"| each round, ours / psql (s) | "
            f"{', '.join(f'{e.completed_s:.2f}' for e in m.exports)} | "
            f"{', '.join(f'{r:.2f}' for r, _ in m.references)} | |",
            f"| CPU time from POST to completed (median) | worker "
            f"{statistics.median(e.worker_cpu_s for e in m.exports):.2f} s, API node "
            f"{statistics.median(e.api_cpu_s for e in m.exports):.2f} s (answering the polls) "
            "| | |",
            f"| {one.jobs} small jobs ({SMALL_AQUA} AQuA `{SMALL_AQUA_QUERY}`, {SMALL_DATAQUERY} "
            f"Data Query `{SMALL_DATAQUERY_QUERY}`), first POST to last completed | two workers: "
            f"{_s(two.completed_s)}, {two.jobs / two.completed_s:,.1f} jobs/s | one worker: "
            f"{_s(one.completed_s)}, {one.jobs / one.completed_s:,.1f} jobs/s | "
            f"{one.completed_s / two.completed_s:.2f}x |",
            f"| cancel across processes: DELETE on the API node to the statement gone from "
            f"pg_stat_activity ({len(gone)} trials) | p50 {_ms(gone, 0.5)}, p95 "
            f"{_ms(gone, 0.95)}, max {max(gone) * 1000:,.0f} ms | DELETE round trip p95 "
            f"{_ms(m.cancels.round_trips, 0.95)} | target p95 <= 1,000 ms |",
            f"| peak RSS after the exports | API node {m.api_rss:,.0f} MiB, worker "
            f"{m.worker_rss:,.0f} MiB | | |",
            "",
            "The reference runs the SQL Aquarium's ZOQL lowering makes for the postgres dialect, "
            "in the worker's session settings (time zone, `jit = off`); "
            f"the first {checked:,} characters of the COPY the worker ran (as pg_stat_activity "
            "keeps them) were checked to match it.",
        ]
    )
