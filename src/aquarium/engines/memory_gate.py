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

The budget itself moves between three sizes (:class:`Budget`). A scan keeps every block of the
table it read in DuckDB's buffer pool up to the budget: a plain export of InvoiceItem held 354
MiB of table blocks under a 384MB budget and 140 MiB under 160MB, and a server's RSS is that
plus about 200 MiB. The blocks buy speed only where DuckDB sets the pace: through the server, a
plain CSV export ran at 0.94x DuckDB's own COPY under 384MB and 0.70x under 160MB. A gzip, zip,
segmented or encrypted export is paced by its packager, at about a third of DuckDB's speed
whatever the budget. So the budget is the small ``scan`` size while only plain statements that
a packager paces run, and the ``working`` size otherwise: while a plain statement DuckDB paces
(an unpackaged export) or a bulk write runs, and while nothing runs, when the blocks cached
serve the next statement.

A statement that builds a hash table or a sort (a join, a grouping, a DISTINCT, an ORDER BY:
report queries, Data Query aggregates) gets the third, ``building`` size while it runs, by
default 2GB, Zuora's memory per Data Query. Under 384MB the monthly group-by of InvoiceItem at
scale 50 (3M groups) spilled 323 MiB to disk and took 2.3 s in DuckDB alone; in 1GB it spilled
nothing (1.8 s), and through the server it completed in 2.0 s under 2GB against 2.5 s under
384MB (docs/benchmarks.md). DuckDB frees what it built when the statement ends; the limit
falls back to the largest size still held, or to the working one. Lowering the limit makes
DuckDB evict blocks down to it (15-40 ms after a summary report's or a Data Query aggregate's
GROUP BY): with ``lower_later`` a thread of the budget's own does that, so the job that ended
the statement goes on at once; the next statement to take a size settles it first.
"""

from __future__ import annotations

import collections
import enum
import re
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext

from aquarium.domain import errors

#: Memory a statement needs per output column, measured with DuckDB 2.0 at one thread: 265 KiB
#: for a column of 32-character ids, 470 KiB on average for every field of InvoiceItem and the
#: objects it joins (dates and amounts are formatted in SQL), rounded up.
BYTES_PER_COLUMN = 512 * 1024
HEAD_WAIT_S = 60.0  # seconds the statement at the head of the queue waits for room
POLL_S = 0.05  # seconds between looks at whether a waiting statement was stopped
_SIZE = re.compile(r"\s*([0-9.]+)\s*([KMGT]?)(i?)B\s*", re.IGNORECASE)


def bytes_of(memory_limit: str) -> int:
    """Bytes in a size written DuckDB's way (``152.5 MiB``, ``160MB``); ValueError otherwise."""
    match = _SIZE.fullmatch(memory_limit)
    if match is None:
        raise ValueError(f"not a memory size: {memory_limit!r}")
    base = 1024 if match[3] else 1000
    return int(float(match[1]) * base ** " KMGT".index(match[2].upper() or " "))


