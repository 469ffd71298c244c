"""A scale-out deployment under load and under faults (issue 14): API nodes and workers are real
processes on one PostgreSQL database and one shared data dir (``deployments.py``).

- Many jobs of every kind from several tenants complete with the right files, and no tenant
  ever has more runs executing than its limits allow, whichever worker runs them.
- A worker killed (``kill -9``) or stopped (SIGTERM) in the middle of a job: the job completes on
  the other worker, and nothing stays executing.
- A cancel on an API node stops the statement on the worker's connection.
- An API node restarted loses nothing; a second API node sees what the first one does.

Which worker runs a run is read from the runs table: its ``worker`` column is
``host:pid:nonce`` of the worker process.
"""

from __future__ import annotations

import signal
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from aquarium.catalog import model
from aquarium.domain import clock, jobs, tenancy
from aquarium.engines import naming
from aquarium.services import demo_reports, reports, tenant_catalogs
from aquarium.store import database, tenants_repo
from tests import tenants_setup
from tests.acceptance import dataquery_support as dq
from tests.acceptance import deployments, support
from tests.acceptance.conftest import SCALE_OUT_GROUP

#: Each test starts processes and waits for many jobs (a deployment's setup counts too).
pytestmark = [pytest.mark.xdist_group(SCALE_OUT_GROUP), pytest.mark.slow, pytest.mark.timeout(400)]

#: Short heartbeats: a lost worker's runs start again elsewhere within seconds.
FAST_RECOVERY = {"AQUARIUM_HEARTBEAT_S": "1", "AQUARIUM_STALE_AFTER_S": "5"}
#: Issue 14: a cancel on any API node stops the statement on the worker within this bound.
CANCEL_BOUND_S = 1.0
#: A Data Query that runs for a few seconds at demo scale 0.05 (4,859 invoice items) and whose
#: answer is known: it is still running when a test stops its worker.
SECONDS_LONG = (
    "select count(*) as n from invoiceitem a cross join invoiceitem b "
    "cross join (select id from account order by id limit 2) c"
)
#: Runs for minutes at demo scale 0.05: only a cancel ends it.
ENDLESS = (
    "select count(*) as n from invoiceitem a cross join invoiceitem b "
    "cross join invoiceitem c cross join invoiceitem d"
)
REPORT = "Accounts by status"
SAMPLE_EVERY_S = 0.05
WAIT_S = 120.0


def _count(deployment: deployments.ScaleOut, tenant: str, table: str) -> int:
    """Rows of ``table`` in ``tenant``'s billing data, from PostgreSQL itself."""
    with deployments.metadata_connection(deployment) as conn:
        row = conn.execute(
            f'select count(*) from {naming.schema_name(tenant)}."{table}"'
        ).fetchone()
    assert row is not None
    return int(row[0])


def _run_row(deployment: deployments.ScaleOut, run_id: str) -> dict[str, Any]:
    """The run's row of the runs table (``run_id`` as the API shows it, dashed or not)."""
    with deployments.metadata_connection(deployment) as conn:
        cursor = conn.execute(
            "select status, worker, attempt from runs where id = %s", (run_id.replace("-", ""),)
        )
        row = cursor.fetchone()
    assert row is not None, run_id
    return {"status": row[0], "worker": row[1], "attempt": row[2]}


def _worker_pid(row: dict[str, Any]) -> int:
    return int(row["worker"].split(":")[1])


def _executing(deployment: deployments.ScaleOut) -> Counter[tuple[str, str]]:
    """How many runs execute now, by tenant and kind (each kind's own executing statuses)."""
    with deployments.metadata_connection(deployment) as conn:
        rows = conn.execute("select tenant, kind, status, count(*) from runs group by 1, 2, 3")
        found: Counter[tuple[str, str]] = Counter()
        for tenant, kind, status, count in rows:
            if status in jobs.machine(kind).executing:
                found[(tenant, kind)] += count
    return found


def _deliveries_in_progress(deployment: deployments.ScaleOut) -> int:
    with deployments.metadata_connection(deployment) as conn:
        row = conn.execute("select count(*) from procrastinate_jobs where status = 'doing'")
        return int(row.fetchone()[0])  # type: ignore[index]


