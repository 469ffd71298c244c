"""Cancel against completion, many times at random moments (seeded, so a failure replays).

Whatever the moment, a job ends in exactly one terminal state that never changes afterwards,
and the files agree with the batches: a completed batch has a recorded file on disk, any other
batch has none, and no file is left that belongs to no completed batch.
"""

from __future__ import annotations

import random
import threading
import time

import pytest

from aquarium.domain import errors
from tests.integration import test_runner_support as support
from tests.integration.test_runner_support import BS, JS, PRINCIPAL, ServerFactory

make_server = support.make_server
billing_file = support.billing_file

TRIALS = 120
SEED = 20261101
MAX_DELAY_S = 0.05  # seconds between submit and cancel, drawn uniformly


def _snapshot(record: support.jobs_repo.JobRecord) -> tuple[object, ...]:
    return (
        record.status,
        record.finished_at,
        tuple((b.status, b.file_id, b.record_count, b.message) for b in record.batches),
    )


@pytest.mark.slow
def test_cancel_races_completion(make_server: ServerFactory) -> None:
    h = make_server(workers=2)
    rng = random.Random(SEED)
    seen: dict[str, tuple[object, ...]] = {}
    outcomes = {JS.COMPLETED: 0, JS.CANCELLED: 0}
    for trial in range(TRIALS):
        queries = rng.sample(support.FAST_QUERIES, rng.randint(1, 3))
        job_id = h.submit(*queries)
        time.sleep(rng.uniform(0, MAX_DELAY_S))
        try:
            answer = h.aqua.cancel(PRINCIPAL, job_id)
        except errors.JobNotCancellable as refused:
            assert refused.status == JS.COMPLETED, (trial, refused.status)
            assert refused.code == "90003"
        else:
            assert answer["status"] == JS.CANCELLED, trial
        record = h.wait_terminal(job_id)
        assert record.status in outcomes, (trial, record.status)
        outcomes[record.status] += 1
        h.assert_consistent(record)
        if record.status == JS.CANCELLED:
            assert h.aqua.cancel(PRINCIPAL, job_id) == h.aqua.cancel(PRINCIPAL, job_id)
            assert not any(b.status == BS.PENDING for b in record.batches)
        else:
            assert all(b.status == BS.COMPLETED for b in record.batches)
            with pytest.raises(errors.JobNotCancellable):
                h.aqua.cancel(PRINCIPAL, job_id)
        seen[job_id] = _snapshot(record)
        h.wait_no_orphans()

    # Nothing changed any job after it had ended, and no file lost its batch or vice versa.
    h.wait_no_orphans()
    for job_id, snapshot in seen.items():
        record = h.job(job_id)
        assert _snapshot(record) == snapshot, job_id
        h.assert_consistent(record)
    # The delays are long enough for both outcomes to happen (a sanity check of the test).
    assert outcomes[JS.COMPLETED] > 0 and outcomes[JS.CANCELLED] > 0, outcomes


def test_a_cancel_in_the_last_instant_of_a_job(make_server: ServerFactory) -> None:
    """The DELETE lands after the last batch completed and the snapshot closed, before the job
    is marked completed: the cancel wins, every batch keeps its file, the answer is normal."""
    h = make_server(workers=1, start=False)
    closed, cancelled = threading.Event(), threading.Event()

    def between_last_batch_and_completion() -> None:
        closed.set()
        cancelled.wait(support.WAIT_S)

    support.hook_engine(h, after_snapshot=between_last_batch_and_completion)
    h.srv.start()
    job_id = h.submit(*support.FAST_QUERIES[:2])
    support.wait_for(closed.is_set, "the job's snapshot to close")

    try:
        answer = h.aqua.cancel(PRINCIPAL, job_id)
    finally:
        cancelled.set()

    assert answer["status"] == JS.CANCELLED
    assert [b["status"] for b in answer["batches"]] == [BS.COMPLETED, BS.COMPLETED]
    assert h.aqua.get(PRINCIPAL, h.submit(support.FAST_QUERIES[2]))["id"]
    record = h.job(job_id)
    assert record.status == JS.CANCELLED
    h.assert_consistent(record)
    h.wait_no_orphans()


def test_a_cancel_while_a_finished_file_is_being_published(make_server: ServerFactory) -> None:
    """The DELETE lands after a batch's statement finished, before its file is recorded: the
    file is removed and the batch stays cancelled."""
    h = make_server(workers=1, start=False)
    copied, cancelled = threading.Event(), threading.Event()

    def after_copy() -> None:
        copied.set()
        cancelled.wait(support.WAIT_S)

    support.hook_engine(h, after_copy=after_copy)
    h.srv.start()
    job_id = h.submit(support.FAST_QUERIES[0], support.FAST_QUERIES[1])
    support.wait_for(copied.is_set, "the first statement to finish")

    try:
        answer = h.aqua.cancel(PRINCIPAL, job_id)
    finally:
        cancelled.set()

    assert [b["status"] for b in answer["batches"]] == [BS.CANCELLED, BS.CANCELLED]
    follower = h.submit(support.FAST_QUERIES[2])
    assert h.wait_terminal(follower).status == JS.COMPLETED
    record = h.job(job_id)
    assert record.status == JS.CANCELLED
    assert [b.status for b in record.batches] == [BS.CANCELLED, BS.CANCELLED]
    h.assert_consistent(record)
    h.wait_no_orphans()
