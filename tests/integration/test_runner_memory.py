"""Issue 11, defect 8: a query that exhausts the engine's memory budget neither starves the jobs
running at the same moment nor leaves the engine unusable.

The budget is one for every statement of the database (DuckDB's ``memory_limit``): a statement
that took most of it made the statements beside it fail for lack of memory as well (measured
before this test existed: beside a query of 2,000 columns, one run in five of a five-column
export failed). Now statements are admitted by their width (``engines/memory_gate.py``): one
wider than the budget holds runs alone, so when it runs out of memory it alone fails, its job
aborted with Zuora's 90007 words and ours, and the next job runs as usual. Judged by outcome,
never by time.

The issue's exact query (``Id`` selected 2,000 times) is refused at submit (500 columns at most,
``zoql/check.py``), so the hog here is a query the limit lets through, run on a small budget.
"""

from __future__ import annotations

from aquarium.domain import errors
from aquarium.engines import base
from tests.integration import test_runner_support as support
from tests.integration.test_runner_support import BS, JS, ServerFactory

make_server = support.make_server
billing_file = support.billing_file

BUDGET = "64MB"  # InvoiceItem (~100,000 rows) with 400 columns needs about twice that
HOG = "select " + ", ".join(["Id"] * 400) + " from InvoiceItem"
NARROW = (
    "select Id, ChargeAmount, ChargeDate from InvoiceItem",
    "select Id, Name, AccountNumber, Balance from Account",
    "select Id, InvoiceNumber, Amount from Invoice",
)


def test_a_memory_hog_starves_no_other_job_and_leaves_the_engine_usable(
    make_server: ServerFactory,
) -> None:
    h = make_server(workers=3, memory_limit=BUDGET)
    hog = h.submit(HOG, HOG, HOG)
    others = [h.submit(*NARROW) for _ in range(6)]

    hogged = h.wait_terminal(hog)
    done = [h.wait_terminal(job_id) for job_id in others]

    assert hogged.status == JS.ABORTED
    assert [b.status for b in hogged.batches] == [BS.ABORTED, BS.CANCELLED, BS.CANCELLED]
    expected = errors.EngineOutOfMemory(base.OUT_OF_MEMORY).describe()
    assert hogged.batches[0].message == hogged.message == expected
    assert "Out of Memory Error" not in expected and "MiB" not in expected
    for record in done:
        assert record.status == JS.COMPLETED, (record.message, [b.message for b in record.batches])
        h.assert_consistent(record)
    counts = {tuple(b.record_count for b in record.batches) for record in done}
    assert len(counts) == 1, "every narrow job found the same rows"
    # The engine is usable: the same work afterwards, alone, gives the same answer.
    again = h.wait_terminal(h.submit(*NARROW))
    assert again.status == JS.COMPLETED
    assert tuple(b.record_count for b in again.batches) == counts.pop()
    h.wait_no_orphans()


def test_the_issues_query_is_refused_at_submit(make_server: ServerFactory) -> None:
    h = make_server(workers=1, start=False)
    issue = "select " + ", ".join(["Id"] * 2000) + " from Account"  # 9 KB
    try:
        h.submit(issue)
    except errors.ZoqlError as refused:
        assert refused.reason == "a query selects at most 500 columns; this one selects 2,000"
    else:
        raise AssertionError("a 2,000-column query was accepted")