def _exports(deployment: deployments.ScaleOut) -> list[int]:
    """Backends of the deployment's database running a job's statement (a ``COPY (...) TO
    STDOUT``; pg_stat_activity shows only the first kilobyte of its text)."""
    with deployments.metadata_connection(deployment) as conn:
        rows = conn.execute(
            "select pid from pg_stat_activity where datname = current_database() "
            "and state = 'active' and pid <> pg_backend_pid() and query ilike 'COPY (%%'"
        )
        return [int(pid) for (pid,) in rows]


def _eventually(check: Any, what: str, timeout: float = WAIT_S) -> Any:
    deadline = time.monotonic() + timeout
    while not (found := check()):
        if time.monotonic() > deadline:
            raise AssertionError(f"not in {timeout} s: {what}")
        time.sleep(SAMPLE_EVERY_S)
    return found


def _save_demo_reports(deployment: deployments.ScaleOut, tenant: str, user: str) -> None:
    """The demo tenant's starter reports, saved for ``tenant`` too (owned by ``user``)."""
    engine = database.connect(deployment.metadata_url)

    def tenant_of(name: str) -> tenancy.Tenant | None:
        with engine.connect() as conn:
            return tenants_repo.get_tenant(conn, name)

    try:
        service = reports.ReportService(
            metadata=engine,
            catalogs=tenant_catalogs.TenantCatalogs(model.default(), tenant_of),
            clock=clock.SystemClock(),
        )
        owner = tenancy.Principal(tenant, user, True, tenancy.AuthMethod.BASIC)
        assert demo_reports.ensure(service, owner) > 0
    finally:
        engine.dispose()


def _started(name: str, base: Path, pg_dsn: str, **options: Any) -> deployments.ScaleOut:
    return deployments.start(deployments.scale_out(name, base / "data", pg_dsn, **options))


