"""AQuA jobs in the store on SQLite and PostgreSQL: the job and batch machines as compare-and-set
updates (``runs_repo`` for the job, ``batches_repo`` for its batches, ``jobs_repo`` the rest)."""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import sqlalchemy as sa

from aquarium.domain import ids, jobs, runs
from aquarium.store import batches_repo, jobs_repo, runs_repo, tables, tenants_repo
from tests.integration import test_store_migrations as support

T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
SECOND = dt.timedelta(seconds=1)
JS, BS, EV = jobs.JobStatus, jobs.BatchStatus, jobs.JobEvent
AQUA = runs.Kind.AQUA
MACHINE = jobs.AQUA_JOB
RACE_THREADS = 8
RACE_ROUNDS = 50


store = support.store
engine = support.engine


def add_job(
    engine: sa.Engine,
    *,
    tenant: str = "acme",
    created_at: dt.datetime = T0,
    batches: int = 3,
    session: tuple[str, str] | None = None,
    name: str | None = "nightly",
    **fields: object,
) -> str:
    job_id = ids.new_id()
    partner, project = session or (None, None)
    job = jobs_repo.NewJob(
        id=job_id, tenant=tenant, name=name, version="1.1", format="CSV",
        created_at=created_at, stateful=session is not None, partner=partner, project=project,
        **fields,  # type: ignore[arg-type]
    )  # fmt: skip
    query = "select Id from Account"
    news = [
        jobs_repo.NewBatch(id=ids.new_id(), position=n, name=f"query{n}", query=query)
        for n in reversed(range(batches))
    ]
    with engine.begin() as conn:
        tenants_repo.record_tenant(conn, tenant)  # every run references its tenant
        jobs_repo.insert_job(conn, job, news)
    return job_id


def get(engine: sa.Engine, job_id: str, tenant: str = "acme") -> jobs_repo.JobRecord:
    with engine.connect() as conn:
        record = jobs_repo.get_job(conn, tenant, job_id)
    assert record is not None
    return record


def event(engine: sa.Engine, job_id: str, ev: jobs.JobEvent, **kw: object) -> jobs.JobStatus | None:
    with engine.begin() as conn:
        status = runs_repo.apply_event(conn, AQUA, job_id, ev, at=T0 + SECOND, **kw)  # type: ignore[arg-type]
    return None if status is None else JS(status)


def force_status(engine: sa.Engine, job_id: str, status: jobs.JobStatus) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.update(tables.runs).where(tables.runs.c.id == job_id).values(status=status.value)
        )


def claim(engine: sa.Engine, **kw: object) -> str | None:
    with engine.begin() as conn:
        record = runs_repo.claim_next(conn, {AQUA}, worker="w1", at=T0, **kw)  # type: ignore[arg-type]
    return None if record is None else record.id


def test_insert_and_get_round_trip(engine: sa.Engine) -> None:
    local = dt.timezone(dt.timedelta(hours=-7))
    job_id = add_job(
        engine, created_at=T0.astimezone(local), session=("p", "q"), incremental_time_ms=123,
        offset_seconds=60, null_replacement="NULL", use_query_labels=True, notify_url="http://x",
    )  # fmt: skip
    record = get(engine, job_id)
    assert (record.status, record.tenant, record.partner, record.project) == (
        JS.SUBMITTED,
        "acme",
        "p",
        "q",
    )
    assert record.created_at == T0 and record.created_at.tzinfo == dt.UTC
    assert (record.incremental_time_ms, record.offset_seconds, record.attempt) == (123, 60, 0)
    assert record.use_query_labels and record.stateful and not record.date_time_utc
    assert [batch.position for batch in record.batches] == [0, 1, 2]
    assert {batch.status for batch in record.batches} == {BS.PENDING}
    assert all(
        b.record_count == 0 and b.message == "" and b.file_id is None for b in record.batches
    )
    with engine.connect() as conn:
        assert jobs_repo.get_job(conn, "other", job_id) is None
        assert jobs_repo.get_job(conn, "acme", ids.new_id()) is None


@pytest.mark.parametrize(("start", "ev"), list(itertools.product(JS, EV)))
def test_every_transition_is_allowed_or_refused(
    engine: sa.Engine, start: jobs.JobStatus, ev: jobs.JobEvent
) -> None:
    job_id = add_job(engine)
    force_status(engine, job_id, start)
    before = get(engine, job_id)
    result = event(engine, job_id, ev)
    after = get(engine, job_id)
    if MACHINE.can_apply(ev, start):
        assert result == after.status == MACHINE.transition(ev).to
    else:
        assert result is None
        assert after == before


