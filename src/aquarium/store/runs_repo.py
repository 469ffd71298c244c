"""Runs of every kind in the metadata store: the one lifecycle (ARCHITECTURE.md "One runs core").

Plain functions over a ``sqlalchemy.Connection``; the caller owns the transaction
(``with engine.begin() as conn``). Everything here is driven by the kind's state machine
(``domain.jobs.MACHINES``): every status change is one compare-and-set ``UPDATE`` whose
``WHERE`` names the statuses the machine allows, and zero rows updated means the event lost a
race (or met a terminal state) and nothing changes. In the same transaction as a status
change: a kind's children follow it (an AQuA job's batches, ``batches_repo``), a requeued
run's files are withdrawn, and a run that announces its end is queued for its notification.

A kind's particulars (an AQuA job's settings, a report run's definition) are in tables keyed by
the run id, read and written by that kind's repository (``jobs_repo``, ``report_runs_repo``);
removing a run removes them (``ON DELETE CASCADE``).

Lock order, on PostgreSQL: a run row before its children's rows (see ``batches_repo``).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import functools
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import sqlalchemy as sa

from aquarium.domain import jobs, runs
from aquarium.store import batches_repo, files_repo, notifications_repo, tables

R = tables.runs
Kind = runs.Kind
AnyStatus = enum.StrEnum
#: ``limit(tenant, kind)``: how many runs of that kind the tenant may have executing at once
Limit = Callable[[str, runs.Kind], int]
CLAIM_LOCK_PREFIX = "aquarium-claim:"  # + tenant: the key of a tenant's claim lock (PostgreSQL)


@dataclass(frozen=True, kw_only=True)
class NewRun:
    """What every kind knows about a run when it is created."""

    id: str
    tenant: str
    kind: runs.Kind
    name: str | None
    created_by: str | None
    created_at: dt.datetime
    #: runs of one tenant with the same session run one at a time, in arrival order
    session: str | None = None


class Created(Protocol):
    """What every kind's new record says about its run (``jobs_repo.NewJob``, ...)."""

    @property
    def id(self) -> str: ...
    @property
    def tenant(self) -> str: ...
    @property
    def created_by(self) -> str | None: ...
    @property
    def created_at(self) -> dt.datetime: ...


def new_run(
    created: Created, kind: runs.Kind, *, name: str | None, session: str | None = None
) -> NewRun:
    """The shared part of a new run of ``kind`` that ``created`` describes."""
    return NewRun(
        id=created.id,
        tenant=created.tenant,
        kind=kind,
        name=name,
        created_by=created.created_by,
        created_at=created.created_at,
        session=session,
    )


@dataclass(frozen=True, kw_only=True)
class Lifecycle:
    """What happened to a run since it was created: part of every kind's stored record (with
    ``status``, typed by each kind)."""

    updated_at: dt.datetime  #: when its status last changed
    started_at: dt.datetime | None  #: when a worker last claimed it
    finished_at: dt.datetime | None
    attempt: int  #: how many times a worker claimed it
    worker: str | None  #: the worker that holds (or last held) it
    heartbeat_at: dt.datetime | None
    message: str | None  #: why it ended as it did (a failure's reason, a cancel)


@dataclass(frozen=True, kw_only=True)
class RunRecord(NewRun, Lifecycle):
    """One stored run: the columns every kind shares. ``status`` is the kind's wire value."""

    status: str


FIELDS = tuple(f.name for f in dataclasses.fields(RunRecord))
LIFECYCLE = tuple(f.name for f in dataclasses.fields(Lifecycle))


def record(row: sa.RowMapping) -> RunRecord:
    """A run from a row holding the ``runs`` columns."""
    values = {name: row[name] for name in FIELDS}
    values["kind"] = runs.Kind(values["kind"])
    return RunRecord(**values)


def _values(statuses: Collection[AnyStatus]) -> list[str]:
    return sorted(status.value for status in statuses)


def _in(kinds: Collection[runs.Kind], statuses: Callable[[runs.Kind], Collection[AnyStatus]]) -> (
    sa.ColumnElement[bool]
):  # fmt: skip
    """``(kind, status)`` is one of each kind's ``statuses``; false for no kinds."""
    return sa.or_(
        sa.false(),
        *(
            sa.and_(R.c.kind == kind.value, R.c.status.in_(_values(statuses(kind))))
            for kind in sorted(kinds)
        ),
    )


def executing(kinds: Collection[runs.Kind] = tuple(runs.Kind)) -> sa.ColumnElement[bool]:
    """The run is held by a worker (one of its kind's executing statuses)."""
    return _in(kinds, lambda kind: jobs.machine(kind).executing)


