"""Jobs a dead process left ``executing`` are requeued on the next start, or aborted after
``MAX_ATTEMPTS``; a clean shutdown requeues what it interrupts. Nothing stays executing."""

from __future__ import annotations

import functools

from aquarium.runner import inprocess
from aquarium.store import jobs_repo
from tests.integration import test_runner_support as support
from tests.integration.test_runner_support import BS, JS, ServerFactory

make_server = support.make_server
billing_file = support.billing_file

DEAD_WORKER = "inprocess-dead"


def _claim_as_dead_worker(h: support.Harness) -> jobs_repo.JobRecord:
    """What a process that claimed a job and then died leaves behind."""
    with h.srv.metadata.begin() as conn:
        claimed = jobs_repo.claim_next(conn, worker=DEAD_WORKER, at=h.srv.services.clock.now())
    assert claimed is not None
    assert claimed.status == JS.EXECUTING
    return claimed


def test_a_job_left_executing_runs_again_on_the_next_start(make_server: ServerFactory) -> None:
    first = make_server(start=False)
    job_id = first.submit(*support.FAST_QUERIES[:2])
    claimed = _claim_as_dead_worker(first)
    assert claimed.id == job_id and claimed.attempt == 1
    first.stop()

    second = make_server(data_dir=first.data_dir)
    record = second.wait_terminal(job_id)

    assert record.status == JS.COMPLETED
    assert record.attempt == 2
    assert record.worker != DEAD_WORKER
    assert not record.message
    second.assert_consistent(record)


def test_a_requeued_job_is_waiting_again_without_a_message(make_server: ServerFactory) -> None:
    h = make_server(start=False)
    job_id = h.submit(support.FAST_QUERIES[0])
    _claim_as_dead_worker(h)
    assert h.srv.runner is not None

    h.srv.runner.recover()

    record = h.job(job_id)
    assert record.status == JS.SUBMITTED
    assert record.worker is None
    assert record.message is None
    assert [b.status for b in record.batches] == [BS.PENDING]


def test_after_max_attempts_a_job_is_aborted(make_server: ServerFactory) -> None:
    h = make_server(start=False)
    job_id = h.submit(*support.FAST_QUERIES[:2])
    runner = h.srv.runner
    assert runner is not None
    for attempt in range(1, inprocess.MAX_ATTEMPTS):
        assert _claim_as_dead_worker(h).attempt == attempt
        runner.recover()
        assert h.job(job_id).status == JS.SUBMITTED
    assert _claim_as_dead_worker(h).attempt == inprocess.MAX_ATTEMPTS

    h.srv.start()  # recovers first
    record = h.wait_terminal(job_id)

    assert record.status == JS.ABORTED
    assert record.message == inprocess.RETRIED_TOO_OFTEN
    assert [b.status for b in record.batches] == [BS.CANCELLED, BS.CANCELLED]
    assert h.files_of(job_id) == []
    # The runner that aborted it works.
    assert h.wait_terminal(h.submit(support.FAST_QUERIES[0])).status == JS.COMPLETED


def test_a_clean_stop_requeues_the_running_job(make_server: ServerFactory) -> None:
    h = make_server(workers=1, prepare=functools.partial(support.make_slow, table="Usage"))
    job_id = h.submit("select * from Account", "select * from Usage")
    h.wait_batches(job_id, BS.COMPLETED, BS.EXECUTING)

    h.stop()  # returns once its workers have exited: the endless statement was interrupted

    record = h.job(job_id)
    assert record.status == JS.SUBMITTED
    assert [b.status for b in record.batches] == [BS.COMPLETED, BS.PENDING]
    assert record.batches[0].file_id is not None
    assert h.partial_files() == []
    assert h.disk_files() == {record.batches[0].file_id}
