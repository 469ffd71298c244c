"""The order of writes and snapshot starts in the embedded engine, and a count of the writes.

A write commits while holding the gate, and a snapshot begins its transaction while holding
it, so every row stamped before a snapshot's instant is committed and visible to it and none
stamped after is (stateful windows rely on this). The gate also counts the writes it let
through: a transaction begun later under the gate, with the count unchanged since a snapshot
began, reads exactly that snapshot's data (``ranged_copy``'s extra cursors).
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class WriteGate:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._writes = 0

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Held while a write commits (or a schema changes); counted as a change even when it
        fails or changes nothing, which only costs a reader its extra cursors."""
        with self._lock:
            try:
                yield
            finally:
                self._writes += 1

    @contextmanager
    def reading(self) -> Iterator[int]:
        """Held while a snapshot begins; gives the count of writes so far."""
        with self._lock:
            yield self._writes
