"""A run in progress, as other threads see it: what to interrupt, and why it is stopping.

Every way a run's work is stopped (a cancel, its time limit, the worker shutting down) goes
through :meth:`RunningRun.stop` with a :class:`runs.StopReason`; the first reason wins and is
never replaced, so the run's thread, the watchdog and the runner all read the same answer.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Protocol

from aquarium import observability
from aquarium.domain import runs

log = observability.logger(__name__)


class Interruptible(Protocol):
    def interrupt(self) -> None:
        """Stop the running statement, from any thread."""
        ...


@dataclass
class RunningRun:
    """A claimed run whose thread is working on it.

    ``attach`` names what runs its statements now (an engine snapshot, a processing database);
    ``interrupt`` stops that statement. A stop reason is sticky: besides interrupting the
    statement running now, it keeps the run's thread from beginning another (an engine
    interrupt that lands between two statements is otherwise lost) and ends a :meth:`pause`.
    ``finished`` is set once the run's thread has let go of it.
    """

    run_id: str
    tenant: str
    kind: runs.Kind
    snapshot: Interruptible | None = None
    #: ``time.monotonic()`` after which the watchdog stops the run for its time limit
    deadline: float | None = None
    #: ``time.perf_counter()`` when the stop reason was set (cancel latency is measured from it)
    stopped_at: float | None = None
    _reason: runs.StopReason | None = None
    lock: threading.Lock = field(default_factory=threading.Lock)
    finished: threading.Event = field(default_factory=threading.Event)
    #: set with the stop reason: wakes a run waiting in :meth:`pause`
    _stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def reason(self) -> runs.StopReason | None:
        """Why the run is being stopped, or None while nobody stops it."""
        with self.lock:
            return self._reason

    def attach(self, snapshot: Interruptible | None) -> None:
        """Set (or with None clear) what ``interrupt()`` acts on."""
        with self.lock:
            self.snapshot = snapshot

    def limit(self, seconds: float | None) -> None:
        """Stop the run for its time limit ``seconds`` from now (None: no limit from now on)."""
        with self.lock:
            self.deadline = None if seconds is None else time.monotonic() + seconds

    def hasten(self, seconds: float) -> None:
        """The run's tenant's clock moved ``seconds`` forwards (test control): its time limit
        comes that much sooner, as if the time had passed (none: nothing changes)."""
        with self.lock:
            if self.deadline is not None:
                self.deadline -= seconds

    def stop(self, reason: runs.StopReason, *, decided_s_ago: float = 0.0) -> bool:
        """Stop the run for ``reason`` and interrupt its statement; whether this call set the
        reason (False when another reason came first: that one stands). ``decided_s_ago``: how
        long ago the stop was decided (a cancel recorded by another process), so latencies
        are measured from the decision."""
        with self.lock:
            first = self._reason is None
            if first:
                self._reason = reason
                self.stopped_at = time.perf_counter() - max(decided_s_ago, 0.0)
        self._stopping.set()
        self.interrupt()
        return first

    def pause(self, seconds: float | None) -> None:
        """Wait ``seconds`` (None: until the run is stopped), returning as soon as the run is
        stopped; the caller reads :attr:`reason` next."""
        self._stopping.wait(seconds)

    def interrupt(self) -> None:
        """Interrupt the statement running now, if any (the reason says why)."""
        with self.lock:
            if self.snapshot is None:
                return
            try:
                self.snapshot.interrupt()
            except Exception:
                # Whoever interrupts (a DELETE, the watchdog, shutdown) has already done its
                # part; an engine that cannot interrupt now must not turn that into an error.
                log.exception("interrupting the engine failed", run_id=self.run_id)
