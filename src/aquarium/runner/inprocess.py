"""The embedded runner: N worker threads in the server process, for every kind of run.

Workers claim runs through the store (one compare-and-set claim over every kind, oldest first,
with admission limits and session order) and hand each to its kind's handler
(``runner/handlers.py``). Besides the workers, two threads:

- the watchdog (``runner/watchdog.py``): time limits and repeated interrupts, in memory only;
- the pulse: every :data:`PULSE_S` it asks the store which of its runs it no longer holds (a
  cancel recorded by another process, or a run taken over elsewhere) and stops them, every
  :data:`HEARTBEAT_S` it records that its runs are alive, and every :data:`RECOVER_S` it
  recovers dead workers' runs and removes temporary files no executing run owns.

A cancel made in this process is immediate: the service records it, then calls
:meth:`InProcessRunner.cancel`, which interrupts the statement at once. On start, runs a dead
process left executing are requeued (or failed after :data:`MAX_ATTEMPTS`) and the temporary
files of dead attempts are removed, so nothing stays "executing" and no partial file stays on
disk.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import socket
import threading
from collections.abc import Callable, Mapping

from aquarium import observability
from aquarium.domain import jobs, runs, tenant_clocks
from aquarium.runner import context, handlers, lifecycle, policy, running, watchdog
from aquarium.store import database, runs_repo

POLL_S = 0.5  # seconds between looks for work when nobody calls wake()
PULSE_S = 0.1  # seconds between looks for runs cancelled by another process
HEARTBEAT_S = 5.0  # seconds between heartbeats of running runs
STALE_AFTER_S = 30.0  # a heartbeat older than this means the worker is gone
MAX_ATTEMPTS = 3  # a run whose worker died this often fails, it is not retried
RETRIED_TOO_OFTEN = "The worker running this job stopped; it was retried too often."
INTERNAL = "Internal Server Error."
RECOVER_S = 10.0  # seconds between looks for runs of dead workers (other processes)

log = observability.logger(__name__)


def new_worker_id() -> str:
    """``host:pid:nonce``: unique per runner, and says where to look whether it is alive."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def dead_here(worker: str | None) -> bool:
    """Whether ``worker`` ran in a process of this host that no longer exists (its runs can
    be recovered at once, without waiting for their heartbeat to go stale)."""
    if worker is None:
        return True
    host, pid = socket.gethostname(), None
    if worker.startswith("inprocess-") and worker[len("inprocess-") :].isdigit():
        pid = int(worker[len("inprocess-") :])  # an older release's worker, always local
    else:
        parts = worker.split(":")
        if len(parts) == 3 and parts[1].isdigit():
            host, pid = parts[0], int(parts[1])
    if pid is None or host != socket.gethostname():
        return False
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class InProcessRunner:
    def __init__(
        self,
        ctx: context.ExecutionContext,
        *,
        workers: int | None = None,
        kinds: Mapping[runs.Kind, handlers.KindHandler] | None = None,
        heartbeat_s: float = HEARTBEAT_S,
        stale_after_s: float = STALE_AFTER_S,
    ) -> None:
        self.ctx = ctx
        self.workers = workers if workers is not None else os.cpu_count() or 2
        #: seconds between heartbeats of running runs, and the silence that means a dead worker
        self.heartbeat_s, self.stale_after_s = heartbeat_s, stale_after_s
        self.worker_id = new_worker_id()
        self.handlers = dict(kinds or handlers.default())
        self._wake = threading.Condition()
        # Moves on every wake(): a worker that looked for work before a wake() and found none
        # does not sleep on it (a notify while it was still claiming would otherwise be lost,
        # and the run would wait up to POLL_S).
        self._wakes = 0
        self._stopping = threading.Event()
        self._running: dict[str, running.RunningRun] = {}
        self._running_lock = threading.Lock()
        self._threads: list[threading.Thread] = []
        self._watchdog = watchdog.Watchdog(self.in_progress)
        tenant_clocks.on_advance(ctx.clock, self._hasten)

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        self.recover()
        self.sweep_temporaries()
        for index in range(self.workers):
            self._thread(self._work, f"aquarium-worker-{index}")
        self._thread(self._pulse, "aquarium-pulse")
        self._watchdog.start()

    def _thread(self, target: Callable[[], None], name: str) -> None:
        thread = threading.Thread(target=target, name=name, daemon=True)
        thread.start()
        self._threads.append(thread)

    def stop(self) -> None:
        self._stopping.set()
        self.wake()
        in_progress = self.in_progress()
        for run in in_progress:
            run.stop(runs.StopReason.SHUTDOWN)
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()
        self._watchdog.stop()
        # Whatever was interrupted by the shutdown runs again on the next start.
        for run in in_progress:
            machine = jobs.machine(run.kind)
            if lifecycle.apply(self.ctx, run, machine.requeue, held_by=self.worker_id):
                lifecycle.discard_withdrawn(self.ctx, run.tenant, run.run_id)

    def in_progress(self) -> list[running.RunningRun]:
        with self._running_lock:
            return list(self._running.values())

    def recover(self) -> None:
        """Requeue (or fail) the runs of dead workers: a worker of a process of this host that
        no longer exists, or one whose heartbeat is older than :data:`STALE_AFTER_S`."""
        now = self._now()
        with database.read_only(self.ctx.metadata) as conn:
            held = runs_repo.stale(conn, older_than=now, kinds=self.handlers)
        stale_before = now - dt.timedelta(seconds=self.stale_after_s)
        for found in held:
            if found.worker == self.worker_id:
                continue
            beat = found.heartbeat_at
            if beat is not None and beat >= stale_before and not dead_here(found.worker):
                continue
            self._recover(found)

    def _recover(self, found: runs_repo.RunRecord) -> bool:
        """Requeue (or fail, past :data:`MAX_ATTEMPTS`) a dead worker's run; whether it was
        requeued."""
        machine = jobs.machine(found.kind)
        retry = found.attempt < MAX_ATTEMPTS
        ref = running.RunningRun(found.id, found.tenant, found.kind)
        # A requeued run keeps no message: it is not failing, it is waiting again.
        event = machine.requeue if retry else machine.fail
        message = None if retry else RETRIED_TOO_OFTEN
        status = lifecycle.apply(self.ctx, ref, event, message=message, held_by=found.worker)
        if status is not None:
            lifecycle.discard_withdrawn(self.ctx, found.tenant, found.id)
            log.info("recovered run", run_id=found.id, tenant=found.tenant, action=event.value)
        return status is not None and retry

    def sweep_temporaries(self) -> None:
        """Remove the temporary files of runs no worker executes (dead attempts)."""
        found = self.ctx.results.temporaries()
        if not found:
            return
        with database.read_only(self.ctx.metadata) as conn:
            alive = runs_repo.executing_ids(conn, {run_id for run_id, _ in found if run_id})
        for run_id, path in found:
            if run_id is None or run_id not in alive:
                self.ctx.results.discard(path)
                log.info("removed a dead attempt's temporary file", run_id=run_id, path=str(path))

    def _hasten(self, tenant: str, by: dt.timedelta) -> None:
        """``tenant``'s clock advanced (test control): its runs' time limits come ``by``
        sooner, so a run the advance takes past its limit stops at the watchdog's next look.
        Limits are otherwise real elapsed time: a frozen clock never keeps a run from its."""
        for run in self.in_progress():
            if run.tenant == tenant:
                run.hasten(by.total_seconds())

    def wake(self, run_id: str | None = None) -> None:
        """Look for work now: one idle worker for a new run (``run_id``; the others raced it
        for the claim and slowed it down), every worker otherwise."""
        with self._wake:
            self._wakes += 1
            if run_id is None:
                self._wake.notify_all()
            else:
                self._wake.notify()

    def cancel(self, job_id: str) -> None:
        with self._running_lock:
            found = self._running.get(job_id)
        if found is not None:
            found.stop(runs.StopReason.CANCEL)

    # -- threads --------------------------------------------------------------------------
    def _now(self) -> dt.datetime:
        return self.ctx.clock.now()

    def _claim(self, only: str | None = None) -> tuple[runs_repo.RunRecord, object] | None:
        """The next run any handler here can run (``only`` that one), with its particulars."""
        with self.ctx.metadata.begin() as conn:
            claimed = runs_repo.claim_next(
                conn,
                self.handlers,
                worker=self.worker_id,
                at=self._now(),
                limit=policy.executing_limits(self.ctx.tenant),
                only=only,
            )
            if claimed is None:
                return None
            record = self.handlers[claimed.kind].load(conn, claimed.tenant, claimed.id)
        self.ctx.notifier.job_changed(claimed.tenant, claimed.id)
        observability.JOBS.labels(claimed.kind.value, claimed.status).inc()
        return (claimed, record) if record is not None else None

    def _work(self) -> None:
        while not self._stopping.is_set():
            with self._wake:
                wakes = self._wakes
            try:
                found = self._claim()
            except Exception:
                log.exception("claiming a run failed")
                found = None
            if found is None:
                with self._wake:
                    if self._wakes == wakes:
                        self._wake.wait(POLL_S)
                continue
            self._run(*found)

    def _run(self, claimed: runs_repo.RunRecord, record: object) -> None:
        run = running.RunningRun(claimed.id, claimed.tenant, claimed.kind)
        machine = jobs.machine(claimed.kind)
        with self._running_lock:
            if self._stopping.is_set():
                # Claimed while stop() ran: stop() has already taken its list of runs in
                # progress and would neither interrupt nor requeue this one.
                lifecycle.apply(self.ctx, run, machine.requeue)
                return
            self._running[run.run_id] = run
        observability.RUNNING.inc()
        try:
            self.handlers[claimed.kind].run(self.ctx, record, run)
        except Exception:
            log.exception("run failed unexpectedly", run_id=run.run_id, tenant=run.tenant)
            lifecycle.apply(self.ctx, run, machine.fail, message=INTERNAL)
        finally:
            observability.RUNNING.dec()
            with self._running_lock:
                self._running.pop(run.run_id, None)
            run.finished.set()

    def _pulse(self) -> None:
        ticks = 0
        beat_every = max(round(self.heartbeat_s / PULSE_S), 1)
        # A worker lost is noticed within about stale_after_s, however short it is set.
        recover_every = max(round(min(RECOVER_S, self.stale_after_s / 3) / PULSE_S), 1)
        while not self._stopping.wait(PULSE_S):
            ticks += 1
            try:
                in_progress = {run.run_id: run for run in self.in_progress()}
                if in_progress:
                    self._stop_released(in_progress)
                if in_progress and ticks % beat_every == 0:
                    with self.ctx.metadata.begin() as conn:
                        runs_repo.heartbeat(conn, in_progress, self.worker_id, self._now())
                if ticks % recover_every == 0:
                    self.recover()
                    # A file an engine finished writing after its statement was interrupted
                    # (DuckDB may close a COPY's file late) outlives its run's own discard.
                    self.sweep_temporaries()
            except Exception:
                log.exception("the runner's pulse failed")

    def _stop_released(self, in_progress: Mapping[str, running.RunningRun]) -> None:
        """Stop the runs the store says this worker no longer holds (a cancel recorded by
        another process: the statement is interrupted within about ``PULSE_S``)."""
        with database.read_only(self.ctx.metadata) as conn:
            released = runs_repo.released(conn, in_progress, self.worker_id)
        for run_id, (kind, status, changed_at) in released.items():
            run = in_progress[run_id]
            machine = jobs.machine(kind)
            if status == machine.transition(machine.cancel).to.value:
                # Stamped by the tenant's clock (test control may have moved it), so read by it.
                ago = (self.ctx.now(run.tenant) - changed_at).total_seconds()
                run.stop(runs.StopReason.CANCEL, decided_s_ago=ago)
            else:
                run.stop(runs.StopReason.SHUTDOWN)
