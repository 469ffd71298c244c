"""Submit-time limits of the AQuA service: concurrent jobs (90028) and queries per job (90004)."""

from __future__ import annotations

import pytest

from aquarium.domain import errors, tenancy
from tests.integration import test_runner_support as support
from tests.integration.test_runner_support import JS, PRINCIPAL, ServerFactory

make_server = support.make_server
billing_file = support.billing_file

STATEFUL = {"partner": "partner", "project": "project"}


def test_too_many_stateless_jobs_is_90028(make_server: ServerFactory) -> None:
    # No runner: every accepted job stays submitted, so each one counts.
    h = make_server(start=False)
    accepted = [
        h.submit(support.FAST_QUERIES[0]) for _ in range(tenancy.DEFAULT_MAX_STATELESS_JOBS)
    ]

    with pytest.raises(errors.TooManyJobs) as refused:
        h.submit(support.FAST_QUERIES[0])

    assert refused.value.code == "90028"
    assert len(h.all_jobs()) == len(accepted)
    # Stateful jobs have their own allowance.
    h.submit(support.FAST_QUERIES[0], **STATEFUL)
    # A cancelled job no longer counts.
    assert h.aqua.cancel(PRINCIPAL, accepted[0])["status"] == JS.CANCELLED
    h.submit(support.FAST_QUERIES[0])
    with pytest.raises(errors.TooManyJobs):
        h.submit(support.FAST_QUERIES[0])


def test_the_tenant_limit_counts_executing_jobs_too(make_server: ServerFactory) -> None:
    h = make_server(
        workers=1,
        prepare=lambda con: support.make_slow(con, "Usage"),
        limits={"max_stateless_jobs": 2, "max_stateful_jobs": 1},
    )
    running = h.submit("select * from Usage")
    h.wait_status(running, JS.EXECUTING)
    waiting = h.submit(support.FAST_QUERIES[0])

    with pytest.raises(errors.TooManyJobs):
        h.submit(support.FAST_QUERIES[0])

    h.submit(support.FAST_QUERIES[0], **STATEFUL)
    with pytest.raises(errors.TooManyJobs):
        h.submit(support.FAST_QUERIES[0], **STATEFUL)
    h.aqua.cancel(PRINCIPAL, running)
    assert h.wait_terminal(waiting).status == JS.COMPLETED
    assert h.wait_terminal(h.submit(support.FAST_QUERIES[1])).status == JS.COMPLETED


def test_51_queries_is_90004_and_50_are_accepted(make_server: ServerFactory) -> None:
    h = make_server(start=False)
    queries = [support.FAST_QUERIES[i % len(support.FAST_QUERIES)] for i in range(51)]

    with pytest.raises(errors.TooManyQueries) as refused:
        h.aqua.submit(PRINCIPAL, support.body(*queries))

    assert refused.value.code == "90004"
    assert h.all_jobs() == []
    job_id = h.submit(*queries[:50])
    assert len(h.job(job_id).batches) == 50