@pytest.fixture(scope="module")
def faults(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[deployments.ScaleOut]:
    """One API node and two workers that notice a lost worker within seconds."""
    base = tmp_path_factory.mktemp("faults")
    yield from _serving(
        _started("faults", base, pg_dsn, demo_scale=0.05, env=FAST_RECOVERY, concurrency=2)
    )


def _serving(deployment: deployments.ScaleOut) -> Iterator[deployments.ScaleOut]:
    support.RUNNING.append(deployment)
    try:
        yield deployment
    finally:
        support.RUNNING.remove(deployment)
        deployment.stop()


@pytest.fixture
def two_workers(faults: deployments.ScaleOut) -> deployments.ScaleOut:
    """The ``faults`` deployment with two live workers (a test before may have stopped one)."""
    while sum(worker.alive() for worker in faults.workers) < 2:
        faults.start_worker()
    return faults


# -- many jobs, several tenants, low limits --------------------------------------------------------

TENANTS = {
    "demo": support.DEMO_AUTH,
    "north": ("north", "north-pw"),
    "south": ("south", "south-pw"),
}
LIMITS = {"max_stateless_jobs": 2, "max_data_queries": 2, "max_report_runs": 2}
AQUA_JOBS, REPORT_RUNS, DATA_QUERIES = 14, 8, 12  # a tenant's; 34 x 3 tenants = 102 jobs
AQUA_QUERIES = ("select Id, AccountNumber from Account", "select Id from InvoiceItem")
#: Long enough (a few tenths of a second) for runs to overlap; answers n = items x accounts x 5.
DQ_QUERY = (
    "select count(*) as n from invoiceitem a cross join account b "
    "cross join (select id from account order by id limit 5) c"
)


@pytest.fixture  # gone before the next test: PostgreSQL's connections are shared by all
def busy(pg_dsn: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[deployments.ScaleOut]:
    """Three tenants with low limits, two workers of four threads each: far more room than the
    limits allow, so only admission holds the runs back."""
    base = tmp_path_factory.mktemp("busy")
    scaled = deployments.scale_out("busy", base / "data", pg_dsn, demo_scale=0.05, concurrency=4)
    try:
        tenants_setup.ensure_demo(scaled)
        for seed, (tenant, auth) in enumerate(TENANTS.items(), start=2):
            if tenant != "demo":
                tenants_setup.add_tenant(scaled, tenant, time_zone="UTC")
                tenants_setup.add_user(scaled, tenant, *auth, admin=True)
                deployments.datagen(scaled, tenant, scale=0.02, seed=seed)
            tenants_setup.set_limits(scaled, tenant, max_queued_data_queries=50, **LIMITS)
        deployments.start(scaled)
        for tenant, (user, _) in TENANTS.items():
            if tenant != "demo":  # demo's are saved by the API node's first start
                _save_demo_reports(scaled, tenant, user)
    except BaseException:
        scaled.stop()
        raise
    yield from _serving(scaled)


class _Sampler(threading.Thread):
    """Reads the runs table every :data:`SAMPLE_EVERY_S`; keeps the most runs seen executing
    at once by tenant and kind."""

    def __init__(self, deployment: deployments.ScaleOut) -> None:
        super().__init__(daemon=True)
        self.deployment = deployment
        self.peaks: Counter[tuple[str, str]] = Counter()
        self.samples = 0
        self.stop = threading.Event()

    def run(self) -> None:
        while not self.stop.wait(SAMPLE_EVERY_S):
            for key, count in _executing(self.deployment).items():
                self.peaks[key] = max(self.peaks[key], count)
            self.samples += 1


def _submit_aqua(client: httpx.Client) -> str | None:
    """An AQuA job of :data:`AQUA_QUERIES`, or ``None`` when the tenant's limit refuses it."""
    document = support.submit(client, support.stateless(*AQUA_QUERIES))
    if document.get("errorCode") == "90028":  # its active jobs are at max_stateless_jobs
        return None
    assert document["status"] == "submitted", document
    job_id: str = document["id"]
    return job_id


def _start_report(client: httpx.Client) -> str:
    found = client.get("/api/rest/v1/reports/search", params={"query": REPORT}).json()
    (report,) = [r for r in found["response"]["reports"] if r["name"] == REPORT]
    started = client.post(f"/api/rest/v1/reports/{report['id']}/reportrun?viewType=Detail")
    assert started.status_code == 200, started.text
    run_id: str = started.json()["response"]["reportRunId"]
    return run_id


def _report_run(client: httpx.Client, run_id: str) -> dict[str, Any]:
    answer = client.get(f"/api/rest/v1/reportruns/{run_id}")
    assert answer.status_code == 200, answer.text
    run: dict[str, Any] = answer.json()["response"]
    return run


def _submit_everything(clients: dict[str, httpx.Client]) -> dict[str, dict[str, list[str]]]:
    """Every tenant's jobs of every kind, AQuA ones as the limit lets them in; their ids."""
    ids: dict[str, dict[str, list[str]]] = {
        tenant: {"aqua": [], "report": [], "dataquery": []} for tenant in clients
    }
    for tenant, client in clients.items():
        for _ in range(DATA_QUERIES):
            ids[tenant]["dataquery"].append(dq.submit(client, dq.body(DQ_QUERY, "CSV"))["id"])
        for _ in range(REPORT_RUNS):
            ids[tenant]["report"].append(_start_report(client))
    deadline = time.monotonic() + WAIT_S
    while any(len(kinds["aqua"]) < AQUA_JOBS for kinds in ids.values()):
        for tenant, client in clients.items():
            if len(ids[tenant]["aqua"]) < AQUA_JOBS and (job_id := _submit_aqua(client)):
                ids[tenant]["aqua"].append(job_id)
        assert time.monotonic() < deadline, "AQuA jobs were refused for too long"
        time.sleep(SAMPLE_EVERY_S)
    return ids


def _check_aqua(client: httpx.Client, job_id: str, counts: dict[str, int]) -> None:
    done = support.wait_for_job(client, job_id, timeout=WAIT_S)
    assert done["status"] == "completed", done
    for batch, table in zip(done["batches"], ("Account", "InvoiceItem"), strict=True):
        assert batch["recordCount"] == counts[table], batch
        rows = support.parse_csv(support.download(client, batch["fileId"]).content)
        assert len(rows) == counts[table] + 1
        assert len({row[0] for row in rows[1:]}) == counts[table]  # every id once


def _check_report(client: httpx.Client, run_id: str, counts: dict[str, int]) -> None:
    deadline = time.monotonic() + WAIT_S
    while (run := _report_run(client, run_id))["status"] not in {"COMPLETED", "ERROR", "CANCELLED"}:
        assert time.monotonic() < deadline, run
        time.sleep(SAMPLE_EVERY_S)
    assert run["status"] == "COMPLETED", run
    assert run["rowCount"] == counts["Account"], run
    exported = client.get(f"/api/rest/v1/reportruns/export/{run_id}")
    assert exported.status_code == 200, exported.text
    lines = exported.content[2:].decode("utf-16-le").rstrip("\n").split("\n")
    assert len(lines) == counts["Account"] + 1


def _check_data_query(client: httpx.Client, job_id: str, counts: dict[str, int]) -> None:
    job = dq.wait(client, job_id, timeout=WAIT_S)
    assert job["queryStatus"] == "completed", job
    rows = list(dq.download(job).decode("utf-8").splitlines())
    assert rows == ["n", str(counts["InvoiceItem"] * counts["Account"] * 5)]


def test_a_hundred_jobs_of_three_tenants_complete_within_their_limits(
    busy: deployments.ScaleOut,
) -> None:
    clients = {tenant: busy.client(auth=auth) for tenant, auth in TENANTS.items()}
    counts = {
        tenant: {table: _count(busy, tenant, table) for table in ("Account", "InvoiceItem")}
        for tenant in TENANTS
    }
    sampler = _Sampler(busy)
    sampler.start()
    try:
        ids = _submit_everything(clients)
        for tenant, client in clients.items():
            for job_id in ids[tenant]["aqua"]:
                _check_aqua(client, job_id, counts[tenant])
            for run_id in ids[tenant]["report"]:
                _check_report(client, run_id, counts[tenant])
            for job_id in ids[tenant]["dataquery"]:
                _check_data_query(client, job_id, counts[tenant])
    finally:
        sampler.stop.set()
        sampler.join()
    assert sum(len(kinds) for by_kind in ids.values() for kinds in by_kind.values()) >= 100
    limit_of = {
        "aqua": LIMITS["max_stateless_jobs"],
        "report": LIMITS["max_report_runs"],
        "dataquery": LIMITS["max_data_queries"],
    }
    over = {key: peak for key, peak in sampler.peaks.items() if peak > limit_of[key[1]]}
    assert not over, f"more runs executing than the tenant's limit: {over}"
    assert sampler.samples > 0 and sampler.peaks, "the sampler never saw a run executing"
    # Both workers took part.
    with deployments.metadata_connection(busy) as conn:
        workers = {
            row[0].split(":")[1]
            for row in conn.execute("select worker from runs where worker is not null")
        }
    assert workers == {str(worker.pid) for worker in busy.workers}, workers
    assert not _executing(busy)


# -- faults ----------------------------------------------------------------------------------------


def _seconds_long_answer(deployment: deployments.ScaleOut) -> list[str]:
    """The file :data:`SECONDS_LONG` must give."""
    return ["n", str(_count(deployment, "demo", "InvoiceItem") ** 2 * 2)]


def _running_on_a_worker(
    deployment: deployments.ScaleOut, client: httpx.Client, query: str
) -> tuple[str, dict[str, Any]]:
    """A Data Query job of ``query`` once a worker runs it: its id and its runs row."""
    job_id: str = dq.submit(client, dq.body(query, "CSV"))["id"]
    row = _eventually(
        lambda: (found := _run_row(deployment, job_id))["status"] == "in_progress" and found,
        f"job {job_id} running on a worker",
    )
    return job_id, row


def _completes_on_the_other_worker(
    deployment: deployments.ScaleOut,
    client: httpx.Client,
    job_id: str,
    stopped: deployments.Process,
    first: dict[str, Any],
) -> None:
    job = dq.wait(client, job_id, timeout=WAIT_S)
    assert job["queryStatus"] == "completed", job
    assert dq.download(job).decode("utf-8").splitlines() == _seconds_long_answer(deployment)
    row = _run_row(deployment, job_id)
    assert row["attempt"] > first["attempt"], (first, row)
    (survivor,) = [worker for worker in deployment.workers if worker.alive()]
    assert _worker_pid(row) == survivor.pid != stopped.pid
    assert not _executing(deployment)
    _eventually(lambda: _deliveries_in_progress(deployment) == 0, "no delivery left in progress")


def test_a_job_of_a_killed_worker_completes_on_the_other_one(
    two_workers: deployments.ScaleOut,
) -> None:
    client = two_workers.client()
    job_id, row = _running_on_a_worker(two_workers, client, SECONDS_LONG)
    victim = two_workers.worker_with_pid(_worker_pid(row))
    victim.signal(signal.SIGKILL)
    victim.popen.wait(timeout=10)
    _completes_on_the_other_worker(two_workers, client, job_id, victim, row)


def test_a_stopped_worker_hands_its_job_back_to_the_other_one(
    two_workers: deployments.ScaleOut,
) -> None:
    client = two_workers.client()
    job_id, row = _running_on_a_worker(two_workers, client, SECONDS_LONG)
    stopped = two_workers.worker_with_pid(_worker_pid(row))
    stopped.signal(signal.SIGTERM)
    assert stopped.popen.wait(timeout=30) == 0, stopped.log()
    _completes_on_the_other_worker(two_workers, client, job_id, stopped, row)


def _cancel_stops_the_statement(
    deployment: deployments.ScaleOut, submit_to: httpx.Client, cancel_on: httpx.Client
) -> None:
    """A job of :data:`ENDLESS` submitted on one node, cancelled on another (or the same):
    its statement is gone from the worker's connection within :data:`CANCEL_BOUND_S`."""
    _eventually(lambda: not _exports(deployment), "earlier statements over")
    job_id, _ = _running_on_a_worker(deployment, submit_to, ENDLESS)
    _eventually(lambda: _exports(deployment), "the statement running")
    cancelled_at = time.monotonic()
    answer = cancel_on.delete(f"/query/jobs/{job_id}")
    assert answer.status_code == 200, answer.text
    assert answer.json()["data"]["queryStatus"] == "cancelled"
    while running := _exports(deployment):
        waited = time.monotonic() - cancelled_at
        assert waited < CANCEL_BOUND_S, f"still running {waited:.2f} s after the cancel: {running}"
        time.sleep(0.01)
    assert dq.get(submit_to, job_id)["queryStatus"] == "cancelled"
    assert not _executing(deployment)


def test_a_cancel_on_the_api_node_stops_the_statement_on_the_worker(
    two_workers: deployments.ScaleOut,
) -> None:
    client = two_workers.client()
    _cancel_stops_the_statement(two_workers, client, client)
    after = dq.run(client, dq.body("select count(*) as n from account", "CSV"))
    assert after["outputRows"] == 1  # the worker runs the next job


def test_a_restarted_api_node_loses_no_job(two_workers: deployments.ScaleOut) -> None:
    client = two_workers.client()
    queries = [SECONDS_LONG] * 3 + ["select count(*) as n from account"] * 3
    data_queries = [dq.submit(client, dq.body(query, "CSV"))["id"] for query in queries]
    aqua = [support.submit_ok(client, support.stateless(*AQUA_QUERIES))["id"] for _ in range(3)]
    two_workers.restart_api_node(two_workers.api_nodes[0])
    again = two_workers.client()
    for job_id in data_queries:
        assert dq.wait(again, job_id, timeout=WAIT_S)["queryStatus"] == "completed"
    accounts = _count(two_workers, "demo", "Account")
    for job_id in aqua:
        done = support.wait_for_job(again, job_id, timeout=WAIT_S)
        assert done["status"] == "completed", done
        assert done["batches"][0]["recordCount"] == accounts
    assert not _executing(two_workers)


#: Issue 14: a change made through one API node shows on every other within this bound.
SEEN_ELSEWHERE_S = 1.0


def _seen_on(client: httpx.Client, get: Any, done: Any) -> float:
    """Seconds until ``get(client)`` satisfies ``done``, failing past :data:`SEEN_ELSEWHERE_S`."""
    started = time.monotonic()
    while not done(get(client)):
        waited = time.monotonic() - started
        assert waited < SEEN_ELSEWHERE_S, f"not seen on the other node after {waited:.2f} s"
        time.sleep(0.01)
    return time.monotonic() - started


def test_two_api_nodes_see_each_others_jobs_and_cancels(two_workers: deployments.ScaleOut) -> None:
    node_b = two_workers.start_api_node()
    try:
        a, b = two_workers.client(), two_workers.client(node=node_b)
        job_id = support.submit_ok(a, support.stateless(*AQUA_QUERIES))["id"]
        assert support.wait_for_job(a, job_id)["status"] == "completed"
        _seen_on(b, lambda c: support.get_job(c, job_id)["status"], lambda s: s == "completed")
        query_id = dq.submit(a, dq.body("select count(*) as n from account", "CSV"))["id"]
        assert dq.wait(a, query_id)["queryStatus"] == "completed"
        _seen_on(b, lambda c: dq.get(c, query_id)["queryStatus"], lambda s: s == "completed")
        _cancel_stops_the_statement(two_workers, a, b)
    finally:
        node_b.stop()
        two_workers.api_nodes.remove(node_b)
