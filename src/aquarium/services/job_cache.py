"""Rendered job documents kept in memory, so polling a job costs no database round trip.

Correct only where every change to jobs reaches this process's :class:`Notifier`: embedded mode
(the runner is in-process), or a scale-out API node while it hears the change feed
(``store/change_feed.py``; :meth:`JobDocumentCache.listening`). A generation counter, bumped by
every change, keeps a slow reader from caching a document older than a change that happened
while it was reading.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from dataclasses import dataclass

MAX_ENTRIES = 10_000


@dataclass(frozen=True)
class CachedDocument:
    tenant: str
    body: bytes


class JobDocumentCache:
    """A bounded LRU of job id -> rendered JSON; also the Notifier that invalidates it."""

    def __init__(self, max_entries: int = MAX_ENTRIES) -> None:
        self._entries: OrderedDict[str, CachedDocument] = OrderedDict()
        self._generation = 0
        self._lock = threading.Lock()
        self._max = max_entries
        self._live = True

    def listening(self, live: bool) -> None:
        """Scale-out: whether changes made by other processes are heard now. While they are
        not, nothing is served from the cache or put in it; either way, what it held is
        dropped (a change may have gone unheard)."""
        with self._lock:
            self._live = live
            self._entries.clear()
            self._generation += 1

    def job_changed(self, tenant: str, job_id: str) -> None:
        with self._lock:
            self._entries.pop(job_id, None)
            self._generation += 1

    def generation(self) -> int:
        """Read before loading a document; pass to :meth:`put`."""
        with self._lock:
            return self._generation

    def get(self, job_id: str) -> CachedDocument | None:
        with self._lock:
            if not self._live:
                return None
            found = self._entries.get(job_id)
            if found is not None:
                self._entries.move_to_end(job_id)
            return found

    def put(self, job_id: str, document: CachedDocument, generation: int) -> None:
        """Store ``document`` unless any job changed since ``generation`` was read."""
        with self._lock:
            if self._generation != generation or not self._live:
                return
            self._entries[job_id] = document
            self._entries.move_to_end(job_id)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)


class NoCache:
    """For API nodes that do not see every change (scale-out): always read the store."""

    def job_changed(self, tenant: str, job_id: str) -> None:
        """Nothing is cached."""

    def generation(self) -> int:
        return 0

    def get(self, job_id: str) -> CachedDocument | None:
        return None

    def put(self, job_id: str, document: CachedDocument, generation: int) -> None:
        """Nothing is cached."""
