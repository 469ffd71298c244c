"""The notifyUrl outbox: one row per finished job that asked to be announced, and its attempts.

Plain functions over a ``sqlalchemy.Connection``; the caller owns the transaction. A row is
written by :func:`enqueue` in the transaction that ends the job (``runs_repo.apply_event``),
so no ending is missed; the sender (``runner/notify.py``) claims due rows with a compare-and-set on
``next_attempt_at`` (several processes may run a sender; each attempt is made once) and
records every attempt with :func:`record_attempt`.
"""

from __future__ import annotations

import datetime as dt
import enum
from dataclasses import dataclass

import sqlalchemy as sa

from aquarium.domain import jobs
from aquarium.store import tables

N = tables.notifications
A = tables.notification_attempts
AQ = tables.aqua_jobs
R = tables.runs


class State(enum.StrEnum):
    """Where a notification stands."""

    PENDING = "pending"  #: an attempt is due at ``next_attempt_at`` (or one runs now)
    DELIVERED = "delivered"  #: the URL answered 2xx
    FAILED = "failed"  #: every attempt failed
    REFUSED = "refused"  #: the URL's host may not be called (never retried)


@dataclass(frozen=True)
class Due:
    """A notification claimed for its next attempt."""

    job_id: str
    tenant: str
    job_status: jobs.JobStatus
    notify_url: str  #: as submitted, ``${JOBID}``/``${STATUS}`` not yet substituted
    attempt: int  #: 1 for the first attempt


@dataclass(frozen=True)
class Notification:
    job_id: str
    state: State
    attempts: int
    next_attempt_at: dt.datetime | None
    finished_at: dt.datetime | None


@dataclass(frozen=True)
class Attempt:
    attempt: int
    at: dt.datetime
    status_code: int | None  #: the HTTP status, or None when there was no answer
    error: str | None  #: why it failed or was refused; None when delivered


def enqueue(conn: sa.Connection, run_id: str, status: enum.StrEnum, *, at: dt.datetime) -> None:
    """Queue the announcement of ``status`` if the job has a notifyUrl (else do nothing)."""
    source = (
        sa.select(
            R.c.id,
            R.c.tenant,
            AQ.c.notify_url,
            sa.literal(status.value, sa.String()),
            sa.literal(State.PENDING.value, sa.String()),
            sa.literal(0, sa.Integer()),
            sa.literal(at, tables.UtcDateTime()),
            sa.literal(at, tables.UtcDateTime()),
        )
        .join(AQ, AQ.c.run_id == R.c.id)
        .where(R.c.id == run_id, AQ.c.notify_url.is_not(None), AQ.c.notify_url != "")
    )
    columns = ["run_id", "tenant", "url", "run_status", "state", "attempts", "next_attempt_at"]
    conn.execute(sa.insert(N).from_select([*columns, "created_at"], source))


def any_due(conn: sa.Connection, *, now: dt.datetime) -> bool:
    """Whether a pending notification is due at ``now`` (a read: cheap to ask often)."""
    query = sa.select(N.c.run_id).where(
        N.c.state == State.PENDING.value, N.c.next_attempt_at <= now
    )
    return conn.execute(query.limit(1)).first() is not None


def claim_due(
    conn: sa.Connection, *, now: dt.datetime, hold_until: dt.datetime, limit: int
) -> list[Due]:
    """Pending notifications due at ``now``, oldest first, each reserved until ``hold_until``.

    A reservation that lapses (its sender died mid-attempt) makes the row due again.
    """
    query = (
        sa.select(N.c.run_id, N.c.tenant, N.c.run_status, N.c.attempts, N.c.url)
        .where(N.c.state == State.PENDING.value, N.c.next_attempt_at <= now)
        .order_by(N.c.next_attempt_at, N.c.run_id)
        .limit(limit)
    )
    claimed = []
    for row in conn.execute(query).all():
        update = sa.update(N).where(
            N.c.run_id == row.run_id,
            N.c.state == State.PENDING.value,
            N.c.attempts == row.attempts,
            N.c.next_attempt_at <= now,
        )
        if conn.execute(update.values(next_attempt_at=hold_until)).rowcount == 1:
            status = jobs.JobStatus(row.run_status)
            due = Due(row.run_id, row.tenant, status, row.url, row.attempts + 1)
            claimed.append(due)
    return claimed


def record_attempt(
    conn: sa.Connection,
    due: Due,
    *,
    at: dt.datetime,
    status_code: int | None,
    error: str | None,
    state: State,
    next_attempt_at: dt.datetime | None,
) -> None:
    """Store one attempt's outcome and what follows it (``state``, ``next_attempt_at``)."""
    conn.execute(
        A.insert().values(
            run_id=due.job_id, attempt=due.attempt, at=at, status_code=status_code, error=error
        )
    )
    finished = None if state is State.PENDING else at
    conn.execute(
        sa.update(N)
        .where(N.c.run_id == due.job_id)
        .values(
            attempts=due.attempt,
            state=state.value,
            next_attempt_at=next_attempt_at,
            finished_at=finished,
        )
    )


def get(conn: sa.Connection, job_id: str) -> Notification | None:
    """The job's notification, or None when it has none (no notifyUrl, or not finished)."""
    row = conn.execute(sa.select(N).where(N.c.run_id == job_id)).mappings().first()
    if row is None:
        return None
    return Notification(
        job_id=row["run_id"],
        state=State(row["state"]),
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        finished_at=row["finished_at"],
    )


def attempts_of(conn: sa.Connection, job_id: str) -> list[Attempt]:
    """Every attempt to announce the job, in order; empty when there was none."""
    query = sa.select(A).where(A.c.run_id == job_id).order_by(A.c.attempt)
    return [Attempt(row.attempt, row.at, row.status_code, row.error) for row in conn.execute(query)]
