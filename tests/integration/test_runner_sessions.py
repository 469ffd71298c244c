"""Stateful sessions (tenant, partner, project) run their jobs one at a time, in arrival order;
jobs of different sessions run side by side."""

from __future__ import annotations

import functools
import itertools

from tests.integration import test_runner_support as support
from tests.integration.test_runner_support import BS, JS, PRINCIPAL, ServerFactory

make_server = support.make_server
billing_file = support.billing_file


def _session(project: str) -> dict[str, str]:
    return {"partner": "partner", "project": project}


def test_jobs_of_one_session_run_one_after_the_other(make_server: ServerFactory) -> None:
    h = make_server(workers=2)
    first = h.submit("select * from InvoiceItem", **_session("one"))
    second = h.submit("select * from InvoiceItem", **_session("one"))
    third = h.submit(support.FAST_QUERIES[0], **_session("one"))

    records = [h.wait_terminal(job_id) for job_id in (first, second, third)]

    assert [r.status for r in records] == [JS.COMPLETED] * 3
    for earlier, later in itertools.pairwise(records):
        assert earlier.finished_at is not None and later.started_at is not None
        assert later.started_at >= earlier.finished_at
        h.assert_consistent(later)


def test_different_sessions_overlap_and_a_session_waits(make_server: ServerFactory) -> None:
    h = make_server(workers=3, prepare=functools.partial(support.make_slow, table="Usage"))
    one = h.submit("select * from Usage", **_session("one"))
    two = h.submit("select * from Usage", **_session("two"))
    one_next = h.submit(support.FAST_QUERIES[0], **_session("one"))

    h.wait_batches(one, BS.EXECUTING)
    h.wait_batches(two, BS.EXECUTING)
    # A worker is free, but the session's older job still runs.
    stateless = h.submit(support.FAST_QUERIES[1])
    assert h.wait_terminal(stateless).status == JS.COMPLETED
    assert h.job(one_next).status == JS.SUBMITTED
    assert h.job(one).status == h.job(two).status == JS.EXECUTING

    h.aqua.cancel(PRINCIPAL, one)

    record = h.wait_terminal(one_next)
    assert record.status == JS.COMPLETED
    assert h.job(two).status == JS.EXECUTING
    cancelled = h.job(one)
    assert record.started_at is not None and cancelled.finished_at is not None
    assert record.started_at >= cancelled.finished_at
    h.aqua.cancel(PRINCIPAL, two)
    h.wait_no_orphans()
