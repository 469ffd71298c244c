"""Retention with a clock moved by hand: files go after 3 days, jobs after 180 days."""

from __future__ import annotations

import pytest

from aquarium.domain import errors
from aquarium.testing import FakeClock
from tests.integration import test_runner_support as support
from tests.integration.test_runner_support import JS, PRINCIPAL, ServerFactory

make_server = support.make_server
billing_file = support.billing_file


BASE_URL = "http://testserver"


def test_files_expire_after_three_days_and_jobs_after_180(make_server: ServerFactory) -> None:
    clock = FakeClock()
    h = make_server(workers=1, clock=clock)
    job_id = h.submit(*support.FAST_QUERIES[:2])
    record = h.wait_terminal(job_id)
    assert record.status == JS.COMPLETED
    file_ids = [b.file_id for b in record.batches]
    assert all(file_ids)
    paths = [h.aqua.file(PRINCIPAL, file_id).path for file_id in file_ids if file_id]

    clock.advance(days=3, seconds=-1)
    h.srv.purge_once()
    assert all(path.is_file() for path in paths)
    assert h.aqua.file(PRINCIPAL, file_ids[0] or "").size > 0

    clock.advance(seconds=1)
    h.srv.purge_once()

    assert not any(path.exists() for path in paths)
    assert h.disk_files() == set()
    for file_id in file_ids:
        with pytest.raises(errors.NotFound):
            h.aqua.file(PRINCIPAL, file_id or "")
    assert h.files_of(job_id) == []
    # The job itself stays (with its batches' file ids) until the job retention ends.
    assert h.aqua.get(PRINCIPAL, job_id)["status"] == JS.COMPLETED

    clock.advance(days=177)
    h.srv.purge_once()
    assert h.aqua.get(PRINCIPAL, job_id)["id"] == job_id

    clock.advance(seconds=1)
    h.srv.purge_once()

    with pytest.raises(errors.InvalidJobId):
        h.aqua.get(PRINCIPAL, job_id)
    assert h.all_jobs() == []


def test_unfinished_jobs_are_not_purged(make_server: ServerFactory) -> None:
    clock = FakeClock()
    h = make_server(start=False, clock=clock)
    job_id = h.submit(support.FAST_QUERIES[0])

    clock.advance(days=365)
    h.srv.purge_once()

    assert h.job(job_id).status == JS.SUBMITTED


def test_each_tenant_keeps_jobs_and_report_runs_as_long_as_its_limits_say(
    make_server: ServerFactory,
) -> None:
    from tests.integration import report_support as rs

    clock = FakeClock()
    h = make_server(
        workers=1, clock=clock, limits={"job_retention_s": 86400, "report_run_retention_s": 7200}
    )
    job_id = h.submit(support.FAST_QUERIES[0])
    assert h.wait_terminal(job_id).status == JS.COMPLETED
    run_id = rs.start_run(h, rs.save_report(h, {"selectedFields": [{"id": "Name"}]}, ds="Account"))
    assert rs.wait_run(h, run_id)["status"] == "COMPLETED"

    clock.advance(seconds=7200)
    h.srv.purge_once()
    assert rs.runs(h).get(PRINCIPAL, run_id)["id"] == run_id
    clock.advance(seconds=1)
    h.srv.purge_once()
    with pytest.raises(rs.ReportingError):
        rs.runs(h).get(PRINCIPAL, run_id)
    assert h.aqua.get(PRINCIPAL, job_id)["id"] == job_id  # one day, not two hours

    clock.advance(seconds=86400 - 7200)
    h.srv.purge_once()
    with pytest.raises(errors.InvalidJobId):
        h.aqua.get(PRINCIPAL, job_id)


def test_data_query_jobs_are_kept_thirty_days_by_default_as_zuora_keeps_them(
    make_server: ServerFactory,
) -> None:
    clock = FakeClock()
    h = make_server(workers=1, clock=clock)
    queries = h.srv.services.data_queries
    assert queries is not None
    body = {"query": "select 1 as one", "outputFormat": "CSV", "compression": "NONE",
            "output": {"target": "S3"}}  # fmt: skip
    job_id = queries.submit(PRINCIPAL, body, BASE_URL)["id"]
    aqua_id = h.submit(support.FAST_QUERIES[0])
    assert h.wait_terminal(aqua_id).status == JS.COMPLETED
    support.wait_for(
        lambda: queries.get(PRINCIPAL, job_id, BASE_URL)["queryStatus"] == "completed",
        "the Data Query job to complete",
    )

    clock.advance(days=30)
    h.srv.purge_once()
    assert queries.get(PRINCIPAL, job_id, BASE_URL)["id"] == job_id
    clock.advance(seconds=1)
    h.srv.purge_once()
    with pytest.raises(errors.AquariumError):
        queries.get(PRINCIPAL, job_id, BASE_URL)
    assert h.aqua.get(PRINCIPAL, aqua_id)["id"] == aqua_id  # AQuA jobs: 180 days
