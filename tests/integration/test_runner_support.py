"""Shared pieces of the runner and AQuA service tests: a real server over a copy of real data.

Every test gets its own data directory (SQLite metadata, result files, tenants file) holding a
copy of one generated ``billing.duckdb`` per test session and worker, which it may change first
(slow down an object, drop a table) to steer what happens at run time. No test here asserts a
duration: waits only bound how long an expected outcome may take to appear.
"""

from __future__ import annotations

import contextlib
import dataclasses
import shutil
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb
import pytest

from aquarium import datagen, server
from aquarium.domain import clock as clock_port
from aquarium.domain import jobs, tenancy
from aquarium.engines import naming
from aquarium.settings import Settings
from aquarium.store import files_repo, jobs_repo
from tests import tenants_setup

TENANT = "demo"
SCALE = 1.0  # ~100,000 invoice items: "select * from InvoiceItem" runs for a noticeable time
SEED = 1
SCALED_SCALE = 0.2  # the scale-out harness's data: loading PostgreSQL costs more than a copy
SCHEMA = naming.schema_name(TENANT)
PRINCIPAL = tenancy.Principal(tenant=TENANT, name="demo", admin=True, how=tenancy.AuthMethod.BASIC)
WAIT_S = 60.0  # seconds an expected outcome may take before the test fails
POLL_S = 0.005  # seconds between looks
# A count over this many numbers takes minutes: an object made slow with it only finishes early
# when its statement is interrupted.
ENDLESS_ROWS = 10**11

FAST_QUERIES = (
    "select Id, Name, AccountNumber from Account",
    "select * from Product",
    "select * from AccountingCode",
    "select Id, Name from ProductRatePlan",
)
JS, BS = jobs.JobStatus, jobs.BatchStatus


def body(*queries: str, **fields: Any) -> dict[str, Any]:
    """A submit body: one query per argument, named q0, q1, ..."""
    return {
        "format": "csv",
        "version": "1.1",
        "name": "test",
        "queries": [
            {"name": f"q{i}", "query": q, "type": "zoqlexport"} for i, q in enumerate(queries)
        ],
        **fields,
    }