def terminal(kinds: Collection[runs.Kind] = tuple(runs.Kind)) -> sa.ColumnElement[bool]:
    """The run has ended (one of its kind's terminal statuses)."""
    return _in(kinds, lambda kind: jobs.machine(kind).terminal)


def active(kinds: Collection[runs.Kind] = tuple(runs.Kind)) -> sa.ColumnElement[bool]:
    """The run waits or executes."""
    return _in(kinds, lambda kind: jobs.machine(kind).active)


# -- create and read ---------------------------------------------------------------------------


def insert(conn: sa.Connection, run: NewRun) -> None:
    """Store a new run, waiting for a worker (its kind's ``queued`` status)."""
    queued = jobs.machine(run.kind).queued
    conn.execute(
        R.insert().values(**dataclasses.asdict(run), status=queued.value, updated_at=run.created_at)
    )


def get(conn: sa.Connection, tenant: str, run_id: str) -> RunRecord | None:
    """The run, or None when it is unknown or another tenant's."""
    row = conn.execute(sa.select(R).where(R.c.id == run_id, R.c.tenant == tenant)).mappings()
    found = row.first()
    return None if found is None else record(found)


def status_of(conn: sa.Connection, run_id: str) -> str | None:
    """The run's stored status (any tenant), or None when there is no such run."""
    found = conn.execute(sa.select(R.c.status).where(R.c.id == run_id)).scalar()
    return None if found is None else str(found)


def count_by_status(conn: sa.Connection, kind: runs.Kind) -> dict[AnyStatus, int]:
    """Runs of ``kind`` of every tenant per status (statuses with no run are absent)."""
    machine = jobs.machine(kind)
    query = (
        sa.select(R.c.status, sa.func.count()).where(R.c.kind == kind.value).group_by(R.c.status)
    )
    return {machine.parse(status): int(n) for status, n in conn.execute(query)}


# -- events ------------------------------------------------------------------------------------


def apply_event(
    conn: sa.Connection,
    kind: runs.Kind,
    run_id: str,
    event: enum.StrEnum,
    *,
    at: dt.datetime,
    message: str | None = None,
    worker: str | None = None,
    held_by: str | None = None,
    guard: sa.ColumnElement[bool] | None = None,
) -> AnyStatus | None:
    """Apply ``event`` to the run if its kind's machine allows it from the current status.

    Returns the new status, or None when the run is unknown, of another kind, or in a status
    the event does not apply to (a lost race, or a terminal state: those are sticky). The
    kind's ``start`` stamps ``started_at``, the heartbeat, ``worker`` and ``attempt + 1``; its
    ``requeue`` forgets the worker and withdraws the files of the attempt; a terminal status
    stamps ``finished_at``. With ``held_by``, the event applies only while that worker holds
    the run; ``guard`` is a further condition on the ``runs`` row.
    """
    machine = jobs.machine(kind)
    transition = machine.transition(event)
    changes: dict[str, object] = {"status": transition.to.value, "updated_at": at}
    if event == machine.start:
        changes |= {"started_at": at, "heartbeat_at": at, "attempt": R.c.attempt + 1}
        changes["worker"] = worker
    elif event == machine.requeue:
        changes |= {"worker": None, "heartbeat_at": None}
    if transition.to in machine.terminal:
        changes["finished_at"] = at
    if message is not None:
        changes["message"] = message
    update = sa.update(R).where(
        R.c.id == run_id,
        R.c.kind == kind.value,
        R.c.status.in_(_values(transition.allowed_from)),
    )
    if held_by is not None:
        update = update.where(R.c.worker == held_by)
    if guard is not None:
        update = update.where(guard)
    if conn.execute(update.values(changes)).rowcount != 1:
        return None
    _consequences(conn, machine, run_id, event, transition.to, at)
    return transition.to


def _consequences(
    conn: sa.Connection,
    machine: runs.RunMachine[AnyStatus, enum.StrEnum],
    run_id: str,
    event: enum.StrEnum,
    to: AnyStatus,
    at: dt.datetime,
) -> None:
    """What follows a status change, in its transaction."""
    if event == machine.requeue:
        # The attempt's results must not survive it: the run starts over in a new snapshot.
        files_repo.withdraw(conn, run_id, at=at)
    children = machine.children
    if children is not None:
        if event in children.follow:
            # The AQuA job's batches are the only children so far (AQUA_JOB.children).
            batches_repo.follow(conn, run_id, jobs.BatchEvent(children.follow[event]), at=at)
        if event == children.renew:
            batches_repo.renew(conn, run_id)
    if machine.announces_end and to in machine.terminal:
        # In the same transaction as the status: a run that asked to be announced is never
        # left unannounced, whichever process ended it (runner/notify.py sends it).
        notifications_repo.enqueue(conn, run_id, to, at=at)