def test_terminal_states_are_sticky(engine: sa.Engine) -> None:
    done = add_job(engine)
    assert event(engine, done, EV.START) == JS.EXECUTING
    assert event(engine, done, EV.COMPLETE) == JS.COMPLETED
    before = get(engine, done)
    assert event(engine, done, EV.CANCEL) is None
    assert get(engine, done) == before

    cancelled = add_job(engine)
    assert event(engine, cancelled, EV.START) == JS.EXECUTING
    assert event(engine, cancelled, EV.CANCEL, message="by DELETE") == JS.CANCELLED
    assert event(engine, cancelled, EV.COMPLETE) is None
    assert event(engine, cancelled, EV.CANCEL) is None
    record = get(engine, cancelled)
    assert (record.status, record.message, record.finished_at) == (
        JS.CANCELLED,
        "by DELETE",
        T0 + SECOND,
    )


def test_start_and_requeue(engine: sa.Engine) -> None:
    job_id = add_job(engine)
    assert claim(engine) == job_id
    record = get(engine, job_id)
    assert (record.attempt, record.worker, record.started_at, record.heartbeat_at) == (
        1,
        "w1",
        T0,
        T0,
    )
    first = record.batches[0].id
    with engine.begin() as conn:
        assert batches_repo.start(conn, first, at=T0)
        batches_repo.progress(conn, first, 10, 200)
    assert get(engine, job_id).batches[0].rows_written == 10
    before = get(engine, job_id).batches
    assert event(engine, job_id, EV.REQUEUE) == JS.SUBMITTED
    record = get(engine, job_id)
    assert (record.status, record.worker, record.heartbeat_at) == (JS.SUBMITTED, None, None)
    # The job starts over: fresh batches (new ids) for the same queries, nothing of the attempt.
    assert [(b.status, b.rows_written, b.started_at) for b in record.batches] == [
        (BS.PENDING, 0, None)
    ] * 3
    assert [(b.position, b.name, b.query) for b in record.batches] == [
        (b.position, b.name, b.query) for b in before
    ]
    assert not {b.id for b in record.batches} & {b.id for b in before}
    assert claim(engine) == job_id
    assert get(engine, job_id).attempt == 2


def _run_first_two_batches(engine: sa.Engine, job_id: str) -> tuple[str, str, str]:
    """Batch 0 completed with a file, batch 1 executing, batch 2 pending."""
    first, second, third = (batch.id for batch in get(engine, job_id).batches)
    with engine.begin() as conn:
        assert batches_repo.start(conn, first, at=T0)
        assert batches_repo.complete(
            conn, first, file_id="f" * 32, record_count=7, sha256="a" * 64, size=99, at=T0
        )
        assert batches_repo.start(conn, second, at=T0)
    return first, second, third


@pytest.mark.parametrize("ev", [EV.CANCEL, EV.ABORT])
def test_unfinished_batches_become_cancelled(engine: sa.Engine, ev: jobs.JobEvent) -> None:
    job_id = add_job(engine)
    assert event(engine, job_id, EV.START) == JS.EXECUTING
    _, second, _ = _run_first_two_batches(engine, job_id)
    if ev is EV.ABORT:
        with engine.begin() as conn:
            assert batches_repo.fail(conn, second, message="division by zero", at=T0)
            assert not batches_repo.fail(conn, second, message="again", at=T0)
    assert event(engine, job_id, ev) == MACHINE.transition(ev).to
    done, running, pending = get(engine, job_id).batches
    assert (done.status, done.file_id, done.record_count, done.bytes_written) == (
        BS.COMPLETED,
        "f" * 32,
        7,
        99,
    )
    assert pending.status == BS.CANCELLED and pending.finished_at == T0 + SECOND
    if ev is EV.ABORT:
        assert (running.status, running.message) == (BS.ABORTED, "division by zero")
    else:
        assert running.status == BS.CANCELLED


def test_complete_batch_after_cancel_is_refused(engine: sa.Engine) -> None:
    job_id = add_job(engine)
    assert event(engine, job_id, EV.START) == JS.EXECUTING
    _, second, third = _run_first_two_batches(engine, job_id)
    assert event(engine, job_id, EV.CANCEL) == JS.CANCELLED
    with engine.begin() as conn:
        assert not batches_repo.complete(
            conn, second, file_id="e" * 32, record_count=1, sha256="b" * 64, size=1, at=T0
        )
        assert not batches_repo.start(conn, third, at=T0)
        batches_repo.progress(conn, second, 5, 5)
    batch = get(engine, job_id).batches[1]
    assert (batch.status, batch.file_id, batch.rows_written) == (BS.CANCELLED, None, 0)


