"""The embedded runner: N worker threads in the server process.

Workers claim work through the store (compare-and-set, so it runs once): AQuA jobs
(:mod:`execution`) and report runs (:mod:`report_execution`), taking turns between the two
queues, and keep a heartbeat. A cancel marks the job first (in the service), then
calls :meth:`InProcessRunner.cancel`, which interrupts the engine statement at once.
On start, jobs (and report runs) a previous process left running are requeued (or ended after
``MAX_ATTEMPTS``), so nothing stays "executing" forever.
"""

from __future__ import annotations

import datetime as dt
import os
import threading
import time

import sqlalchemy as sa

from aquarium import observability
from aquarium.domain import jobs, tenancy
from aquarium.runner import execution, report_execution
from aquarium.store import jobs_repo, report_runs_repo

POLL_S = 0.5  # seconds between looks for work when nobody calls wake()
HEARTBEAT_S = 5.0  # seconds between heartbeats of running jobs
STALE_AFTER_S = 30.0  # a heartbeat older than this means the worker is gone
MAX_ATTEMPTS = 3  # a job whose worker died this often is aborted, not retried
CANCEL_POLL_S = 0.05  # seconds between repeated interrupts of a cancelled or stopped job
CANCEL_WATCH_S = 60.0  # seconds such a job is interrupted again until its thread lets go
RETRIED_TOO_OFTEN = "The worker running this job stopped; it was retried too often."
INTERNAL = "Internal Server Error."

log = observability.logger(__name__)
Claimed = jobs_repo.JobRecord | report_runs_repo.ReportRunRecord


