"""Statements share the engine's memory budget: each is admitted by its width, so that those
running at the same moment fit in it together.

DuckDB's ``memory_limit`` is one budget for every statement of the database at once, and a
running statement holds a batch of 2,048 rows of each of its output columns (several times over
while it formats them): what it needs grows with its columns. A statement that took most of the
budget made the statements beside it fail for lack of memory too (measured: beside a query
selecting 2,000 columns, one run in five of a five-column export failed), and a failed statement
cannot simply run again: the error aborts its transaction, which is its job's snapshot.

So a statement of ``n`` output columns takes ``n`` of the gate's capacity (the budget divided by
:data:`BYTES_PER_COLUMN`) while it runs, and waits while those running leave too little. One wider
than the whole capacity runs alone: if it runs out of memory then, it is the only one that fails.
Waiting is first come, first served, so a wide statement is not passed by narrow ones forever;
but one at the head of the queue waits at most :data:`HEAD_WAIT_S`, then goes in beside those
running, so a statement running for hours cannot hold the engine up behind it.
"""

from __future__ import annotations

import collections
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager

from aquarium.domain import errors

#: Memory a statement needs per output column, measured with DuckDB 2.0 at one thread: 265 KiB
#: for a column of 32-character ids, 470 KiB on average for every field of InvoiceItem and the
#: objects it joins (dates and amounts are formatted in SQL), rounded up.
BYTES_PER_COLUMN = 512 * 1024
HEAD_WAIT_S = 60.0  # seconds the statement at the head of the queue waits for room
POLL_S = 0.05  # seconds between looks at whether a waiting statement was stopped
_SIZE = re.compile(r"\s*([0-9.]+)\s*([KMGT]?)(i?)B\s*", re.IGNORECASE)


def capacity_of(memory_limit: str) -> int:
    """The columns a budget holds, from DuckDB's way of writing it (``152.5 MiB``, ``160MB``)."""
    match = _SIZE.fullmatch(memory_limit)
    if match is None:
        raise ValueError(f"not a memory size: {memory_limit!r}")
    base = 1024 if match[3] else 1000
    size = float(match[1]) * base ** " KMGT".index(match[2].upper() or " ")
    return max(1, int(size // BYTES_PER_COLUMN))


class MemoryGate:
    """Admits statements while their columns fit in ``capacity``; a wider one runs alone."""

    def __init__(self, capacity: int) -> None:
        self.capacity = max(1, capacity)
        self._changed = threading.Condition()
        self._used = 0
        self._queue: collections.deque[object] = collections.deque()

    @contextmanager
    def admit(self, columns: int, *, stopped: Callable[[], bool]) -> Iterator[None]:
        """Hold room for a statement of ``columns`` output columns while it runs; ``stopped``
        says when to give up waiting (:class:`errors.QueryInterrupted`), looked at every
        :data:`POLL_S` and on :meth:`wake`."""
        ticket = object()
        with self._changed:
            self._queue.append(ticket)
            try:
                taken = self._wait(ticket, min(max(columns, 1), self.capacity), stopped)
            finally:
                self._queue.remove(ticket)
                self._changed.notify_all()
        try:
            yield
        finally:
            with self._changed:
                self._used -= taken
                self._changed.notify_all()

    def _wait(self, ticket: object, taken: int, stopped: Callable[[], bool]) -> int:
        """Wait (the lock held) until the statement may go in; the room it takes."""
        deadline: float | None = None
        while True:
            if stopped():
                raise errors.QueryInterrupted("stopped while waiting for the engine")
            if self._queue[0] is ticket:
                if deadline is None:
                    deadline = time.monotonic() + HEAD_WAIT_S
                # Taking the whole capacity, it fits only when nothing else runs: alone.
                if self._used + taken <= self.capacity or time.monotonic() > deadline:
                    self._used += taken
                    return taken
            self._changed.wait(POLL_S)

    @property
    def waiting(self) -> int:
        """How many statements wait to go in."""
        with self._changed:
            return len(self._queue)

    def wake(self) -> None:
        """Let waiting statements look at ``stopped`` now."""
        with self._changed:
            self._changed.notify_all()
