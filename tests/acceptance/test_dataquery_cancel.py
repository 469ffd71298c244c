"""Cancelling Data Query jobs while they run, and the tenant's limits (reference dataquery.md
sections 5 and 9), on the scale-1 server whose InvoiceItem self-join runs for minutes."""

from __future__ import annotations

import time

import httpx
import pytest

from tests import tenants_setup
from tests.acceptance import dataquery_support as dq
from tests.acceptance import support
from tests.acceptance.conftest import LIMITED_AUTH, LIMITED_TENANT

# One scale-1 server per run, even under pytest-xdist (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("acceptance-big-server")

#: Runs for hours: every job running it here is cancelled or stopped by its time limit.
SLOW = (
    "select count(*) as n from invoiceitem a cross join invoiceitem b cross join invoiceitem c "
    "where a.id < b.id and b.id < c.id"
)
#: The server reloads tenants' settings every 0.25 s (server.TENANTS_POLL_S).
RELOADED_S = 0.75


def _limits(server: support.RunningServer, **limits: int) -> None:
    tenants_setup.set_limits(server.data_dir, LIMITED_TENANT, **limits)
    time.sleep(RELOADED_S)


@pytest.fixture(scope="module")
def big(big_server: support.RunningServer) -> httpx.Client:
    return big_server.client()


def test_cancel_while_in_progress_stops_the_statement_and_keeps_no_file(big: httpx.Client) -> None:
    job = dq.submit(big, dq.body(SLOW, "CSV"))
    dq.wait(big, job["id"], lambda found: found["queryStatus"] == "in_progress")
    response = big.delete(f"/query/jobs/{job['id']}")
    assert response.status_code == 200, response.text
    cancelled = response.json()["data"]
    assert cancelled["queryStatus"] == "cancelled" and cancelled["id"] == job["id"]
    assert not {"dataFile", "outputRows", "processingTime"} & set(cancelled)
    # The engine is free again: a small query behind it completes.
    after = dq.run(big, dq.body("select count(*) as n from account", "CSV"))
    assert after["outputRows"] == 1
    final = dq.get(big, job["id"])
    assert final["queryStatus"] == "cancelled" and "dataFile" not in final
    dq.refusal(big.delete(f"/query/jobs/{job['id']}"), 400, 1003)


def test_cancel_of_an_accepted_job_means_it_never_runs(big_server: support.RunningServer) -> None:
    _limits(big_server, max_data_queries=1)
    limited = big_server.client(auth=LIMITED_AUTH)
    running = dq.submit(limited, dq.body(SLOW, "CSV"))
    dq.wait(limited, running["id"], lambda found: found["queryStatus"] == "in_progress")
    waiting = dq.submit(limited, dq.body("select 1 as one", "CSV"))
    time.sleep(0.5)
    assert dq.get(limited, waiting["id"])["queryStatus"] == "accepted"
    cancelled = limited.delete(f"/query/jobs/{waiting['id']}").json()["data"]
    assert cancelled["queryStatus"] == "cancelled"
    limited.delete(f"/query/jobs/{running['id']}")
    assert dq.wait(limited, waiting["id"])["queryStatus"] == "cancelled"


def test_the_queue_limit_refuses_with_429(big_server: support.RunningServer) -> None:
    _limits(big_server, max_data_queries=1, max_queued_data_queries=1)
    limited = big_server.client(auth=LIMITED_AUTH)
    running = dq.submit(limited, dq.body(SLOW, "CSV"))
    dq.wait(limited, running["id"], lambda found: found["queryStatus"] == "in_progress")
    queued = dq.submit(limited, dq.body("select 1 as one", "CSV"))
    refused = limited.post("/query/jobs", json=dq.body("select 2 as two", "CSV"))
    assert "waiting" in dq.refusal(refused, 429, 429)
    for job in (queued, running):
        limited.delete(f"/query/jobs/{job['id']}")


def test_the_time_limit_fails_the_job_in_zuoras_words(big_server: support.RunningServer) -> None:
    _limits(big_server, data_query_time_limit_s=1)
    limited = big_server.client(auth=LIMITED_AUTH)
    try:
        job = dq.wait(limited, dq.submit(limited, dq.body(SLOW, "CSV"))["id"])
    finally:
        _limits(big_server, data_query_time_limit_s=3600)
    assert job["queryStatus"] == "failed", job
    assert job["errorMessage"] == "Query exceeded the maximum time limit of 1.00s"


def test_a_result_over_the_row_limit_fails(big_server: support.RunningServer) -> None:
    _limits(big_server, data_query_max_rows=10)
    limited = big_server.client(auth=LIMITED_AUTH)
    try:
        job = dq.wait(limited, dq.submit(limited, dq.body("select id from account"))["id"])
        small = dq.run(limited, dq.body("select id from account limit 10"))
    finally:
        _limits(big_server, data_query_max_rows=500_000)
    assert job["queryStatus"] == "failed" and "10 output rows" in job["errorMessage"]
    assert small["outputRows"] == 10
