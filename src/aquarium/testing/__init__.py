"""Fakes for tests and demos: a clock you move by hand, runners that record or that you step.

These ship in the package (not under tests/) so that anyone embedding Aquarium can test against
the same ports the product uses.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field

from aquarium.domain import jobs, runs
from aquarium.runner import context, report_execution, running
from aquarium.store import report_runs_repo, runs_repo

Phases = report_execution.Phases


@dataclass
class FakeClock:
    """A Clock that only moves when told to."""

    current: dt.datetime = field(
        default_factory=lambda: dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)
    )
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def now(self) -> dt.datetime:
        with self._lock:
            return self.current

    def advance(self, **delta: float) -> dt.datetime:
        """Move forward by ``timedelta(**delta)``; returns the new now."""
        with self._lock:
            self.current += dt.timedelta(**delta)
            return self.current


@dataclass
class RecordingRunner:
    """A JobRunner that runs nothing by itself: it records wakes and cancels for assertions."""

    wakes: int = 0
    cancelled: list[str] = field(default_factory=list)
    started: bool = False

    def start(self) -> None:
        self.started = True

    def stop(self) -> None:
        self.started = False

    def wake(self, run_id: str | None = None) -> None:
        self.wakes += 1

    def cancel(self, job_id: str) -> None:
        self.cancelled.append(job_id)


class SteppingRunner:
    """A JobRunner that runs report runs only when told, one phase per :meth:`step`.

    It runs nothing by itself (AQuA jobs stay submitted): a test pins a run in any phase by not
    stepping it further, then cancels it, fails its engine, or steps it on. Steps run in the
    caller's thread with the real execution code (``runner/report_execution.py``), engine, store
    and result store of ``ctx``.
    """

    WORKER = "stepping-runner"

    def __init__(self, ctx: context.ExecutionContext) -> None:
        self.ctx = ctx
        self.wakes = 0
        self.cancelled: list[str] = []
        self._runs: dict[str, tuple[running.RunningRun, Phases]] = {}

    def start(self) -> None:
        """Nothing runs until stepped."""

    def stop(self) -> None:
        for run, phases in self._runs.values():
            run.stop(runs.StopReason.SHUTDOWN)
            phases.close()
        self._runs.clear()

    def wake(self, run_id: str | None = None) -> None:
        self.wakes += 1

    def cancel(self, job_id: str) -> None:
        self.cancelled.append(job_id)
        found = self._runs.get(job_id)
        if found is not None:
            found[0].stop(runs.StopReason.CANCEL)

    def step(self, run_id: str) -> jobs.ReportRunStatus | None:
        """Claim the run and plan it (first step: it pauses in QUERYDATA before its query, or
        is INVALID), run its query (then it pauses in PROCESSINGDATA), then finish it.

        Returns the run's stored status after the step (None for an unknown run).
        """
        found = self._runs.get(run_id)
        if found is None:
            with self.ctx.metadata.begin() as conn:
                claimed = runs_repo.claim_next(
                    conn,
                    {runs.Kind.REPORT},
                    worker=self.WORKER,
                    at=self.ctx.clock.now(),
                    only=run_id,
                )
                record = report_runs_repo.get(conn, claimed.tenant, run_id) if claimed else None
            if claimed is not None and record is not None:
                run = running.RunningRun(claimed.id, claimed.tenant, claimed.kind)
                found = (run, report_execution.phases(self.ctx, record, run))
                self._runs[run_id] = found
        if found is not None and next(found[1], None) is None:
            found[0].finished.set()
            del self._runs[run_id]
        return self.status(run_id)

    def status(self, run_id: str) -> jobs.ReportRunStatus | None:
        with self.ctx.metadata.connect() as conn:
            found = runs_repo.status_of(conn, run_id)
        return None if found is None else jobs.ReportRunStatus(found)
