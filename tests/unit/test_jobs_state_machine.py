"""The AQuA job state machine as a table (ARCHITECTURE.md "State machines"): pure, no store."""

from __future__ import annotations

import itertools

import pytest

from aquarium.domain import jobs

JS, BS, EV = jobs.JobStatus, jobs.BatchStatus, jobs.JobEvent

# From ARCHITECTURE.md: which statuses each event applies to, and where it leads.
EXPECTED: dict[jobs.JobEvent, tuple[set[jobs.JobStatus], jobs.JobStatus]] = {
    EV.START: ({JS.SUBMITTED}, JS.EXECUTING),
    EV.COMPLETE: ({JS.EXECUTING}, JS.COMPLETED),
    EV.ABORT: ({JS.EXECUTING}, JS.ABORTED),
    EV.CANCEL: ({JS.SUBMITTED, JS.EXECUTING}, JS.CANCELLED),
    EV.REQUEUE: ({JS.SUBMITTED, JS.EXECUTING}, JS.SUBMITTED),
}


def test_every_event_has_a_transition() -> None:
    assert set(jobs.TRANSITIONS) == set(EV)


@pytest.mark.parametrize("event", list(EV))
def test_each_event_applies_to_exactly_its_allowed_statuses(event: jobs.JobEvent) -> None:
    allowed, to = EXPECTED[event]

    assert jobs.transition(event) == jobs.Transition(frozenset(allowed), to)
    for status in JS:
        assert jobs.can_apply(event, status) == (status in allowed), status


def test_terminal_and_active_statuses() -> None:
    assert {s for s in JS if s.terminal} == {JS.COMPLETED, JS.ABORTED, JS.CANCELLED, JS.ERROR}
    assert {JS.SUBMITTED, JS.EXECUTING} == jobs.ACTIVE
    assert jobs.ACTIVE.isdisjoint(jobs.TERMINAL)
    assert set(JS) == jobs.ACTIVE | jobs.TERMINAL


@pytest.mark.parametrize(
    ("status", "event"), list(itertools.product(sorted(jobs.TERMINAL), list(EV)))
)
def test_terminal_states_are_sticky(status: jobs.JobStatus, event: jobs.JobEvent) -> None:
    assert not jobs.can_apply(event, status)


def test_error_is_never_reached_by_an_event() -> None:
    """``error`` is what submit answers for an invalid job; no stored job moves into it."""
    assert all(t.to != JS.ERROR for t in jobs.TRANSITIONS.values())
    assert all(JS.ERROR not in t.allowed_from for t in jobs.TRANSITIONS.values())


def test_a_late_completion_never_overwrites_a_cancel_and_vice_versa() -> None:
    assert not jobs.can_apply(EV.COMPLETE, JS.CANCELLED)
    assert not jobs.can_apply(EV.ABORT, JS.CANCELLED)
    assert not jobs.can_apply(EV.CANCEL, JS.COMPLETED)
    assert not jobs.can_apply(EV.CANCEL, JS.ABORTED)


def test_a_submitted_job_cannot_finish_without_starting() -> None:
    assert not jobs.can_apply(EV.COMPLETE, JS.SUBMITTED)
    assert not jobs.can_apply(EV.ABORT, JS.SUBMITTED)


def test_every_path_from_submitted_ends_in_a_sticky_state() -> None:
    """Walk every sequence of events: each reachable status is active or terminal, and once
    terminal, no event changes it."""
    reachable = {JS.SUBMITTED}
    frontier = [JS.SUBMITTED]
    while frontier:
        current = frontier.pop()
        for event in EV:
            if jobs.can_apply(event, current):
                following = jobs.transition(event).to
                if following not in reachable:
                    reachable.add(following)
                    frontier.append(following)
    assert reachable == {JS.SUBMITTED, JS.EXECUTING, JS.COMPLETED, JS.ABORTED, JS.CANCELLED}


def test_unfinished_batches_of_an_ended_job() -> None:
    assert {BS.PENDING, BS.EXECUTING} == jobs.UNFINISHED_BATCH
    assert jobs.UNFINISHED_BATCHES_BECOME == {
        JS.ABORTED: BS.CANCELLED,
        JS.CANCELLED: BS.CANCELLED,
    }
    # A completed job has no unfinished batches to turn into anything.
    assert JS.COMPLETED not in jobs.UNFINISHED_BATCHES_BECOME


def test_statuses_are_their_wire_values() -> None:
    assert [s.value for s in JS] == [
        "submitted",
        "executing",
        "completed",
        "aborted",
        "cancelled",
        "error",
    ]
    assert [s.value for s in BS] == [
        "pending",
        "executing",
        "completed",
        "aborted",
        "cancelled",
        "deleted_notallowed",
    ]
