"""Scale-out plumbing on a real PostgreSQL: the job queue's deliveries (``runner/queue.py``) and
the change feed between processes (``store/change_feed.py``)."""

from __future__ import annotations

import queue as queue_module
import threading
from collections.abc import Iterator

import psycopg
import pytest
import sqlalchemy as sa

from aquarium.domain import runs
from aquarium.runner import queue
from aquarium.store import change_feed, database, queue_schema
from tests.integration import test_store_jobs as jobs_support
from tests.integration import test_store_migrations as support

pytestmark = pytest.mark.postgres
HEARD_S = 5.0  # generous: a notification normally arrives in milliseconds


@pytest.fixture(scope="module")
def url(pg_dsn: str) -> Iterator[str]:
    with support.pg_database(pg_dsn) as found:
        yield found


@pytest.fixture(scope="module")
def metadata(url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[sa.Engine]:
    engine = database.open_metadata(url, tmp_path_factory.mktemp("queue"))
    yield engine
    engine.dispose()


def _waiting_deliveries(url: str) -> list[str]:
    with psycopg.connect(change_feed.psycopg_dsn(url)) as conn:
        rows = conn.execute(
            "SELECT args->>'run_id' FROM procrastinate_jobs WHERE status = 'todo' ORDER BY id"
        ).fetchall()
    return [str(row[0]) for row in rows]


def test_the_queue_tables_are_made_once(metadata: sa.Engine) -> None:
    made = [queue_schema.ensure(metadata) for _ in range(2)]
    assert made in ([True, False], [False, False])
    assert not queue_schema.ensure(metadata)


def test_a_run_waits_in_the_queue_once_however_often_it_is_delivered(
    metadata: sa.Engine, url: str
) -> None:
    queue_schema.ensure(metadata)
    run_id = jobs_support.add_job(metadata, tenant="deliveries")

    def unlimited(tenant: str, kind: runs.Kind) -> int:
        return 50

    dispatcher = queue.QueueDispatcher(change_feed.psycopg_dsn(url), metadata, unlimited)
    try:
        assert dispatcher.deliver(run_id)
        assert not dispatcher.deliver(run_id)
        dispatcher.wake(run_id)  # what a submit does: no error, no second delivery
        tried: list[str] = []
        deliver = dispatcher.deliver
        dispatcher.deliver = lambda found: bool(tried.append(found)) or deliver(found)  # type: ignore[method-assign]
        # The sweep does not even try: the one waiting run is in the queue already.
        assert dispatcher.deliver_waiting() == 0 and tried == []
        assert _waiting_deliveries(url).count(run_id) == 1
    finally:
        dispatcher.stop()


def test_another_process_hears_a_change_and_the_teller_does_not(
    metadata: sa.Engine, url: str
) -> None:
    heard: queue_module.Queue[tuple[str, str]] = queue_module.Queue()
    gaps: list[bool] = []
    listener = change_feed.ChangeListener(
        url, "listener", lambda tenant, run_id: heard.put((tenant, run_id)), gaps.append
    )
    listener.start()
    try:
        assert listener.listening.wait(HEARD_S)
        change_feed.PgChangeNotifier(metadata, "listener").job_changed("acme", "own")
        change_feed.PgChangeNotifier(metadata, "teller").job_changed("acme", "run-1")
        assert heard.get(timeout=HEARD_S) == ("acme", "run-1")
        assert heard.empty()  # its own announcement was skipped
        assert gaps == [True]
    finally:
        listener.stop()
    assert gaps == [True, False]


def test_a_listener_that_loses_its_connection_says_so_and_listens_again(
    metadata: sa.Engine, url: str
) -> None:
    gaps: list[bool] = []
    again = threading.Event()

    def gap(listening: bool) -> None:
        gaps.append(listening)
        if gaps == [True, False, True]:
            again.set()

    listener = change_feed.ChangeListener(url, "o", lambda tenant, run_id: None, gap)
    listener.start()
    try:
        assert listener.listening.wait(HEARD_S)
        with metadata.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                    "WHERE datname = current_database() AND query LIKE 'LISTEN%'"
                )
            )
        assert again.wait(HEARD_S * 2), gaps
    finally:
        listener.stop()
