"""One watchdog thread per runner: time limits, and interrupts repeated until they take.

Every :data:`TICK_S` it looks at the runs in progress: a run past its deadline is stopped for
its time limit; a run being stopped (for any reason) is interrupted again until its thread lets
go, because an engine interrupt only reaches a statement that is running: one that lands while
a statement is being started is lost (DuckDB clears the flag when a query begins). It touches
no store and no file, so a slow disk or a busy metadata database never delays an interrupt.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Collection

from aquarium import observability
from aquarium.domain import runs
from aquarium.runner import running

TICK_S = 0.05  # seconds between looks (and between repeated interrupts of a stopping run)
REINTERRUPT_FOR_S = 60.0  # seconds a stopping run is interrupted again until its thread lets go

log = observability.logger(__name__)


class Watchdog:
    """Watches what ``in_progress()`` returns, from :meth:`start` until :meth:`stop`."""

    def __init__(self, in_progress: Callable[[], Collection[running.RunningRun]]) -> None:
        self.in_progress = in_progress
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._watch, name="aquarium-watchdog", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout=5)

    def _watch(self) -> None:
        while not self._stopping.wait(TICK_S):
            try:
                self.look(time.monotonic(), time.perf_counter())
            except Exception:  # the watchdog must outlive any one bad look
                log.exception("watchdog look failed")

    def look(self, now: float, clock: float) -> None:
        """One look at every run in progress (``now``: monotonic; ``clock``: perf_counter)."""
        for run in self.in_progress():
            if run.finished.is_set():
                continue
            reason = run.reason
            if reason is None:
                if run.deadline is not None and now >= run.deadline:
                    log.info("run passed its time limit", run_id=run.run_id)
                    run.stop(runs.StopReason.TIME_LIMIT)
            elif run.stopped_at is not None and clock - run.stopped_at < REINTERRUPT_FOR_S:
                run.interrupt()
