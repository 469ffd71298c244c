"""Cancelling AQuA jobs through the real service, runner, engine and result store.

The interrupt follows the committed ``cancelled`` transition (ARCHITECTURE.md): the tests see
it by its outcomes only, never by a duration. A batch over an object made "endless" can only
give its worker back because its statement was interrupted.
"""

from __future__ import annotations

import functools

import pytest

from aquarium.domain import errors
from tests.integration import test_runner_support as support
from tests.integration.test_runner_support import BS, JS, PRINCIPAL, ServerFactory

make_server = support.make_server
billing_file = support.billing_file

slow_usage = functools.partial(support.make_slow, table="Usage")


def test_cancel_interrupts_the_running_batch_and_keeps_finished_files(
    make_server: ServerFactory,
) -> None:
    h = make_server(workers=1, prepare=slow_usage)
    job_id = h.submit("select * from Account", "select * from Usage", "select * from Invoice")
    h.wait_batches(job_id, BS.COMPLETED, BS.EXECUTING, BS.PENDING)

    document = h.aqua.cancel(PRINCIPAL, job_id)

    assert document["status"] == JS.CANCELLED
    assert [b["status"] for b in document["batches"]] == [
        BS.COMPLETED,
        BS.CANCELLED,
        BS.CANCELLED,
    ]
    assert "fileId" in document["batches"][0]
    assert all("fileId" not in b for b in document["batches"][1:])
    # The only worker is free again: the endless statement was interrupted.
    next_id = h.submit(support.FAST_QUERIES[0])
    assert h.wait_terminal(next_id).status == JS.COMPLETED
    record = h.job(job_id)
    assert record.status == JS.CANCELLED
    assert record.batches[0].record_count > 0
    h.assert_consistent(record)
    downloaded = h.aqua.file(PRINCIPAL, record.batches[0].file_id)
    assert downloaded.path.read_text(encoding="utf-8").count("\n") == (
        record.batches[0].record_count + 1
    )
    h.wait_no_orphans()
    assert h.partial_files() == []
    # DELETE again answers the same document.
    assert h.aqua.cancel(PRINCIPAL, job_id) == document


def test_a_partial_file_is_removed_when_its_batch_is_cancelled(
    make_server: ServerFactory,
) -> None:
    h = make_server(workers=1)
    job_id = h.submit("select * from InvoiceItem", "select * from InvoiceItem")
    support.wait_for(h.partial_files, "the first batch to start writing its file")

    assert h.aqua.cancel(PRINCIPAL, job_id)["status"] == JS.CANCELLED

    next_id = h.submit(support.FAST_QUERIES[1])
    assert h.wait_terminal(next_id).status == JS.COMPLETED
    record = h.job(job_id)
    assert record.status == JS.CANCELLED
    # The cancel may have met the first batch just after it had finished; never a half file.
    assert record.batches[1].status == BS.CANCELLED
    h.assert_consistent(record)
    h.wait_no_orphans()
    assert h.partial_files() == []


def test_a_job_cancelled_while_submitted_never_starts(make_server: ServerFactory) -> None:
    h = make_server(workers=1, start=False)
    job_id = h.submit(*support.FAST_QUERIES[:2])

    document = h.aqua.cancel(PRINCIPAL, job_id)

    assert document["status"] == JS.CANCELLED
    assert [b["status"] for b in document["batches"]] == [BS.CANCELLED, BS.CANCELLED]
    h.srv.start()
    later = h.submit(support.FAST_QUERIES[2])
    assert h.wait_terminal(later).status == JS.COMPLETED
    record = h.job(job_id)
    assert record.status == JS.CANCELLED
    assert record.started_at is None
    assert record.attempt == 0
    assert h.files_of(job_id) == []
    assert "startTime" not in h.aqua.get(PRINCIPAL, job_id)


def test_cancelled_jobs_leave_the_runner_working(make_server: ServerFactory) -> None:
    h = make_server(workers=2, prepare=slow_usage)
    endless = [h.submit("select * from Usage") for _ in range(4)]
    for job_id in endless:
        h.wait_status(job_id, JS.EXECUTING, JS.SUBMITTED)
    for job_id in endless:
        assert h.aqua.cancel(PRINCIPAL, job_id)["status"] == JS.CANCELLED

    followers = [h.submit(*support.FAST_QUERIES) for _ in range(3)]

    for job_id in followers:
        record = h.wait_terminal(job_id)
        assert record.status == JS.COMPLETED
        h.assert_consistent(record)
    for job_id in endless:
        record = h.job(job_id)
        assert record.status == JS.CANCELLED
        assert [b.status for b in record.batches] == [BS.CANCELLED]
    h.wait_no_orphans()


def test_delete_of_a_finished_or_unknown_job(make_server: ServerFactory) -> None:
    h = make_server(workers=1)
    job_id = h.submit(support.FAST_QUERIES[0])
    finished = h.wait_terminal(job_id)
    assert finished.status == JS.COMPLETED

    with pytest.raises(errors.JobNotCancellable) as refused:
        h.aqua.cancel(PRINCIPAL, job_id)

    assert refused.value.code == "90003"
    assert refused.value.status == JS.COMPLETED
    assert refused.value.job_id == job_id
    assert h.job(job_id) == finished
    for unknown in ("None", "0" * 32, "not-an-id"):
        with pytest.raises(errors.InvalidJobId) as missing:
            h.aqua.cancel(PRINCIPAL, unknown)
        assert missing.value.code == "90002"
