"""The Idempotency-Key of submit: same key and body -> same job; another body -> a conflict."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest

from aquarium.domain import errors
from aquarium.testing import FakeClock
from tests.integration import test_runner_support as support
from tests.integration.test_runner_support import PRINCIPAL, ServerFactory

make_server = support.make_server
billing_file = support.billing_file

CONCURRENT_SUBMITS = 8
ROUNDS = 10


def test_same_key_and_body_answer_the_same_job(make_server: ServerFactory) -> None:
    h = make_server(start=False)
    request = support.body(*support.FAST_QUERIES[:2])

    first = h.aqua.submit(PRINCIPAL, request, "key-1")
    again = h.aqua.submit(PRINCIPAL, dict(reversed(list(request.items()))), "key-1")

    assert again == first
    assert [job.id for job in h.all_jobs()] == [first["id"]]
    other = h.aqua.submit(PRINCIPAL, request, "key-2")
    unkeyed = h.aqua.submit(PRINCIPAL, request)
    assert len({first["id"], other["id"], unkeyed["id"]}) == 3


def test_same_key_with_another_body_is_a_conflict(make_server: ServerFactory) -> None:
    h = make_server(start=False)
    h.aqua.submit(PRINCIPAL, support.body(support.FAST_QUERIES[0]), "key")

    with pytest.raises(errors.IdempotencyConflict) as conflict:
        h.aqua.submit(PRINCIPAL, support.body(support.FAST_QUERIES[1]), "key")

    assert isinstance(conflict.value, errors.MalformedRequest)
    assert len(h.all_jobs()) == 1


def test_a_replay_shows_the_job_as_it_is_now(make_server: ServerFactory) -> None:
    h = make_server(workers=1)
    request = support.body(support.FAST_QUERIES[0])
    first = h.aqua.submit(PRINCIPAL, request, "key")
    h.wait_terminal(first["id"])

    again = h.aqua.submit(PRINCIPAL, request, "key")

    assert again["id"] == first["id"]
    assert again["status"] == support.JS.COMPLETED


def test_a_key_is_forgotten_after_24_hours(make_server: ServerFactory) -> None:
    clock = FakeClock()
    h = make_server(start=False, clock=clock)
    first = h.aqua.submit(PRINCIPAL, support.body(support.FAST_QUERIES[0]), "key")
    clock.advance(hours=24, seconds=1)

    later = h.aqua.submit(PRINCIPAL, support.body(support.FAST_QUERIES[1]), "key")

    assert later["id"] != first["id"]
    assert h.aqua.submit(PRINCIPAL, support.body(support.FAST_QUERIES[1]), "key") == later


def test_concurrent_submissions_with_one_key_make_one_job(make_server: ServerFactory) -> None:
    h = make_server(start=False)
    request = support.body(*support.FAST_QUERIES[:3])
    start = threading.Barrier(CONCURRENT_SUBMITS)

    def submit(key: str) -> str:
        start.wait()
        job_id: str = h.aqua.submit(PRINCIPAL, request, key)["id"]
        return job_id

    with ThreadPoolExecutor(CONCURRENT_SUBMITS) as pool:
        for round_ in range(ROUNDS):
            key = f"shared-{round_}"
            answers = list(pool.map(submit, [key] * CONCURRENT_SUBMITS))
            assert len(set(answers)) == 1, key
    assert len(h.all_jobs()) == ROUNDS
