"""Scale-out dispatch: "run X" delivered to worker processes by Procrastinate.

The runs table stays the source of truth: a delivery only says "run X may be waiting"; the
worker that receives it claims X by the same compare-and-set claim as embedded mode, with the
tenant's limits and the session order (``runs_repo.claim_next``). A delivery that finds X not
claimable (started elsewhere, cancelled, over its tenant's limit, behind an older run of its
session) is dropped, and X is delivered again when it may start: each worker, when a run ends
and every :data:`SWEEP_S`, delivers the waiting runs that are claimable now
(:meth:`QueueDispatcher.deliver_waiting`). Procrastinate's queueing lock (the run id) keeps one
delivery per run waiting in the queue, however often it is delivered.

:class:`QueueDispatcher` is the :class:`~aquarium.runner.base.JobRunner` of an API node: a
submit delivers its run; a cancel is recorded in the runs table by the service and announced on
the change feed (``store/change_feed.py``), which the worker running the run hears.
"""

from __future__ import annotations

from collections.abc import Callable, Collection

import procrastinate
import sqlalchemy as sa
from procrastinate import exceptions as queue_errors

from aquarium import observability
from aquarium.domain import runs
from aquarium.store import database, deliveries_repo, runs_repo

QUEUE = "aquarium"  #: the Procrastinate queue every delivery goes to
TASK = "aquarium.run"  #: the task a delivery names; its one argument is ``run_id``
SWEEP_S = 2.0  #: seconds between two deliveries of the claimable waiting runs, per worker
SWEEP_MOST = 200  #: runs delivered by one sweep at most (the oldest claimable ones)
#: seconds a queue connection may stay idle before its pool closes it: every process of a
#: deployment shares the database's connections
IDLE_CLOSE_S = 60.0

log = observability.logger(__name__)


def sync_app(dsn: str) -> procrastinate.App:
    """A Procrastinate app that defers deliveries from ordinary (thread) code."""
    connector = procrastinate.SyncPsycopgConnector(
        conninfo=dsn, min_size=0, max_size=2, max_idle=IDLE_CLOSE_S
    )
    return procrastinate.App(connector=connector)


class QueueDispatcher:
    """Hands runs to the job queue; the JobRunner of API nodes (which run nothing)."""

    def __init__(
        self,
        dsn: str,
        metadata: sa.Engine,
        limit: runs_repo.Limit,
        kinds: Collection[runs.Kind] = tuple(runs.Kind),
    ) -> None:
        self._app = sync_app(dsn)
        self._metadata = metadata
        self._limit = limit
        self._kinds = tuple(kinds)
        self._opened = False

    # -- JobRunner ----------------------------------------------------------------------------
    def start(self) -> None:
        if not self._opened:
            self._app.open()
            self._opened = True

    def stop(self) -> None:
        if self._opened:
            self._app.close()
            self._opened = False

    def wake(self, run_id: str | None = None) -> None:
        """A run was submitted or requeued: deliver it (without an id: every claimable waiting
        run). A failure is logged, never raised: the run is committed, and the workers' sweep
        delivers it within :data:`SWEEP_S`."""
        try:
            if run_id is None:
                self.deliver_waiting()
            else:
                self.deliver(run_id)
        except Exception:
            log.exception("delivering a run to the job queue failed", run_id=run_id)

    def cancel(self, job_id: str) -> None:
        """Nothing to do here: the cancel is in the runs table, and its announcement on the
        change feed reaches the worker running the job."""

    # -- deliveries ---------------------------------------------------------------------------
    def deliver(self, run_id: str) -> bool:
        """Put "run ``run_id``" in the queue; False when a delivery of it already waits."""
        self.start()
        deferrer = self._app.configure_task(TASK, queue=QUEUE, queueing_lock=run_id)
        try:
            deferrer.defer(run_id=run_id)
        except queue_errors.AlreadyEnqueued:
            return False
        return True

    def deliver_waiting(self) -> int:
        """Deliver every waiting run that may start now (oldest first, at most
        :data:`SWEEP_MOST`) and has no delivery in the queue yet; how many that made."""
        with database.read_only(self._metadata) as conn:
            found = runs_repo.claimable(conn, self._kinds, limit=self._limit, most=SWEEP_MOST)
            queued = deliveries_repo.waiting(conn, found)
        return sum(self.deliver(run_id) for run_id in found if run_id not in queued)


def worker_app(dsn: str, deliver: Callable[[str], None]) -> procrastinate.App:
    """The Procrastinate app of a worker process: its one task hands ``run_id`` to
    ``deliver`` (in a thread of its own; the worker's ``concurrency`` says how many at once)."""
    # One connection stays on LISTEN; fetching, heartbeats and finishing deliveries share the
    # rest (a delivery holds none while its run works).
    connector = procrastinate.PsycopgConnector(
        conninfo=dsn, min_size=1, max_size=4, max_idle=IDLE_CLOSE_S
    )
    app = procrastinate.App(connector=connector)

    @app.task(name=TASK, queue=QUEUE)
    def run(run_id: str) -> None:
        deliver(run_id)

    return app
