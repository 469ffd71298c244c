"""AQuA job and batch statuses, and the job state machine (ARCHITECTURE.md "State machines").

This table is the only place that says which status may follow which. The store applies an
event as one compare-and-set update (``... set status = :to where id = :id and status in
(:from)``); zero rows updated means the event lost a race and is dropped. Terminal states are
sticky: nothing leaves them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


class JobStatus(enum.StrEnum):
    """A job's status, values as on the wire."""

    SUBMITTED = "submitted"  #: accepted, waiting for a worker
    EXECUTING = "executing"  #: a worker runs its queries
    COMPLETED = "completed"  #: every query succeeded
    ABORTED = "aborted"  #: a query failed at run time (reason in that batch's message)
    CANCELLED = "cancelled"  #: stopped by DELETE
    ERROR = "error"  #: failed validation; never stored as a runnable job

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


class BatchStatus(enum.StrEnum):
    """A batch's (query's) status, values as on the wire."""

    PENDING = "pending"  #: waiting for its turn
    EXECUTING = "executing"  #: its statement runs now
    COMPLETED = "completed"  #: its file is published
    ABORTED = "aborted"  #: it failed, or the job failed before it ran
    CANCELLED = "cancelled"  #: the job was cancelled before or while it ran
    DELETED_NOT_ALLOWED = "deleted_notallowed"  #: its object cannot export deleted rows


TERMINAL = frozenset({JobStatus.COMPLETED, JobStatus.ABORTED, JobStatus.CANCELLED, JobStatus.ERROR})
ACTIVE = frozenset({JobStatus.SUBMITTED, JobStatus.EXECUTING})


class JobEvent(enum.StrEnum):
    """What can happen to a stored job."""

    START = "start"  #: a worker claimed it
    COMPLETE = "complete"  #: its last batch completed
    ABORT = "abort"  #: a batch failed at run time, or hit the time limit
    CANCEL = "cancel"  #: DELETE
    REQUEUE = "requeue"  #: its worker was lost; it runs again with attempt + 1


@dataclass(frozen=True)
class Transition:
    allowed_from: frozenset[JobStatus]
    to: JobStatus


TRANSITIONS: dict[JobEvent, Transition] = {
    JobEvent.START: Transition(frozenset({JobStatus.SUBMITTED}), JobStatus.EXECUTING),
    JobEvent.COMPLETE: Transition(frozenset({JobStatus.EXECUTING}), JobStatus.COMPLETED),
    JobEvent.ABORT: Transition(frozenset({JobStatus.EXECUTING}), JobStatus.ABORTED),
    JobEvent.CANCEL: Transition(ACTIVE, JobStatus.CANCELLED),
    JobEvent.REQUEUE: Transition(ACTIVE, JobStatus.SUBMITTED),
}

# What happens to the batches that have not finished when the job ends this way.
UNFINISHED_BATCHES_BECOME: dict[JobStatus, BatchStatus] = {
    JobStatus.ABORTED: BatchStatus.CANCELLED,
    JobStatus.CANCELLED: BatchStatus.CANCELLED,
}
UNFINISHED_BATCH = frozenset({BatchStatus.PENDING, BatchStatus.EXECUTING})


def transition(event: JobEvent) -> Transition:
    """The statuses ``event`` may apply to and the status it leads to."""
    return TRANSITIONS[event]


def can_apply(event: JobEvent, current: JobStatus) -> bool:
    """Whether ``event`` would change a job now in ``current`` (pure; the store re-checks)."""
    return current in TRANSITIONS[event].allowed_from
