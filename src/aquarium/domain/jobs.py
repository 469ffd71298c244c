"""The kinds of run and their state machines, as data (ARCHITECTURE.md "State machines").

Each machine here is the only place that says which status may follow which: the AQuA job
(:data:`AQUA_JOB`) with its batches (:data:`AQUA_BATCH`), the Reporting report run
(:data:`REPORT_RUN`) and the Data Query job (:data:`DATA_QUERY`). The store applies an event
as one compare-and-set update (``... set status = :to where id = :id and status in (:from)``);
zero rows updated means the event lost a race and is dropped. Terminal states are sticky:
nothing leaves them. ``domain/runs.py`` says what the roles of a machine mean to the shared
lifecycle.
"""

from __future__ import annotations

import enum

from aquarium.domain import runs


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


class BatchEvent(enum.StrEnum):
    """What can happen to a batch of a stored job."""

    START = "start"  #: its statement begins
    COMPLETE = "complete"  #: its file is published
    FAIL = "fail"  #: its statement failed, or passed the time limit
    CANCEL = "cancel"  #: its job ended (cancelled or aborted) before the batch finished


AQUA_BATCH = runs.Machine[BatchStatus, BatchEvent](
    name="AQuA batch",
    status=BatchStatus,
    transitions={
        BatchEvent.START: runs.Transition(frozenset({BatchStatus.PENDING}), BatchStatus.EXECUTING),
        BatchEvent.COMPLETE: runs.Transition(
            frozenset({BatchStatus.EXECUTING}), BatchStatus.COMPLETED
        ),
        BatchEvent.FAIL: runs.Transition(frozenset({BatchStatus.EXECUTING}), BatchStatus.ABORTED),
        BatchEvent.CANCEL: runs.Transition(
            frozenset({BatchStatus.PENDING, BatchStatus.EXECUTING}), BatchStatus.CANCELLED
        ),
    },
    # deleted_notallowed: a query whose object cannot export deleted rows, at validation.
    entries=frozenset({BatchStatus.PENDING, BatchStatus.DELETED_NOT_ALLOWED}),
    terminal=frozenset(
        {
            BatchStatus.COMPLETED,
            BatchStatus.ABORTED,
            BatchStatus.CANCELLED,
            BatchStatus.DELETED_NOT_ALLOWED,
        }
    ),
    cancel=BatchEvent.CANCEL,
)

AQUA_JOB = runs.RunMachine[JobStatus, JobEvent](
    name="AQuA job",
    kind=runs.Kind.AQUA,
    status=JobStatus,
    transitions={
        JobEvent.START: runs.Transition(frozenset({JobStatus.SUBMITTED}), JobStatus.EXECUTING),
        JobEvent.COMPLETE: runs.Transition(frozenset({JobStatus.EXECUTING}), JobStatus.COMPLETED),
        JobEvent.ABORT: runs.Transition(frozenset({JobStatus.EXECUTING}), JobStatus.ABORTED),
        JobEvent.CANCEL: runs.Transition(ACTIVE, JobStatus.CANCELLED),
        JobEvent.REQUEUE: runs.Transition(ACTIVE, JobStatus.SUBMITTED),
    },
    # error: a submit refused at validation is answered with it and never stored.
    entries=frozenset({JobStatus.SUBMITTED, JobStatus.ERROR}),
    terminal=TERMINAL,
    cancel=JobEvent.CANCEL,
    queued=JobStatus.SUBMITTED,
    executing=frozenset({JobStatus.EXECUTING}),
    start=JobEvent.START,
    requeue=JobEvent.REQUEUE,
    fail=JobEvent.ABORT,
    active=ACTIVE,
    announces_end=True,
    # A job that ends unfinished cancels the batches that had not finished (finished ones keep
    # their files); a requeued job runs every query again in one new snapshot.
    children=runs.Children(
        machine=AQUA_BATCH,  # type: ignore[arg-type]
        follow={JobEvent.CANCEL: BatchEvent.CANCEL, JobEvent.ABORT: BatchEvent.CANCEL},
        renew=JobEvent.REQUEUE,
    ),
)


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


