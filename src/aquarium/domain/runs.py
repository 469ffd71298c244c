"""Runs: the one lifecycle every kind of long-running work shares (ARCHITECTURE.md "One runs
core, several kinds").

A *run* is an AQuA job, a Reporting report run or a Data Query job. Every kind is a
state machine given as data (:class:`Machine`), declared in ``domain/jobs.py``; the store applies
its events by compare-and-set and the runner drives them, neither knowing which kind it holds
beyond what its machine says:

- ``queued``: the status a run waits in until a worker claims it (``start`` moves it on);
- ``executing``: the statuses in which a worker holds it (heartbeats, admission limits, crash
  recovery);
- ``cancel``, ``requeue`` (its worker was lost; it waits again) and ``fail`` (it cannot go on);
- ``children``: a machine of parts that follow the run's events (an AQuA job's batches).

Terminal statuses are sticky: no event leaves them, so a late "completed" never overwrites
"cancelled" and a cancel never overwrites "completed".
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Generic, TypeVar

Status = TypeVar("Status", bound=enum.StrEnum)
Event = TypeVar("Event", bound=enum.StrEnum)


class Kind(enum.StrEnum):
    """What a run is; the value is stored in ``runs.kind`` and shown by Aquarium's job API."""

    AQUA = "aqua"  #: an AQuA job: up to 50 ZOQL queries in one read-only snapshot
    REPORT = "report"  #: a Reporting report run: query, then processing, then results
    DATAQUERY = "dataquery"  #: a Data Query job: one SQL statement, one result file


class StopReason(enum.StrEnum):
    """Why a running run's work is being stopped; set once, the first reason wins."""

    CANCEL = "cancel"  #: a DELETE (recorded in the store first): leave the run as it is
    TIME_LIMIT = "time_limit"  #: it ran past its time limit: the run fails with that reason
    #: the worker is shutting down, or another worker owns the run now: leave it to the store
    SHUTDOWN = "shutdown"


@dataclass(frozen=True)
class Transition(Generic[Status]):
    """An event applies to a run in one of ``allowed_from`` and moves it to ``to``."""

    allowed_from: frozenset[Status]
    to: Status


@dataclass(frozen=True, kw_only=True)
class Machine(Generic[Status, Event]):
    """A state machine as data: which event applies to which statuses and where it leads."""

    name: str
    #: the enum of its statuses (values as stored and on the wire)
    status: type[Status]
    transitions: Mapping[Event, Transition[Status]]
    #: statuses a record may be created in
    entries: frozenset[Status]
    terminal: frozenset[Status]
    #: the event that stops work in progress
    cancel: Event

    @property
    def statuses(self) -> frozenset[Status]:
        """Every status of the machine's enum."""
        return frozenset(self.status)

    def transition(self, event: Event) -> Transition[Status]:
        """The statuses ``event`` may apply to and the status it leads to."""
        return self.transitions[event]

    def can_apply(self, event: Event, current: Status) -> bool:
        """Whether ``event`` would change a record now in ``current`` (pure; the store re-checks
        with a compare-and-set)."""
        return current in self.transitions[event].allowed_from

    def reachable(self) -> frozenset[Status]:
        """The statuses some sequence of events leads to from an entry status."""
        seen: set[Status] = set(self.entries)
        frontier = list(self.entries)
        while frontier:
            current = frontier.pop()
            for transition in self.transitions.values():
                if current in transition.allowed_from and transition.to not in seen:
                    seen.add(transition.to)
                    frontier.append(transition.to)
        return frozenset(seen)


@dataclass(frozen=True)
class Children(Generic[Event]):
    """Parts of a run that follow its events in the same transaction (an AQuA job's batches).

    ``follow`` maps a run event to the event applied to every child it applies to; on ``renew``
    the children are replaced by fresh copies in their entry status (a requeued run starts over:
    its earlier attempt's results are withdrawn).
    """

    machine: Machine[enum.StrEnum, enum.StrEnum]
    follow: Mapping[Event, enum.StrEnum]
    renew: Event


@dataclass(frozen=True, kw_only=True)
class RunMachine(Machine[Status, Event]):
    """The machine of one kind of run, with the roles the shared lifecycle needs."""

    kind: Kind
    #: the status a run waits in until a worker claims it
    queued: Status
    #: statuses in which a worker holds the run (heartbeats, admission limits, recovery)
    executing: frozenset[Status]
    #: a worker claimed it
    start: Event
    #: its worker was lost and attempts are left: it waits again
    requeue: Event
    #: it cannot go on (its worker was lost too often, or its handler failed unexpectedly)
    fail: Event
    #: statuses Aquarium's job API calls "active": waiting or executing
    active: frozenset[Status]
    #: whether a run that ends is announced to its notifyUrl (the notifications outbox)
    announces_end: bool = False
    children: Children[Event] | None = field(default=None)

    def parse(self, value: str) -> Status:
        """The status stored as ``value``."""
        return self.status(value)
