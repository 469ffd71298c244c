"""Job statuses and the job state machines (ARCHITECTURE.md "State machines").

Two kinds of job run on the same runner: AQuA jobs (with their batches) and Reporting report
runs. Each kind has one transition table here, the only place that says which status may follow
which. The store applies an
event as one compare-and-set update (``... set status = :to where id = :id and status in
(:from)``); zero rows updated means the event lost a race and is dropped. Terminal states are
sticky: nothing leaves them.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Generic, TypeVar


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


Status = TypeVar("Status", bound=enum.StrEnum)


@dataclass(frozen=True)
class Transition(Generic[Status]):
    allowed_from: frozenset[Status]
    to: Status


TRANSITIONS: dict[JobEvent, Transition[JobStatus]] = {
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


def transition(event: JobEvent) -> Transition[JobStatus]:
    """The statuses ``event`` may apply to and the status it leads to."""
    return TRANSITIONS[event]


def can_apply(event: JobEvent, current: JobStatus) -> bool:
    """Whether ``event`` would change a job now in ``current`` (pure; the store re-checks)."""
    return current in TRANSITIONS[event].allowed_from


# -- report runs (Reporting API, reference reporting.md section 6) ---------------------------


class ReportRunStatus(enum.StrEnum):
    """A report run's status, values as on the wire (``CANCELLED`` with double L: CONTRACT.md)."""

    STARTED = "STARTED"  #: accepted; waits for a worker and the tenant's concurrency limit
    QUERYDATA = "QUERYDATA"  #: the translated query runs in the engine
    PROCESSINGDATA = "PROCESSINGDATA"  #: results are formatted, summarised, pivoted, written
    COMPLETED = "COMPLETED"  #: report data and export are available
    CANCELLED = "CANCELLED"  #: stopped by DELETE while in progress
    ERROR = "ERROR"  #: failed at run time or ran past its time limit (reason in the message)
    INVALID = "INVALID"  #: the definition cannot run (reason in the message)

    @property
    def terminal(self) -> bool:
        return self in REPORT_RUN_TERMINAL


REPORT_RUN_IN_PROGRESS = frozenset(
    {ReportRunStatus.STARTED, ReportRunStatus.QUERYDATA, ReportRunStatus.PROCESSINGDATA}
)
REPORT_RUN_EXECUTING = frozenset({ReportRunStatus.QUERYDATA, ReportRunStatus.PROCESSINGDATA})
REPORT_RUN_TERMINAL = frozenset(
    {
        ReportRunStatus.COMPLETED,
        ReportRunStatus.CANCELLED,
        ReportRunStatus.ERROR,
        ReportRunStatus.INVALID,
    }
)


class ReportRunEvent(enum.StrEnum):
    """What can happen to a stored report run."""

    START = "start"  #: a worker claimed it: its query starts
    PROCESS = "process"  #: the query finished: its rows are being processed
    COMPLETE = "complete"  #: its results are written
    FAIL = "fail"  #: the engine failed, or the run passed its time limit
    INVALIDATE = "invalidate"  #: its definition cannot be turned into a query
    CANCEL = "cancel"  #: DELETE
    REQUEUE = "requeue"  #: its worker was lost; it waits again with attempt + 1


REPORT_RUN_TRANSITIONS: dict[ReportRunEvent, Transition[ReportRunStatus]] = {
    ReportRunEvent.START: Transition(
        frozenset({ReportRunStatus.STARTED}), ReportRunStatus.QUERYDATA
    ),
    ReportRunEvent.PROCESS: Transition(
        frozenset({ReportRunStatus.QUERYDATA}), ReportRunStatus.PROCESSINGDATA
    ),
    ReportRunEvent.COMPLETE: Transition(
        frozenset({ReportRunStatus.PROCESSINGDATA}), ReportRunStatus.COMPLETED
    ),
    ReportRunEvent.FAIL: Transition(REPORT_RUN_EXECUTING, ReportRunStatus.ERROR),
    ReportRunEvent.INVALIDATE: Transition(
        frozenset({ReportRunStatus.STARTED, ReportRunStatus.QUERYDATA}), ReportRunStatus.INVALID
    ),
    ReportRunEvent.CANCEL: Transition(REPORT_RUN_IN_PROGRESS, ReportRunStatus.CANCELLED),
    ReportRunEvent.REQUEUE: Transition(REPORT_RUN_EXECUTING, ReportRunStatus.STARTED),
}


def report_run_transition(event: ReportRunEvent) -> Transition[ReportRunStatus]:
    """The statuses ``event`` may apply to and the status it leads to."""
    return REPORT_RUN_TRANSITIONS[event]
