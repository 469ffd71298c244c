"""The runner of a worker process (scale-out): runs what the job queue delivers.

It is the embedded runner (``runner/inprocess.py``) without claim threads: the same claim, the
same handlers, heartbeats, watchdog, time limits and recovery, with Procrastinate's worker
threads in their place. Each delivery (``runner/queue.py``) claims its run by the one
compare-and-set claim, so limits and session order hold however many workers run. Besides:

- **Cancel**: the change feed (``store/change_feed.py``) announces a cancel recorded on any API
  node; :meth:`QueueWorker.heard` checks at once whether a run it holds was released and stops
  it (the statement is interrupted: PostgreSQL's cancel request). The runner's pulse, which
  reads the same thing every ``PULSE_S``, stays as the fallback for a lost announcement.
- **Crash recovery**: every worker looks for runs whose worker's heartbeat stopped
  (``recover``), requeues them (attempt + 1, up to ``MAX_ATTEMPTS``) and delivers them again.
- **Shutdown** (SIGTERM): running runs are interrupted, requeued and delivered again, so another
  worker starts them over; deliveries that arrive meanwhile are handed back the same way.
"""

from __future__ import annotations

from aquarium.runner import context, inprocess, queue
from aquarium.store import runs_repo


class QueueWorker(inprocess.InProcessRunner):
    def __init__(
        self,
        ctx: context.ExecutionContext,
        dispatcher: queue.QueueDispatcher,
        *,
        heartbeat_s: float = inprocess.HEARTBEAT_S,
        stale_after_s: float = inprocess.STALE_AFTER_S,
    ) -> None:
        super().__init__(ctx, workers=0, heartbeat_s=heartbeat_s, stale_after_s=stale_after_s)
        self.dispatcher = dispatcher

    def start(self) -> None:
        self.dispatcher.start()
        super().start()
        self._thread(self._sweep, "aquarium-sweep")

    def stop(self) -> None:
        held = [run.run_id for run in self.in_progress()]
        super().stop()  # interrupts and requeues them
        for run_id in held:
            self.dispatcher.wake(run_id)
        self.dispatcher.stop()

    def deliver(self, run_id: str) -> None:
        """A delivery of ``run_id`` (in a thread of the queue's worker): claim it and run it
        to its end, or drop the delivery when the run cannot start now."""
        if self._stopping.is_set():
            self.dispatcher.wake(run_id)  # for another worker
            return
        found = self._claim(only=run_id)
        if found is None:
            return
        try:
            self._run(*found)
        finally:
            self.dispatcher.wake()  # a slot or a session came free

    def heard(self, tenant: str, run_id: str) -> None:
        """Another process changed run ``run_id``: stop it if this worker no longer holds it."""
        with self._running_lock:
            run = self._running.get(run_id)
        if run is not None:
            self._stop_released({run_id: run})

    def _recover(self, found: runs_repo.RunRecord) -> bool:
        requeued = super()._recover(found)
        if requeued:
            self.dispatcher.wake(found.id)
        return requeued

    def _sweep(self) -> None:
        while not self._stopping.wait(queue.SWEEP_S):
            self.dispatcher.wake()
