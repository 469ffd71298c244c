"""Jobs that fail at run time: a query the engine refuses, a query over its time limit.

Submit validates queries against the catalogue, not against the data, so a table dropped from
the tenant's own copy of the billing data makes a query fail only when it runs.
"""

from __future__ import annotations

import functools
import time

from aquarium.domain import errors
from aquarium.engines import base
from tests.integration import test_runner_support as support
from tests.integration.test_runner_support import BS, JS, PRINCIPAL, ServerFactory

make_server = support.make_server
billing_file = support.billing_file

PACKAGING_S = 2.0  # seconds the staged packaging step takes: past the 1 s limit


def test_a_query_failing_at_run_time_aborts_its_job(make_server: ServerFactory) -> None:
    h = make_server(workers=1)
    support.drop_served_table(h, "Refund")
    job_id = h.submit("select * from Account", "select * from Refund", "select * from Invoice")

    record = h.wait_terminal(job_id)

    assert record.status == JS.ABORTED
    assert [b.status for b in record.batches] == [BS.COMPLETED, BS.ABORTED, BS.CANCELLED]
    failed = record.batches[1]
    # Zuora's words and ours; DuckDB's ("Catalog Error: Table with name Refund ...") are logged.
    assert failed.message == errors.QueryFailed(base.ENGINE_FAILED).describe()
    assert "Catalog" not in failed.message
    assert record.message == failed.message
    assert record.batches[2].message == ""
    h.assert_consistent(record)
    document = h.aqua.get(PRINCIPAL, job_id)
    assert document["status"] == JS.ABORTED
    assert document["batches"][1]["message"] == failed.message
    assert "fileId" not in document["batches"][1]
    assert "fileId" in document["batches"][0]
    h.wait_no_orphans()
    # The runner carries on.
    next_id = h.submit(support.FAST_QUERIES[0])
    assert h.wait_terminal(next_id).status == JS.COMPLETED


def test_a_query_over_the_time_limit_is_aborted_with_90027(make_server: ServerFactory) -> None:
    h = make_server(
        workers=1,
        prepare=functools.partial(support.make_slow, table="Usage"),
        limits={"query_time_limit_s": 1},
    )
    job_id = h.submit("select * from Account", "select * from Usage", "select * from Product")

    record = h.wait_terminal(job_id)

    assert record.status == JS.ABORTED
    assert [b.status for b in record.batches] == [BS.COMPLETED, BS.ABORTED, BS.CANCELLED]
    assert record.batches[1].message == errors.QueryTimeLimit().describe()
    assert record.batches[1].file_id is None
    h.assert_consistent(record)
    h.wait_no_orphans()
    assert h.partial_files() == []


def test_the_time_limit_also_covers_packaging(make_server: ServerFactory) -> None:
    """The limit passes after the statement finished, while the file is being packaged (where
    no engine interrupt reaches): the batch is aborted all the same and leaves no file."""
    h = make_server(workers=1, start=False, limits={"query_time_limit_s": 1})
    support.hook_engine(h, after_copy=lambda: time.sleep(PACKAGING_S))
    h.srv.start()
    job_id = h.submit(support.FAST_QUERIES[0], support.FAST_QUERIES[1], format="gzip")

    record = h.wait_terminal(job_id)

    assert record.status == JS.ABORTED
    assert [b.status for b in record.batches] == [BS.ABORTED, BS.CANCELLED]
    assert record.batches[0].message == errors.QueryTimeLimit().describe()
    h.assert_consistent(record)
    h.wait_no_orphans()
