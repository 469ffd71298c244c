"""In-memory fakes for unit tests and demos: a clock you move by hand, a runner you step.

These ship in the package (not under tests/) so that anyone embedding Aquarium can test against
the same ports the product uses.
"""

from __future__ import annotations

import datetime as dt
import threading
from dataclasses import dataclass, field


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

    def wake(self) -> None:
        self.wakes += 1

    def cancel(self, job_id: str) -> None:
        self.cancelled.append(job_id)