def test_batches_start_only_while_the_job_executes(engine: sa.Engine) -> None:
    job_id = add_job(engine, batches=1)
    batch = get(engine, job_id).batches[0].id
    with engine.begin() as conn:
        assert not batches_repo.start(conn, batch, at=T0)
    assert event(engine, job_id, EV.START) == JS.EXECUTING
    with engine.begin() as conn:
        assert batches_repo.start(conn, batch, at=T0)
        assert not batches_repo.start(conn, batch, at=T0)
        assert not batches_repo.start(conn, ids.new_id(), at=T0)


def test_claim_next_takes_the_oldest_first(engine: sa.Engine) -> None:
    late = add_job(engine, created_at=T0 + 2 * SECOND)
    early = add_job(engine, created_at=T0)
    middle = add_job(engine, created_at=T0 + SECOND)
    same_time = sorted([add_job(engine, created_at=T0 + 3 * SECOND) for _ in range(2)])
    assert [claim(engine) for _ in range(6)] == [early, middle, late, *same_time, None]


def test_claim_next_serialises_a_stateful_session(engine: sa.Engine) -> None:
    first = add_job(engine, session=("p", "q"), created_at=T0)
    second = add_job(engine, session=("p", "q"), created_at=T0 + SECOND)
    other_session = add_job(engine, session=("p", "r"), created_at=T0 + 2 * SECOND)
    other_tenant = add_job(engine, tenant="zeta", session=("p", "q"), created_at=T0 + 3 * SECOND)
    stateless = add_job(engine, created_at=T0 + 4 * SECOND)
    claimed = [claim(engine) for _ in range(5)]
    assert claimed == [first, other_session, other_tenant, stateless, None]
    assert event(engine, first, EV.COMPLETE) == JS.COMPLETED
    assert claim(engine) == second


def test_claim_next_respects_tenant_limits(engine: sa.Engine) -> None:
    a1 = add_job(engine, tenant="a", created_at=T0)
    add_job(engine, tenant="a", created_at=T0 + SECOND)
    b1 = add_job(engine, tenant="b", created_at=T0 + 2 * SECOND)

    def limits(tenant: str, kind: runs.Kind) -> int:
        return 1

    assert [claim(engine, limit=limits) for _ in range(3)] == [a1, b1, None]


def test_claimable_lists_what_claim_next_would_start_without_starting_it(
    engine: sa.Engine,
) -> None:
    a1 = add_job(engine, tenant="a", created_at=T0)
    a2 = add_job(engine, tenant="a", created_at=T0 + SECOND)
    first = add_job(engine, tenant="b", session=("p", "q"), created_at=T0 + 2 * SECOND)
    add_job(engine, tenant="b", session=("p", "q"), created_at=T0 + 3 * SECOND)
    a3 = add_job(engine, tenant="a", created_at=T0 + 4 * SECOND)

    def two_each(tenant: str, kind: runs.Kind) -> int:
        return 2

    def listed(**kw: object) -> list[str]:
        with engine.connect() as conn:
            return runs_repo.claimable(conn, {AQUA}, limit=two_each, **kw)  # type: ignore[arg-type]

    # Tenant a has two free slots: its third run is not listed; b's session lets one start.
    assert listed() == [a1, a2, first]
    assert listed(most=2) == [a1, a2]
    assert get(engine, a1, "a").status == JS.SUBMITTED  # nothing was started
    assert claim(engine, limit=two_each) == a1
    assert listed() == [a2, first]  # a1 executes: one slot of a's two is left
    assert event(engine, a1, EV.COMPLETE) == JS.COMPLETED
    assert listed() == [a2, first, a3]