def capacity_of(memory_limit: str) -> int:
    """The columns a budget holds, from DuckDB's way of writing it (``152.5 MiB``, ``160MB``)."""
    return max(1, bytes_of(memory_limit) // BYTES_PER_COLUMN)


class Need(enum.IntEnum):
    """The size of the budget a statement runs under (:class:`Budget`), smallest first."""

    SCAN = 0  #: a plain statement a slower reader paces
    WORKING = 1  #: a plain statement DuckDB paces (the blocks it keeps speed it up), a bulk write
    BUILDING = 2  #: a statement that builds a hash table or a sort


class Budget:
    """The engine's memory limit: the size of the largest :class:`Need` that something
    :meth:`held` runs with; ``working`` when nothing does, so that the table blocks the last
    statements read stay cached for the next (a summary report's GROUP BY ran in 223 ms with
    them and 312 ms after the limit had fallen to 160MB). ``apply`` sets a limit and says
    whether it could: lowering one fails while the memory in use cannot be freed down to it;
    the next size up is tried then, and the smaller one again when the next holder comes or
    goes. ``building`` defaults to ``working``.

    ``lower_later``: a limit lowered because a statement ended is lowered on the budget's own
    thread (started on first use, ended by :meth:`close`), not on the ending statement's.
    Raising one, and lowering one for a statement that starts, stay on the caller's thread:
    the statement runs under its size from its first row."""

    def __init__(
        self,
        apply: Callable[[str], bool],
        *,
        scan: str,
        working: str,
        building: str = "",
        lower_later: bool = False,
    ) -> None:
        self.scan = scan  # the gate's capacity is taken from it
        self._sizes = {Need.SCAN: scan, Need.WORKING: working, Need.BUILDING: building or working}
        self._apply = apply
        self._changed = threading.Condition()
        self._holders = dict.fromkeys(Need, 0)
        self._in_force = Need.WORKING  # the engine opens with the working size set
        self._lower_later = lower_later
        self._lowering: threading.Thread | None = None
        self._pending = False  # a lowering waits for the budget's thread
        self._closed = False

    @contextmanager
    def held(self, need: Need = Need.WORKING) -> Iterator[None]:
        """The size ``need`` (or a larger one held beside it) in force while the block runs."""
        with self._changed:
            self._holders[need] += 1
            self._settle()
        try:
            yield
        finally:
            with self._changed:
                self._holders[need] -= 1
                if self._lower_later and self._needed() < self._in_force and not self._closed:
                    self._hand_over()
                else:
                    self._settle()

    def rested(self, timeout: float | None = None) -> bool:
        """Wait until no lowering waits for the budget's thread; whether none does."""
        with self._changed:
            return self._changed.wait_for(lambda: not self._pending, timeout)

    def close(self) -> None:
        """End the budget's thread (a lowering still waiting is dropped: the engine closes)."""
        with self._changed:
            self._closed = True
            self._pending = False
            self._changed.notify_all()
            thread, self._lowering = self._lowering, None
        if thread is not None:
            thread.join()

    def _hand_over(self) -> None:
        """Let the budget's thread lower the limit (the lock held)."""
        self._pending = True
        if self._lowering is None:
            self._lowering = threading.Thread(
                target=self._lower, name="aquarium-memory-limit", daemon=True
            )
            self._lowering.start()
        self._changed.notify_all()

    def _lower(self) -> None:
        with self._changed:
            while not self._closed:
                if self._pending:
                    self._settle()
                else:
                    self._changed.wait()

    def _needed(self) -> Need:
        held = [need for need, count in self._holders.items() if count]
        return max(held) if held else Need.WORKING

    def _settle(self) -> None:
        """Raise the limit to the size running statements need, or lower it to the smallest
        one they need that can be set (the lock held)."""
        if self._pending:
            self._pending = False
            self._changed.notify_all()  # whoever waits in rested()
        needed = self._needed()
        if needed > self._in_force:
            if self._apply(self._sizes[needed]):
                self._in_force = needed
            return
        for smaller in range(needed, self._in_force):
            if self._apply(self._sizes[Need(smaller)]):
                self._in_force = Need(smaller)
                return


class MemoryGate:
    """Admits statements while their columns fit in ``capacity``; a wider one runs alone."""

    def __init__(self, capacity: int, budget: Budget | None = None) -> None:
        self.capacity = max(1, capacity)
        self.budget = budget
        self._changed = threading.Condition()
        self._used = 0
        self._queue: collections.deque[object] = collections.deque()

    @contextmanager
    def admit(
        self, columns: int, *, stopped: Callable[[], bool], need: Need | None = Need.WORKING
    ) -> Iterator[None]:
        """Hold room for a statement of ``columns`` output columns while it runs; ``stopped``
        says when to give up waiting (:class:`errors.QueryInterrupted`), looked at every
        :data:`POLL_S` and on :meth:`wake`. ``need``: the budget's size it runs under; None (a
        lookup, a DESCRIBE) leaves the limit as it is."""
        ticket = object()
        with self._changed:
            self._queue.append(ticket)
            try:
                taken = self._wait(ticket, min(max(columns, 1), self.capacity), stopped)
            finally:
                self._queue.remove(ticket)
                self._changed.notify_all()
        try:
            with self.holding(need) if need is not None else nullcontext():
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

    def holding(self, need: Need = Need.WORKING) -> AbstractContextManager[None]:
        """The budget's size for ``need`` in force (a bulk write holds the working size without
        a statement's room); nothing happens without a :class:`Budget`."""
        return self.budget.held(need) if self.budget is not None else nullcontext()

    def rested(self, timeout: float | None = None) -> bool:
        """Wait until the budget's limit is the one for what runs now (:meth:`Budget.rested`)."""
        return self.budget.rested(timeout) if self.budget is not None else True

    def close(self) -> None:
        """Stop the budget's thread, if it has one."""
        if self.budget is not None:
            self.budget.close()

    def wake(self) -> None:
        """Let waiting statements look at ``stopped`` now."""
        with self._changed:
            self._changed.notify_all()