class InProcessRunner:
    def __init__(self, ctx: execution.ExecutionContext, *, workers: int | None = None) -> None:
        self.ctx = ctx
        self.workers = workers or os.cpu_count() or 2
        self.worker_id = f"inprocess-{os.getpid()}"
        self._wake = threading.Condition()
        self._stopping = threading.Event()
        self._running: dict[str, execution.RunningJob] = {}
        self._reports: set[str] = set()  # ids in _running that are report runs
        self._reports_first = False  # which queue the next claim looks at first
        self._running_lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    # -- lifecycle ------------------------------------------------------------------------
    def start(self) -> None:
        self.recover()
        for index in range(self.workers):
            thread = threading.Thread(
                target=self._work, name=f"aquarium-worker-{index}", daemon=True
            )
            thread.start()
            self._threads.append(thread)
        beat = threading.Thread(target=self._heartbeat, name="aquarium-heartbeat", daemon=True)
        beat.start()
        self._threads.append(beat)

    def stop(self) -> None:
        self._stopping.set()
        self.wake()
        with self._running_lock:
            running = list(self._running.values())
        for job in running:
            self._interrupt_until_released(job)
        for thread in self._threads:
            thread.join(timeout=10)
        self._threads.clear()
        # Whatever was interrupted by the shutdown runs again on the next start.
        with self.ctx.metadata.begin() as conn:
            for job in running:
                self._requeue(conn, job.job_id)
        for job in running:
            self.ctx.notifier.job_changed(job.tenant, job.job_id)

    def _requeue(self, conn: sa.Connection, job_id: str) -> None:
        if job_id in self._reports:
            event = jobs.ReportRunEvent.REQUEUE
            report_runs_repo.apply_event(conn, job_id, event, at=self._now())
        else:
            jobs_repo.apply_event(conn, job_id, jobs.JobEvent.REQUEUE, at=self._now())

    def recover(self) -> None:
        """Requeue (or abort) the jobs a dead process left executing."""
        recovered: list[jobs_repo.JobRecord] = []
        with self.ctx.metadata.begin() as conn:
            for job in jobs_repo.stale_jobs(conn, older_than=self._now()):
                if job.worker == self.worker_id and job.id in self._running:
                    continue
                retry = job.attempt < MAX_ATTEMPTS
                event = jobs.JobEvent.REQUEUE if retry else jobs.JobEvent.ABORT
                # A requeued job keeps no message: it is not failing, it is waiting again.
                message = None if retry else RETRIED_TOO_OFTEN
                jobs_repo.apply_event(conn, job.id, event, at=self._now(), message=message)
                log.info("recovered job", job_id=job.id, tenant=job.tenant, action=event.value)
                recovered.append(job)
        for job in recovered:
            self.ctx.notifier.job_changed(job.tenant, job.id)
        self._recover_report_runs()

    def _recover_report_runs(self) -> None:
        recovered: list[report_runs_repo.ReportRunRecord] = []
        with self.ctx.metadata.begin() as conn:
            for found in report_runs_repo.stale_runs(conn, older_than=self._now()):
                if found.id in self._running:
                    continue
                retry = found.attempt < MAX_ATTEMPTS
                event = jobs.ReportRunEvent.REQUEUE if retry else jobs.ReportRunEvent.FAIL
                message = None if retry else RETRIED_TOO_OFTEN
                report_runs_repo.apply_event(conn, found.id, event, at=self._now(), message=message)
                log.info("recovered report run", run_id=found.id, action=event.value)
                recovered.append(found)
        for found in recovered:
            self.ctx.notifier.job_changed(found.tenant, found.id)

    def wake(self) -> None:
        with self._wake:
            self._wake.notify_all()

    def cancel(self, job_id: str) -> None:
        with self._running_lock:
            running = self._running.get(job_id)
        if running is None:
            return
        running.cancel_requested_at = time.perf_counter()
        self._interrupt_until_released(running)

    def _interrupt_until_released(self, running: execution.RunningJob) -> None:
        running.interrupt()
        threading.Thread(
            target=self._keep_interrupting, args=(running,), name="aquarium-cancel", daemon=True
        ).start()

    @staticmethod
    def _keep_interrupting(running: execution.RunningJob) -> None:
        # An engine interrupt only reaches a statement that is running: one that lands while a
        # statement is being started is lost (DuckDB clears the flag when a query begins).
        # Repeat it until the job's thread lets go.
        deadline = time.monotonic() + CANCEL_WATCH_S
        while not running.finished.wait(CANCEL_POLL_S) and time.monotonic() < deadline:
            running.interrupt()

    # -- threads --------------------------------------------------------------------------
    def _now(self) -> dt.datetime:
        return self.ctx.clock.now()

    def _claim(self) -> Claimed | None:
        """The next AQuA job or report run; the two queues take turns at going first."""
        self._reports_first = not self._reports_first
        order = (self._claim_run, self._claim_job)
        for claim in order if self._reports_first else reversed(order):
            found = claim()
            if found is not None:
                self.ctx.notifier.job_changed(found.tenant, found.id)
                return found
        return None

    def _claim_job(self) -> Claimed | None:
        with self.ctx.metadata.begin() as conn:
            return jobs_repo.claim_next(conn, worker=self.worker_id, at=self._now())

    def _claim_run(self) -> Claimed | None:
        with self.ctx.metadata.begin() as conn:
            return report_runs_repo.claim_next(
                conn, worker=self.worker_id, at=self._now(), tenant_limit=self._report_limit
            )

    def _report_limit(self, tenant: str) -> int:
        found = self.ctx.tenant(tenant)
        return (found.limits if found else tenancy.Limits()).max_report_runs

    def _work(self) -> None:
        while not self._stopping.is_set():
            try:
                job = self._claim()
            except Exception:
                log.exception("claiming a job failed")
                job = None
            if job is None:
                with self._wake:
                    self._wake.wait(POLL_S)
                continue
            self._run(job)

    def _run(self, job: Claimed) -> None:
        running = execution.RunningJob(job.id, job.tenant)
        report = isinstance(job, report_runs_repo.ReportRunRecord)
        with self._running_lock:
            if report:
                self._reports.add(job.id)
            if self._stopping.is_set():
                # Claimed while stop() ran: stop() has already taken its list of running jobs
                # and would neither interrupt nor requeue this one.
                with self.ctx.metadata.begin() as conn:
                    self._requeue(conn, job.id)
                self._reports.discard(job.id)
                self.ctx.notifier.job_changed(job.tenant, job.id)
                return
            self._running[job.id] = running
        observability.RUNNING.inc()
        kind = "report" if report else "aqua"
        status = jobs.ReportRunStatus.QUERYDATA if report else jobs.JobStatus.EXECUTING
        observability.JOBS.labels(kind, status.value).inc()
        try:
            if isinstance(job, report_runs_repo.ReportRunRecord):
                report_execution.run(self.ctx, job, running)
            else:
                execution.execute(self.ctx, job, running)
        except Exception:
            log.exception("job failed unexpectedly", job_id=job.id, tenant=job.tenant, kind=kind)
            self._fail(job)
        finally:
            observability.RUNNING.dec()
            with self._running_lock:
                self._running.pop(job.id, None)
                self._reports.discard(job.id)
            running.finished.set()

    def _fail(self, job: Claimed) -> None:
        with self.ctx.metadata.begin() as conn:
            if isinstance(job, report_runs_repo.ReportRunRecord):
                event = jobs.ReportRunEvent.FAIL
                report_runs_repo.apply_event(conn, job.id, event, at=self._now(), message=INTERNAL)
            else:
                jobs_repo.apply_event(
                    conn, job.id, jobs.JobEvent.ABORT, at=self._now(), message=INTERNAL
                )
        self.ctx.notifier.job_changed(job.tenant, job.id)

    def _heartbeat(self) -> None:
        while not self._stopping.wait(HEARTBEAT_S):
            with self._running_lock:
                running = list(self._running)
            if not running:
                continue
            try:
                with self.ctx.metadata.begin() as conn:
                    for job_id in running:
                        repo = report_runs_repo if job_id in self._reports else jobs_repo
                        repo.heartbeat(conn, job_id, self.worker_id, self._now())
            except Exception:
                log.exception("heartbeat failed")