# -- claims and workers ------------------------------------------------------------------------


@functools.cache  # built once: every claim asks for it, and building it took ~0.8 ms
def _session_free() -> sa.ColumnElement[bool]:
    """True for a run that may start now as far as its session is concerned.

    A run with a session waits while a run of that session executes or an older one still
    waits. The second half matters on PostgreSQL: two workers claiming two runs of one session
    at once would each miss the other's uncommitted claim, but the younger run's claim sees the
    older run still waiting and fails.
    """
    other = R.alias("other")
    older = sa.or_(
        other.c.created_at < R.c.created_at,
        sa.and_(other.c.created_at == R.c.created_at, other.c.id < R.c.id),
    )
    waiting_or_running = sa.or_(
        sa.false(),
        *(
            sa.and_(
                other.c.kind == kind.value,
                sa.or_(
                    other.c.status.in_(_values(machine.executing)),
                    sa.and_(other.c.status == machine.queued.value, older),
                ),
            )
            for kind, machine in sorted(jobs.MACHINES.items())
        ),
    )
    blocking = sa.exists().where(
        other.c.tenant == R.c.tenant, other.c.session == R.c.session, waiting_or_running
    )
    return sa.or_(R.c.session.is_(None), ~blocking)


def claim_next(
    conn: sa.Connection,
    kinds: Collection[runs.Kind],
    *,
    worker: str,
    at: dt.datetime,
    limit: Limit | None = None,
    only: str | None = None,
) -> RunRecord | None:
    """Start the oldest claimable waiting run of ``kinds`` for ``worker`` and return it.

    Oldest means by ``created_at``, then id, whatever the kind (so no kind starves another).
    A run is claimable when its session lets it (see :func:`_session_free`) and, with
    ``limit``, while its tenant has fewer than ``limit(tenant, kind)`` runs of its kind
    executing. ``only`` restricts the claim to one run. When another claimer wins a run first,
    the next candidate is tried. None when nothing is claimable.

    On PostgreSQL the limit is exact however many processes claim: a claim takes its tenant's
    claim lock (a transaction advisory lock) and counts the tenant's executing runs again
    under it, so two claims for one tenant never both see the last free slot. A targeted claim
    (``only``) waits for the lock (it takes no other, so no two claims wait for each other);
    a claim of the next run skips a tenant whose lock another claimer holds. SQLite runs one
    write transaction at a time (``BEGIN IMMEDIATE``), which serialises claims already.
    """
    for run_id, tenant, kind in _admissible(conn, kinds, limit, only=only):
        if limit is not None and conn.dialect.name == "postgresql":
            if not _tenant_claim_lock(conn, tenant, wait=only is not None):
                continue
            if _executing_count(conn, tenant, kind) >= limit(tenant, kind):
                continue
        machine = jobs.machine(kind)
        started = apply_event(
            conn, kind, run_id, machine.start, at=at, worker=worker, guard=_session_free()
        )
        if started is not None:
            return get(conn, tenant, run_id)
    return None


def lock_tenant(conn: sa.Connection, tenant: str) -> None:
    """Take the tenant's claim lock until the transaction ends (PostgreSQL; SQLite serialises
    write transactions already): a submit that counts the tenant's runs against a limit and
    then inserts one holds it, so two submits on two nodes never both see the last free
    place."""
    if conn.dialect.name == "postgresql":
        _tenant_claim_lock(conn, tenant, wait=True)


def _tenant_claim_lock(conn: sa.Connection, tenant: str, *, wait: bool) -> bool:
    """Take (or with ``wait=False`` try) the tenant's claim lock until the transaction ends."""
    key = sa.func.hashtextextended(CLAIM_LOCK_PREFIX + tenant, 0)
    if wait:
        conn.execute(sa.select(sa.func.pg_advisory_xact_lock(key)))
        return True
    return bool(conn.execute(sa.select(sa.func.pg_try_advisory_xact_lock(key))).scalar())


def _executing_count(conn: sa.Connection, tenant: str, kind: runs.Kind) -> int:
    query = sa.select(sa.func.count()).where(
        R.c.tenant == tenant, R.c.kind == kind.value, executing({kind})
    )
    return int(conn.execute(query).scalar_one())


def claimable(
    conn: sa.Connection,
    kinds: Collection[runs.Kind],
    *,
    limit: Limit | None = None,
    most: int = 100,
) -> list[str]:
    """The ids of the oldest ``most`` waiting runs of ``kinds`` that :func:`claim_next` would
    start now, oldest first, without starting any (scale-out hands each to the job queue).
    Each tenant's free slots are counted down, so no more are listed than may run."""
    found: list[str] = []
    taken: dict[tuple[str, str], int] = {}
    for run_id, tenant, kind in _admissible(conn, kinds, limit, taken=taken):
        found.append(run_id)
        taken[(tenant, kind.value)] = taken.get((tenant, kind.value), 0) + 1
        if len(found) >= most:
            break
    return found