def test_cancel_and_complete_race_has_exactly_one_winner(engine: sa.Engine) -> None:
    barrier = threading.Barrier(RACE_THREADS, timeout=30)

    def contend(job_id: str, ev: jobs.JobEvent) -> jobs.JobStatus | None:
        barrier.wait()
        return event(engine, job_id, ev)

    with ThreadPoolExecutor(RACE_THREADS) as pool:
        for _ in range(RACE_ROUNDS):
            job_id = add_job(engine)
            assert event(engine, job_id, EV.START) == JS.EXECUTING
            events = [EV.CANCEL, EV.COMPLETE] * (RACE_THREADS // 2)
            results = list(pool.map(contend, [job_id] * RACE_THREADS, events))
            winners = [result for result in results if result is not None]
            assert len(winners) == 1, results
            record = get(engine, job_id)
            assert record.status == winners[0]
            expected = BS.CANCELLED if winners[0] is JS.CANCELLED else BS.PENDING
            assert {batch.status for batch in record.batches} == {expected}


def test_batch_completion_racing_a_cancel_stays_consistent(engine: sa.Engine) -> None:
    """The runner's "last batch done, job done" transaction against DELETEs: no deadlock, and a
    batch keeps a file exactly when ``complete_batch`` said so."""
    barrier = threading.Barrier(RACE_THREADS, timeout=30)

    def finish(batch_id: str, job_id: str) -> bool:
        barrier.wait()
        with engine.begin() as conn:
            done = batches_repo.complete(
                conn, batch_id, file_id="f" * 32, record_count=1, sha256="a" * 64, size=1, at=T0
            )
            if done:
                runs_repo.apply_event(conn, AQUA, job_id, EV.COMPLETE, at=T0)
            return done

    def cancel(job_id: str) -> bool:
        barrier.wait()
        return event(engine, job_id, EV.CANCEL) is not None

    with ThreadPoolExecutor(RACE_THREADS) as pool:
        for _ in range(RACE_ROUNDS // 5):
            job_id = add_job(engine, batches=1)
            assert event(engine, job_id, EV.START) == JS.EXECUTING
            batch_id = get(engine, job_id).batches[0].id
            with engine.begin() as conn:
                assert batches_repo.start(conn, batch_id, at=T0)
            finishing = [pool.submit(finish, batch_id, job_id) for _ in range(RACE_THREADS // 2)]
            cancels = [pool.submit(cancel, job_id) for _ in range(RACE_THREADS // 2)]
            completed = sum(future.result() for future in finishing)
            cancelled = sum(future.result() for future in cancels)
            record = get(engine, job_id)
            batch = record.batches[0]
            assert completed <= 1 and cancelled <= 1
            assert (batch.status == BS.COMPLETED) == (completed == 1) == (batch.file_id is not None)
            assert record.status == (JS.CANCELLED if cancelled else JS.COMPLETED)


def test_concurrent_claims_never_share_a_job_or_a_session(engine: sa.Engine) -> None:
    barrier = threading.Barrier(RACE_THREADS, timeout=30)

    def contend(worker: int) -> str | None:
        barrier.wait()
        with engine.begin() as conn:
            record = runs_repo.claim_next(conn, {AQUA}, worker=f"w{worker}", at=T0)
        return None if record is None else record.id

    with ThreadPoolExecutor(RACE_THREADS) as pool:
        for _ in range(10):
            support.empty_tables(engine)
            session = [
                add_job(engine, session=("p", "q"), created_at=T0 + n * SECOND) for n in range(3)
            ]
            stateless = {add_job(engine, created_at=T0 + SECOND) for _ in range(3)}
            claimed = [job for job in pool.map(contend, range(RACE_THREADS)) if job is not None]
            assert sorted(claimed) == sorted({session[0], *stateless})


def test_concurrent_claims_never_pass_a_tenant_limit(engine: sa.Engine) -> None:
    """Targeted claims (scale-out deliveries) and claims of the next run, racing: the tenant
    never has more than its limit executing."""
    barrier = threading.Barrier(RACE_THREADS, timeout=30)

    def two(tenant: str, kind: runs.Kind) -> int:
        return 2

    def contend(worker: int, targets: list[str]) -> str | None:
        barrier.wait()
        only = targets[worker] if worker % 2 else None
        with engine.begin() as conn:
            record = runs_repo.claim_next(
                conn, {AQUA}, worker=f"w{worker}", at=T0, limit=two, only=only
            )
        return None if record is None else record.id

    with ThreadPoolExecutor(RACE_THREADS) as pool:
        for _ in range(10):
            support.empty_tables(engine)
            targets = [add_job(engine, created_at=T0 + n * SECOND) for n in range(RACE_THREADS)]
            claimed = [
                job
                for job in pool.map(contend, range(RACE_THREADS), [targets] * RACE_THREADS)
                if job is not None
            ]
            assert len(claimed) == 2, claimed


def test_heartbeat_and_stale_jobs(engine: sa.Engine) -> None:
    alive, stale = add_job(engine), add_job(engine, created_at=T0 + SECOND)
    add_job(engine, created_at=T0 + 2 * SECOND)  # submitted: never stale
    assert claim(engine) and claim(engine)
    with engine.begin() as conn:
        runs_repo.heartbeat(conn, [alive, stale], "w2", T0 + 90 * SECOND)  # not w2's
        runs_repo.heartbeat(conn, [alive], "w1", T0 + 60 * SECOND)
        found = runs_repo.stale(conn, older_than=T0 + 30 * SECOND)
    assert [record.id for record in found] == [stale]
    assert get(engine, alive).heartbeat_at == T0 + 60 * SECOND


def test_count_active(engine: sa.Engine) -> None:
    stateless = [add_job(engine, created_at=T0 + n * SECOND) for n in range(3)]
    stateful = add_job(engine, session=("p", "q"), created_at=T0 + 5 * SECOND)
    add_job(engine, tenant="zeta", created_at=T0 + 9 * SECOND)
    assert event(engine, stateless[0], EV.START) == JS.EXECUTING
    assert event(engine, stateless[1], EV.CANCEL) == JS.CANCELLED
    with engine.connect() as conn:
        assert jobs_repo.count_active(conn, "acme", stateful=False) == 2
        assert jobs_repo.count_active(conn, "acme", stateful=True) == 1
        assert jobs_repo.count_active(conn, "nobody", stateful=False) == 0
    assert stateful


def test_last_completed_of_a_session(engine: sa.Engine) -> None:
    older = add_job(engine, session=("p", "q"))
    newer = add_job(engine, session=("p", "q"), incremental_time_ms=5)
    add_job(engine, session=("p", "other"))
    for job_id, finished in ((older, T0), (newer, T0 + SECOND)):
        assert event(engine, job_id, EV.START) == JS.EXECUTING
        with engine.begin() as conn:
            assert runs_repo.apply_event(conn, AQUA, job_id, EV.COMPLETE, at=finished)
    with engine.connect() as conn:
        last = jobs_repo.last_completed(conn, "acme", "p", "q")
        moving = jobs_repo.last_completed(conn, "acme", "p", "q", moving_only=True)
        assert jobs_repo.last_completed(conn, "acme", "p", "other") is None
        assert jobs_repo.last_completed(conn, "zeta", "p", "q") is None
    assert last is not None and last.id == newer
    assert moving is not None and moving.id == older


def test_idempotency_keys(engine: sa.Engine) -> None:
    first, second = add_job(engine), add_job(engine)
    with engine.begin() as conn:
        jobs_repo.record_idempotency(conn, "acme", "key-1", "a" * 64, first, T0)
        assert jobs_repo.find_idempotency(conn, "acme", "key-1", since=T0) == ("a" * 64, first)
        assert jobs_repo.find_idempotency(conn, "acme", "key-1", since=T0 + SECOND) is None
        assert jobs_repo.find_idempotency(conn, "zeta", "key-1", since=T0) is None
        jobs_repo.record_idempotency(conn, "acme", "key-1", "b" * 64, second, T0 + 9 * SECOND)
        found = jobs_repo.find_idempotency(conn, "acme", "key-1", since=T0 + SECOND)
    assert found == ("b" * 64, second)


def test_purge_deletes_old_finished_jobs_with_their_batches(engine: sa.Engine) -> None:
    old_done = add_job(engine, created_at=T0)
    old_active = add_job(engine, created_at=T0)
    new_done = add_job(engine, created_at=T0 + 3600 * SECOND)
    for job_id in (old_done, new_done):
        assert event(engine, job_id, EV.CANCEL) == JS.CANCELLED
    with engine.begin() as conn:
        jobs_repo.record_idempotency(conn, "acme", "k", "a" * 64, old_done, T0)
        assert runs_repo.purge(conn, AQUA, created_before=T0 + 60 * SECOND) == 1
        assert jobs_repo.get_job(conn, "acme", old_done) is None
        assert jobs_repo.find_idempotency(conn, "acme", "k", since=T0) is None
        batch_jobs = conn.execute(sa.select(tables.batches.c.job_id).distinct()).scalars().all()
    assert sorted(batch_jobs) == sorted([old_active, new_done])


def test_list_jobs_newest_first(engine: sa.Engine) -> None:
    made = [add_job(engine, created_at=T0 + n * SECOND, name=None) for n in range(4)]
    add_job(engine, tenant="zeta")
    with engine.connect() as conn:
        listed = jobs_repo.list_jobs(conn, "acme", limit=3)
    assert [record.id for record in listed] == made[::-1][:3]
    assert all(len(record.batches) == 3 and record.name is None for record in listed)