REPORT_RUN = runs.RunMachine[ReportRunStatus, ReportRunEvent](
    name="report run",
    kind=runs.Kind.REPORT,
    status=ReportRunStatus,
    transitions={
        ReportRunEvent.START: runs.Transition(
            frozenset({ReportRunStatus.STARTED}), ReportRunStatus.QUERYDATA
        ),
        ReportRunEvent.PROCESS: runs.Transition(
            frozenset({ReportRunStatus.QUERYDATA}), ReportRunStatus.PROCESSINGDATA
        ),
        ReportRunEvent.COMPLETE: runs.Transition(
            frozenset({ReportRunStatus.PROCESSINGDATA}), ReportRunStatus.COMPLETED
        ),
        ReportRunEvent.FAIL: runs.Transition(REPORT_RUN_EXECUTING, ReportRunStatus.ERROR),
        ReportRunEvent.INVALIDATE: runs.Transition(
            frozenset({ReportRunStatus.STARTED, ReportRunStatus.QUERYDATA}),
            ReportRunStatus.INVALID,
        ),
        ReportRunEvent.CANCEL: runs.Transition(REPORT_RUN_IN_PROGRESS, ReportRunStatus.CANCELLED),
        ReportRunEvent.REQUEUE: runs.Transition(REPORT_RUN_EXECUTING, ReportRunStatus.STARTED),
    },
    entries=frozenset({ReportRunStatus.STARTED}),
    terminal=REPORT_RUN_TERMINAL,
    cancel=ReportRunEvent.CANCEL,
    queued=ReportRunStatus.STARTED,
    executing=REPORT_RUN_EXECUTING,
    start=ReportRunEvent.START,
    requeue=ReportRunEvent.REQUEUE,
    fail=ReportRunEvent.FAIL,
    active=REPORT_RUN_IN_PROGRESS,
)


# -- Data Query jobs (reference dataquery.md section 3.2) ------------------------------------


class DataQueryStatus(enum.StrEnum):
    """A Data Query job's ``queryStatus``, values as on the wire (``cancelled``, double L).

    Zuora's enum also has ``submitted`` (handed to the query service); Aquarium accepts a job
    into its queue in the same transaction as the submit, so no job is ever seen in it.
    """

    ACCEPTED = "accepted"  #: waits for a worker and the tenant's limit of running queries
    IN_PROGRESS = "in_progress"  #: its statement runs
    COMPLETED = "completed"  #: its result file is published (``dataFile``)
    FAILED = "failed"  #: the query was refused or failed (``errorMessage``)
    CANCELLED = "cancelled"  #: stopped by DELETE

    @property
    def terminal(self) -> bool:
        return self in DATA_QUERY_TERMINAL


DATA_QUERY_ACTIVE = frozenset({DataQueryStatus.ACCEPTED, DataQueryStatus.IN_PROGRESS})
DATA_QUERY_TERMINAL = frozenset(
    {DataQueryStatus.COMPLETED, DataQueryStatus.FAILED, DataQueryStatus.CANCELLED}
)


class DataQueryEvent(enum.StrEnum):
    """What can happen to a stored Data Query job."""

    START = "start"  #: a worker claimed it: its statement starts
    COMPLETE = "complete"  #: its file is published
    FAIL = "fail"  #: refused, failed in the engine, too large, or past its time limit
    CANCEL = "cancel"  #: DELETE
    REQUEUE = "requeue"  #: its worker was lost; it waits again with attempt + 1


DATA_QUERY = runs.RunMachine[DataQueryStatus, DataQueryEvent](
    name="Data Query job",
    kind=runs.Kind.DATAQUERY,
    status=DataQueryStatus,
    transitions={
        DataQueryEvent.START: runs.Transition(
            frozenset({DataQueryStatus.ACCEPTED}), DataQueryStatus.IN_PROGRESS
        ),
        DataQueryEvent.COMPLETE: runs.Transition(
            frozenset({DataQueryStatus.IN_PROGRESS}), DataQueryStatus.COMPLETED
        ),
        DataQueryEvent.FAIL: runs.Transition(DATA_QUERY_ACTIVE, DataQueryStatus.FAILED),
        DataQueryEvent.CANCEL: runs.Transition(DATA_QUERY_ACTIVE, DataQueryStatus.CANCELLED),
        DataQueryEvent.REQUEUE: runs.Transition(
            frozenset({DataQueryStatus.IN_PROGRESS}), DataQueryStatus.ACCEPTED
        ),
    },
    entries=frozenset({DataQueryStatus.ACCEPTED}),
    terminal=DATA_QUERY_TERMINAL,
    cancel=DataQueryEvent.CANCEL,
    queued=DataQueryStatus.ACCEPTED,
    executing=frozenset({DataQueryStatus.IN_PROGRESS}),
    start=DataQueryEvent.START,
    requeue=DataQueryEvent.REQUEUE,
    fail=DataQueryEvent.FAIL,
    active=DATA_QUERY_ACTIVE,
)

#: The machine of every kind of run, by kind.
MACHINES: dict[runs.Kind, runs.RunMachine[enum.StrEnum, enum.StrEnum]] = {
    runs.Kind.AQUA: AQUA_JOB,  # type: ignore[dict-item]
    runs.Kind.REPORT: REPORT_RUN,  # type: ignore[dict-item]
    runs.Kind.DATAQUERY: DATA_QUERY,  # type: ignore[dict-item]
}


def machine(kind: runs.Kind | str) -> runs.RunMachine[enum.StrEnum, enum.StrEnum]:
    """The state machine of ``kind``."""
    return MACHINES[runs.Kind(kind)]
