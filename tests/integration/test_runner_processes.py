"""A cancel reaches a job that runs in another process: two runners in two processes share one
SQLite metadata file (and read one DuckDB file); the cancel is recorded in the store by a third
process, and the runner holding the job notices and interrupts its statement."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest

from aquarium.catalog import model
from aquarium.domain import clock, tenancy
from aquarium.engines import naming
from aquarium.services import aqua, tenant_catalogs
from aquarium.storage import local
from aquarium.store import database, runs_repo, tenants_repo
from aquarium.testing import RecordingRunner
from tests.integration import test_runner_support as support
from tests.integration.test_runner_support import JS

billing_file = support.billing_file
TIME_ZONE = "America/Los_Angeles"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def data_dir(billing_file: Path, tmp_path: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    target = data / naming.DUCKDB_FILE
    target.write_bytes(billing_file.read_bytes())
    with duckdb.connect(str(target)) as con:
        support.make_slow(con, "Usage")
    engine = database.connect(database.sqlite_url(data))
    database.migrate(engine)
    with engine.begin() as conn:
        tenants_repo.record_tenant(conn, support.TENANT, time_zone=TIME_ZONE)
    engine.dispose()
    return data


@pytest.fixture
def runners(data_dir: Path) -> Iterator[list[subprocess.Popen[str]]]:
    started = []
    for index in range(2):
        # The log goes to a file: a pipe nobody reads could fill and stall the runner.
        with (data_dir / f"runner{index}.log").open("w") as log:
            process = subprocess.Popen(
                [sys.executable, "-m", "tests.integration.runner_process", str(data_dir)],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        started.append(process)
    for process in started:
        assert process.stdout is not None
        assert process.stdout.readline().strip() == "ready"
    yield started
    for process in started:
        if process.poll() is None:
            process.kill()


def _service(data_dir: Path) -> aqua.AquaService:
    """An API process's view: the metadata store and the result files, no runner, no engine."""
    return aqua.AquaService(
        metadata=database.connect(database.sqlite_url(data_dir)),
        catalogs=tenant_catalogs.TenantCatalogs(model.default()),
        runner=RecordingRunner(),
        results=local.LocalResultStore(data_dir / "results"),
        clock=clock.SystemClock(),
        tenant_of=lambda name: tenancy.Tenant(name=name, time_zone=TIME_ZONE),
    )


def _job(service: aqua.AquaService, job_id: str) -> dict[str, object]:
    return service.get(support.PRINCIPAL, job_id)


def test_a_cancel_recorded_elsewhere_stops_the_statement_in_the_runner_process(
    data_dir: Path, runners: list[subprocess.Popen[str]]
) -> None:
    service = _service(data_dir)
    slow = [
        service.submit(support.PRINCIPAL, support.body("select * from Usage"))["id"]
        for _ in range(2)
    ]

    def both_writing() -> bool:
        documents = [_job(service, job_id) for job_id in slow]
        partials = list((data_dir / "results").rglob("*.partial"))
        executing = all(d["batches"][0]["status"] == "executing" for d in documents)  # type: ignore[index]
        return executing and len(partials) == 2

    support.wait_for(both_writing, "both runner processes to be running a statement")
    with service.metadata.connect() as conn:
        workers = {runs_repo.get(conn, support.TENANT, job_id).worker for job_id in slow}  # type: ignore[union-attr]
    assert len(workers) == 2, "each process runs one of the jobs"

    for job_id in slow:
        assert service.cancel(support.PRINCIPAL, job_id)["status"] == JS.CANCELLED

    # The statements were interrupted in the other processes: their partial files are gone
    # and their workers are free for the next job.
    support.wait_for(
        lambda: not list((data_dir / "results").rglob("*.partial")), "the partial files to go"
    )
    fast = service.submit(support.PRINCIPAL, support.body(*support.FAST_QUERIES))["id"]
    support.wait_for(lambda: _job(service, fast)["status"] == JS.COMPLETED, "the next job")
    assert [_job(service, job_id)["status"] for job_id in slow] == [JS.CANCELLED] * 2

    logs = []
    for index, process in enumerate(runners):
        process.communicate(input="", timeout=60)
        logs.append((data_dir / f"runner{index}.log").read_text())
        assert process.returncode == 0, logs[-1]
    assert sum(log.count("run interrupted by cancel") for log in logs) == 2
    with service.metadata.connect() as conn:
        assert runs_repo.executing_ids(conn, slow) == set()
