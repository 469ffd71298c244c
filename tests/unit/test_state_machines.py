"""Every state machine (domain/jobs.py) checked by its properties, not by re-typing its table.

A new kind of run or a new event is covered the moment it is declared: these tests walk every
machine in ``jobs.MACHINES`` and every machine of their children.
"""

from __future__ import annotations

import enum
import itertools

import pytest

from aquarium.domain import jobs, runs

AnyMachine = runs.Machine[enum.StrEnum, enum.StrEnum]
RUN_MACHINES = list(jobs.MACHINES.values())
ALL_MACHINES: list[AnyMachine] = [
    *RUN_MACHINES,
    *(m.children.machine for m in RUN_MACHINES if m.children is not None),
]


def _ids(machines: list[AnyMachine]) -> list[str]:
    return [machine.name for machine in machines]


def test_every_kind_has_its_machine() -> None:
    assert set(jobs.MACHINES) == set(runs.Kind)
    assert all(machine.kind is kind for kind, machine in jobs.MACHINES.items())


@pytest.mark.parametrize("machine", ALL_MACHINES, ids=_ids(ALL_MACHINES))
def test_terminal_states_are_sticky(machine: AnyMachine) -> None:
    for event, status in itertools.product(machine.transitions, machine.terminal):
        assert not machine.can_apply(event, status), (event, status)


@pytest.mark.parametrize("machine", ALL_MACHINES, ids=_ids(ALL_MACHINES))
def test_every_state_is_reachable(machine: AnyMachine) -> None:
    assert machine.reachable() == machine.statuses


@pytest.mark.parametrize("machine", ALL_MACHINES, ids=_ids(ALL_MACHINES))
def test_every_non_terminal_state_can_be_cancelled(machine: AnyMachine) -> None:
    cancel = machine.transition(machine.cancel)
    assert machine.statuses - machine.terminal <= cancel.allowed_from
    assert cancel.to in machine.terminal


@pytest.mark.parametrize("machine", ALL_MACHINES, ids=_ids(ALL_MACHINES))
def test_every_event_leads_somewhere_known(machine: AnyMachine) -> None:
    for transition in machine.transitions.values():
        assert transition.allowed_from, "an event that applies to nothing"
        assert transition.allowed_from | {transition.to} <= machine.statuses
    assert machine.entries <= machine.statuses


@pytest.mark.parametrize("machine", RUN_MACHINES, ids=_ids(RUN_MACHINES))  # type: ignore[arg-type]
def test_lifecycle_roles_fit_together(
    machine: runs.RunMachine[enum.StrEnum, enum.StrEnum],
) -> None:
    start = machine.transition(machine.start)
    requeue = machine.transition(machine.requeue)
    fail = machine.transition(machine.fail)
    assert machine.queued in machine.entries
    assert machine.queued not in machine.terminal
    assert machine.executing and machine.executing.isdisjoint(machine.terminal)
    # A claim takes a waiting run and hands it to a worker.
    assert start.allowed_from == {machine.queued}
    assert start.to in machine.executing
    # A lost worker's run, wherever it had got to, waits again or fails.
    assert machine.executing <= requeue.allowed_from
    assert requeue.to == machine.queued
    assert machine.executing <= fail.allowed_from
    assert fail.to in machine.terminal
    # "Active" in the job API is exactly "not finished".
    assert machine.active == machine.statuses - machine.terminal
    assert machine.active.isdisjoint(machine.terminal)


@pytest.mark.parametrize("machine", RUN_MACHINES, ids=_ids(RUN_MACHINES))  # type: ignore[arg-type]
def test_children_follow_into_their_terminal_states(
    machine: runs.RunMachine[enum.StrEnum, enum.StrEnum],
) -> None:
    children = machine.children
    if children is None:
        return
    for run_event, child_event in children.follow.items():
        assert machine.transition(run_event).to in machine.terminal
        assert children.machine.transition(child_event).to in children.machine.terminal
    assert machine.transition(children.renew).to == machine.queued


def test_what_the_aqua_machines_say_on_the_wire() -> None:
    """The few facts of the tables that clients see (CONTRACT.md "AQuA")."""
    js, bs = jobs.JobStatus, jobs.BatchStatus
    assert jobs.AQUA_JOB.transition(jobs.JobEvent.CANCEL).to is js.CANCELLED
    assert not jobs.AQUA_JOB.can_apply(jobs.JobEvent.CANCEL, js.COMPLETED)
    assert js.ERROR not in jobs.AQUA_JOB.reachable() - jobs.AQUA_JOB.entries
    assert jobs.AQUA_BATCH.transition(jobs.BatchEvent.CANCEL).to is bs.CANCELLED
    assert jobs.REPORT_RUN.transition(jobs.ReportRunEvent.CANCEL).to.value == "CANCELLED"