def make_slow(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Replace ``table`` by a view with the same rows that takes minutes to produce the first."""
    con.execute(f'ALTER TABLE {SCHEMA}."{table}" RENAME TO "{table}_base"')
    con.execute(
        f'CREATE VIEW {SCHEMA}."{table}" AS SELECT b.* FROM {SCHEMA}."{table}_base" b, '
        f"(SELECT count(*) AS n FROM range({ENDLESS_ROWS}) WHERE range % 7 = 3) s "
        "WHERE s.n >= 0"
    )


def drop_table(con: duckdb.DuckDBPyConnection, table: str) -> None:
    con.execute(f'DROP TABLE {SCHEMA}."{table}"')


def drop_served_table(h: Harness, table: str) -> None:
    """Drop a billing table under a running server: one dropped before it starts would be back,
    empty, since a server gives every tenant the tables its catalogue has at start."""
    with h.srv.engine.bulk_transaction() as cursor:
        drop_table(cursor, table)


def wait_for(condition: Callable[[], Any], what: str, timeout: float = WAIT_S) -> Any:
    """Poll ``condition`` until it returns something truthy, and return that."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(POLL_S)


@dataclass
class Harness:
    """One server over its own data directory, with the looks the tests need."""

    data_dir: Path
    srv: server.Server
    stopped: bool = False

    def stop(self) -> None:
        if not self.stopped:
            self.stopped = True
            self.srv.stop()

    @property
    def aqua(self) -> Any:
        return self.srv.services.aqua

    @property
    def results_dir(self) -> Path:
        return self.data_dir / server.RESULTS_DIR

    def submit(self, *queries: str, key: str | None = None, **fields: Any) -> str:
        document = self.aqua.submit(PRINCIPAL, body(*queries, **fields), key)
        assert document["status"] == JS.SUBMITTED
        job_id: str = document["id"]
        return job_id

    def job(self, job_id: str) -> jobs_repo.JobRecord:
        with self.srv.metadata.connect() as conn:
            record = jobs_repo.get_job(conn, TENANT, job_id)
        assert record is not None, job_id
        return record

    def all_jobs(self) -> list[jobs_repo.JobRecord]:
        with self.srv.metadata.connect() as conn:
            return jobs_repo.list_jobs(conn, TENANT, limit=100_000)

    def files_of(self, job_id: str) -> list[files_repo.FileRecord]:
        with self.srv.metadata.connect() as conn:
            return files_repo.files_of_job(conn, job_id)

    def wait_status(
        self, job_id: str, *statuses: jobs.JobStatus, timeout: float = WAIT_S
    ) -> jobs_repo.JobRecord:
        wanted = set(statuses)

        def reached() -> jobs_repo.JobRecord | None:
            record = self.job(job_id)
            return record if record.status in wanted else None

        found: jobs_repo.JobRecord = wait_for(reached, f"job {job_id} to be {wanted}", timeout)
        return found

    def wait_terminal(self, job_id: str, timeout: float = WAIT_S) -> jobs_repo.JobRecord:
        return self.wait_status(job_id, *jobs.TERMINAL, timeout=timeout)

    def wait_batches(self, job_id: str, *statuses: jobs.BatchStatus) -> jobs_repo.JobRecord:
        """Wait until the job's batches have exactly these statuses, in order."""

        def reached() -> jobs_repo.JobRecord | None:
            record = self.job(job_id)
            return record if tuple(b.status for b in record.batches) == statuses else None

        found: jobs_repo.JobRecord = wait_for(reached, f"batches of {job_id} to be {statuses}")
        return found

    def disk_files(self) -> set[str]:
        """Names of the published files of the tenant (ids)."""
        directory = self.results_dir / TENANT
        if not directory.exists():
            return set()
        return {p.name for p in directory.iterdir() if not p.name.startswith(".")}

    def partial_files(self) -> list[Path]:
        if not self.results_dir.exists():
            return []
        return [p for p in self.results_dir.rglob("*") if ".partial" in p.name]

    def expected_files(self) -> set[str]:
        """File ids of every completed batch of every job."""
        return {
            batch.file_id
            for job in self.all_jobs()
            for batch in job.batches
            if batch.status == BS.COMPLETED and batch.file_id is not None
        }

    def assert_consistent(self, record: jobs_repo.JobRecord) -> None:
        """A completed batch has a recorded file on disk; any other batch has no file."""
        recorded = {f.id: f for f in self.files_of(record.id)}
        for batch in record.batches:
            if batch.status == BS.COMPLETED:
                assert batch.file_id is not None, batch
                assert batch.file_id in recorded, batch
                assert recorded[batch.file_id].batch_id == batch.id
                path = self.srv.results.local_path(recorded[batch.file_id].path)
                assert path is not None and path.is_file(), batch
            else:
                assert batch.file_id is None, batch
        completed = {b.file_id for b in record.batches if b.status == BS.COMPLETED}
        assert set(recorded) == completed

    def wait_no_orphans(self) -> None:
        """Eventually (a worker may still be removing a file that lost a race): every file on
        disk belongs to a completed batch and the other way round, and nothing is partial."""

        def settled() -> bool:
            return self.disk_files() == self.expected_files() and not self.partial_files()

        wait_for(settled, "result files to match the completed batches")

    def set_limits(self, **limits: int) -> None:
        tenants_setup.set_limits(self.srv, TENANT, **limits)


ServerFactory = Callable[..., Harness]


@pytest.fixture(scope="session")
def billing_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One generated billing database per test session (and xdist worker); copy, never change."""
    data_dir = tmp_path_factory.mktemp("billing")
    datagen.generate_into(data_dir, TENANT, scale=SCALE, seed=SEED)
    return data_dir / naming.DUCKDB_FILE


@pytest.fixture
def make_server(billing_file: Path, tmp_path: Path) -> Iterator[ServerFactory]:
    """Build servers over copies of the billing data; every one is stopped after the test."""
    built: list[Harness] = []

    def make(
        *,
        workers: int = 2,
        start: bool = True,
        clock: clock_port.Clock | None = None,
        prepare: Callable[[duckdb.DuckDBPyConnection], None] | None = None,
        data_dir: Path | None = None,
        limits: dict[str, int] | None = None,
        memory_limit: str | None = None,
    ) -> Harness:
        if data_dir is None:
            data_dir = tmp_path / f"data{len(built)}"
            data_dir.mkdir()
            shutil.copyfile(billing_file, data_dir / naming.DUCKDB_FILE)
            if prepare is not None:
                with duckdb.connect(str(data_dir / naming.DUCKDB_FILE)) as con:
                    prepare(con)
        settings = Settings(data_dir=data_dir, workers=workers)
        if memory_limit is not None:  # one budget for every statement, those that build too
            settings = settings.model_copy(
                update={"duckdb_memory_limit": memory_limit, "duckdb_build_memory_limit": ""}
            )
        srv = server.build(settings, clock)
        harness = Harness(data_dir, srv)
        built.append(harness)
        if limits:
            harness.set_limits(**limits)
        if start:
            srv.start()
        return harness

    yield make
    for harness in built:
        harness.stop()


@pytest.fixture
def scaled_server(pg_dsn: str, tmp_path: Path) -> Iterator[Harness]:
    """A scale-out node over a fresh PostgreSQL database (metadata, the tenant's billing data at
    :data:`SCALED_SCALE`, the job queue) running its jobs in a queue worker of its own process
    (``serve --database-url`` without ``--no-workers``); stopped and dropped after the test."""
    from tests.integration import test_store_migrations as store_support

    with store_support.pg_database(pg_dsn) as url:
        data_dir = tmp_path / "scaled"
        datagen.generate_into(
            data_dir,
            TENANT,
            scale=SCALED_SCALE,
            seed=SEED,
            engine="postgres",
            dsn=url,
            metadata_url=url,
        )
        settings = Settings(data_dir=data_dir, database_url=url, concurrency=2)
        harness = Harness(data_dir, server.build(settings))
        harness.srv.start()
        try:
            yield harness
        finally:
            harness.stop()


class HookedSnapshot:
    """The real snapshot, with a hook run after each COPY (to stage a race at that moment)."""

    def __init__(self, inner: Any, after_copy: Callable[[], None] | None) -> None:
        self.inner = inner
        self.after_copy = after_copy
        self.taken_at = inner.taken_at

    def copy_csv(self, query: Any, path: Path, options: Any) -> int:
        rows: int = self.inner.copy_csv(query, path, options)
        if self.after_copy is not None:
            self.after_copy()
        return rows

    def fetch(self, query: Any) -> list[tuple[object, ...]]:
        rows: list[tuple[object, ...]] = self.inner.fetch(query)
        return rows

    def interrupt(self) -> None:
        self.inner.interrupt()


class HookedEngine:
    """The real engine, with hooks after each COPY and after a snapshot has been closed."""

    def __init__(
        self,
        inner: Any,
        *,
        after_copy: Callable[[], None] | None = None,
        after_snapshot: Callable[[], None] | None = None,
    ) -> None:
        self.inner = inner
        self.dialect = inner.dialect
        self.after_copy = after_copy
        self.after_snapshot = after_snapshot

    @contextlib.contextmanager
    def snapshot(self, tenant: str, now: Any = None) -> Iterator[HookedSnapshot]:
        kwargs = {} if now is None else {"now": now}
        with self.inner.snapshot(tenant, **kwargs) as snapshot:
            yield HookedSnapshot(snapshot, self.after_copy)
        if self.after_snapshot is not None:
            self.after_snapshot()

    def close(self) -> None:
        self.inner.close()


def hook_engine(h: Harness, **hooks: Callable[[], None]) -> None:
    """Make the (not yet started) runner of ``h`` use a :class:`HookedEngine`."""
    runner = h.srv.runner
    assert runner is not None
    runner.ctx = dataclasses.replace(runner.ctx, engine=HookedEngine(runner.ctx.engine, **hooks))