def _admissible(
    conn: sa.Connection,
    kinds: Collection[runs.Kind],
    limit: Limit | None,
    *,
    only: str | None = None,
    taken: Mapping[tuple[str, str], int] | None = None,
) -> Iterator[tuple[str, str, runs.Kind]]:
    """Waiting runs whose session lets them start and whose tenant is under ``limit`` for
    their kind (counting ``taken`` runs as executing too), oldest first."""
    waiting = _in(kinds, lambda kind: {jobs.machine(kind).queued})
    query = sa.select(R.c.id, R.c.tenant, R.c.kind).where(waiting, _session_free())
    if only is not None:
        query = query.where(R.c.id == only)
    candidates = conn.execute(query.order_by(R.c.created_at, R.c.id)).all()
    running: dict[tuple[str, str], int] | None = None
    for run_id, tenant, kind_value in candidates:
        kind = runs.Kind(kind_value)
        if limit is not None:
            if running is None:
                running = _executing_per_tenant(conn)
            busy = running.get((tenant, kind.value), 0) + (taken or {}).get((tenant, kind.value), 0)
            if busy >= limit(tenant, kind):
                continue
        yield run_id, tenant, kind


def _executing_per_tenant(conn: sa.Connection) -> dict[tuple[str, str], int]:
    query = (
        sa.select(R.c.tenant, R.c.kind, sa.func.count())
        .where(executing())
        .group_by(R.c.tenant, R.c.kind)
    )
    return {(tenant, kind): int(count) for tenant, kind, count in conn.execute(query)}


def heartbeat(conn: sa.Connection, run_ids: Collection[str], worker: str, at: dt.datetime) -> None:
    """Record that ``worker`` still runs ``run_ids`` (those it no longer holds are left alone)."""
    if not run_ids:
        return
    update = sa.update(R).where(R.c.id.in_(list(run_ids)), R.c.worker == worker, executing())
    conn.execute(update.values(heartbeat_at=at))


def released(
    conn: sa.Connection, run_ids: Collection[str], worker: str
) -> dict[str, tuple[runs.Kind, str, dt.datetime]]:
    """Those of ``run_ids`` that ``worker`` no longer holds, with their kind, status and when
    that status was set: another process cancelled them (or ended or requeued them). The
    runner stops their work."""
    if not run_ids:
        return {}
    held = sa.and_(R.c.worker == worker, executing())
    query = sa.select(R.c.id, R.c.kind, R.c.status, R.c.updated_at).where(
        R.c.id.in_(list(run_ids)), ~held
    )
    return {
        row.id: (runs.Kind(row.kind), str(row.status), row.updated_at)
        for row in conn.execute(query)
    }


def stale(
    conn: sa.Connection,
    *,
    older_than: dt.datetime,
    kinds: Collection[runs.Kind] = tuple(runs.Kind),
) -> list[RunRecord]:
    """Executing runs whose worker has not sent a heartbeat since ``older_than``, oldest
    first."""
    query = sa.select(R).where(
        executing(kinds), sa.or_(R.c.heartbeat_at.is_(None), R.c.heartbeat_at < older_than)
    )
    rows = conn.execute(query.order_by(R.c.created_at, R.c.id)).mappings()
    return [record(row) for row in rows]


def executing_ids(conn: sa.Connection, run_ids: Collection[str]) -> set[str]:
    """Those of ``run_ids`` held by some worker now."""
    if not run_ids:
        return set()
    query = sa.select(R.c.id).where(R.c.id.in_(list(run_ids)), executing())
    return set(conn.execute(query).scalars())


# -- retention ---------------------------------------------------------------------------------


def purge(
    conn: sa.Connection,
    kind: runs.Kind,
    *,
    created_before: dt.datetime,
    tenant: str | None = None,
    except_tenants: Sequence[str] = (),
) -> int:
    """Delete finished runs of ``kind`` created before ``created_before``, of ``tenant`` (None:
    of every tenant not in ``except_tenants``), with everything keyed by them; how many went.
    Result files are the sweeper's business (files carry their own expiry)."""
    doomed = sa.and_(
        R.c.kind == kind.value,
        terminal({kind}),
        R.c.created_at < created_before,
        R.c.tenant == tenant if tenant is not None else R.c.tenant.not_in(list(except_tenants)),
    )
    return conn.execute(sa.delete(R).where(doomed)).rowcount
