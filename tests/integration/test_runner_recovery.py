"""Runs a dead process left ``executing`` are requeued (or failed after ``MAX_ATTEMPTS``) and
start over in a new snapshot, their earlier attempt's files withdrawn; a clean shutdown
requeues what it interrupts the same way. Nothing stays executing, no partial file stays."""

from __future__ import annotations

import datetime as dt
import functools
import os
import socket
import subprocess
import sys

from aquarium.domain import runs
from aquarium.runner import inprocess
from aquarium.store import batches_repo, files_repo, runs_repo
from tests.integration import test_runner_support as support
from tests.integration.test_runner_support import BS, JS, ServerFactory

make_server = support.make_server
billing_file = support.billing_file


def _dead_worker() -> str:
    """The worker id of a process of this host that has exited."""
    process = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                             capture_output=True, text=True, check=True)  # fmt: skip
    return f"{socket.gethostname()}:{process.stdout.strip()}:dead"


DEAD_WORKER = _dead_worker()


def _claim_as(h: support.Harness, worker: str) -> runs_repo.RunRecord:
    """What a process that claimed a job leaves behind (if it then dies)."""
    with h.srv.metadata.begin() as conn:
        claimed = runs_repo.claim_next(
            conn, {runs.Kind.AQUA}, worker=worker, at=h.srv.services.clock.now()
        )
    assert claimed is not None
    assert claimed.status == JS.EXECUTING
    return claimed


_claim_as_dead_worker = functools.partial(_claim_as, worker=DEAD_WORKER)


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


def test_a_job_held_by_a_live_worker_is_left_alone(make_server: ServerFactory) -> None:
    h = make_server(start=False)
    job_id = h.submit(support.FAST_QUERIES[0])
    # Another runner of this very process: alive, and its heartbeat is fresh.
    _claim_as(h, f"{socket.gethostname()}:{os.getpid()}:other")
    assert h.srv.runner is not None

    h.srv.runner.recover()

    assert h.job(job_id).status == JS.EXECUTING


def test_a_clean_stop_requeues_the_running_job_to_start_over(make_server: ServerFactory) -> None:
    h = make_server(workers=1, prepare=functools.partial(support.make_slow, table="Usage"))
    job_id = h.submit("select * from Account", "select * from Usage")
    first_attempt = h.wait_batches(job_id, BS.COMPLETED, BS.EXECUTING)
    assert h.disk_files() == {first_attempt.batches[0].file_id}

    h.stop()  # returns once its workers have exited: the endless statement was interrupted

    # The job waits to run every query again in one new snapshot: nothing of the first
    # attempt is left, neither its batches nor its file.
    record = h.job(job_id)
    assert record.status == JS.SUBMITTED
    assert [b.status for b in record.batches] == [BS.PENDING, BS.PENDING]
    assert [b.file_id for b in record.batches] == [None, None]
    assert not {b.id for b in record.batches} & {b.id for b in first_attempt.batches}
    assert h.files_of(job_id) == []
    assert h.partial_files() == []
    assert h.disk_files() == set()


def test_a_dead_attempts_files_are_withdrawn_and_every_query_runs_again(
    make_server: ServerFactory,
) -> None:
    h = make_server(start=False)
    job_id = h.submit(*support.FAST_QUERIES[:3])
    _claim_as_dead_worker(h)
    # The dead attempt had finished its first query (file published and recorded) and was
    # writing its second when its process died.
    first, second, _ = h.job(job_id).batches
    temporary = h.srv.results.temporary_path(support.TENANT, job_id, "f" * 32)
    temporary.write_bytes(b"Id\n1\n")
    published = h.srv.results.publish(support.TENANT, "f" * 32, temporary)
    now = h.srv.services.clock.now()
    with h.srv.metadata.begin() as conn:
        assert batches_repo.start(conn, first.id, at=now)
        assert batches_repo.complete(
            conn, first.id, file_id="f" * 32, record_count=1, sha256="0" * 64, size=5, at=now
        )
        files_repo.record_file(conn, files_repo.FileRecord(
            id="f" * 32, tenant=support.TENANT, job_id=job_id, batch_id=first.id,
            path=published, size=5, sha256="0" * 64, content_type="text/csv", record_count=1,
            created_at=now, expires_at=now + dt.timedelta(days=3),
        ))  # fmt: skip
        assert batches_repo.start(conn, second.id, at=now)
    partial = h.srv.results.temporary_path(support.TENANT, job_id, "e" * 32)
    partial.write_bytes(b"Id\n")

    h.srv.start()
    record = h.wait_terminal(job_id)

    assert record.status == JS.COMPLETED
    assert [b.status for b in record.batches] == [BS.COMPLETED] * 3
    assert "f" * 32 not in {b.file_id for b in record.batches}
    assert h.srv.results.local_path(published) is None
    assert h.disk_files() == {b.file_id for b in record.batches}
    assert h.partial_files() == []
    h.assert_consistent(record)


def test_a_temporary_file_no_executing_run_owns_is_removed_while_serving(
    make_server: ServerFactory,
) -> None:
    """An engine that closes an interrupted statement's file after the run let go of it (the
    run's own discard came first): the pulse removes the file within ``RECOVER_S``."""
    h = make_server(workers=1)
    stray = h.srv.results.temporary_path(support.TENANT, "a" * 32, "b" * 32)
    stray.write_bytes(b"Id\n")
    support.wait_for(lambda: not h.partial_files(), "the stray temporary file to go")


def test_temporary_files_of_dead_attempts_are_removed_at_start(
    make_server: ServerFactory,
) -> None:
    h = make_server(start=False)
    held = h.submit(support.FAST_QUERIES[0])
    waiting = h.submit(support.FAST_QUERIES[1])
    _claim_as(h, f"{socket.gethostname()}:{os.getpid()}:other")  # alive: its file stays
    assert h.job(held).status == JS.EXECUTING
    results = h.srv.results
    dead = [results.temporary_path(support.TENANT, waiting, "a" * 32)]
    dead.append(dead[0].with_name(f".{'b' * 32}.partial"))  # written by an older release
    alive = results.temporary_path(support.TENANT, held, "c" * 32)
    for path in [*dead, alive]:
        path.write_bytes(b"Id\n")

    assert h.srv.runner is not None
    h.srv.runner.sweep_temporaries()

    assert [path.exists() for path in dead] == [False, False]
    assert alive.exists()
