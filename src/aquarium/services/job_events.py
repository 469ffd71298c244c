"""Live job events for the Job Finder: every committed change of a job, per tenant.

:class:`JobEvents` is a :class:`~aquarium.domain.notifier.Notifier`: whoever changes a job tells
it after the commit (runner threads, services). Subscribers are asyncio consumers (the SSE
endpoint); events cross from worker threads into their event loop with
``call_soon_threadsafe``. A slow subscriber loses its oldest events rather than holding memory
or slowing a worker: an event only says "look again", so the next one carries the news.

It sees only the changes made in this process (embedded mode). API nodes of a scale-out
deployment would feed it from the database's notifications.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import threading
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

QUEUE_EVENTS = 1000  # events kept per subscriber before the oldest are dropped


@dataclass(frozen=True)
class JobEvent:
    tenant: str
    job_id: str
    at: dt.datetime


@dataclass
class _Subscriber:
    tenant: str
    loop: asyncio.AbstractEventLoop
    queue: asyncio.Queue[JobEvent]

    def offer(self, event: JobEvent) -> None:
        """Called in the subscriber's loop."""
        if self.queue.full():
            with contextlib.suppress(asyncio.QueueEmpty):
                self.queue.get_nowait()
        self.queue.put_nowait(event)


class JobEvents:
    def __init__(self, now: Callable[[], dt.datetime]) -> None:
        self._now = now
        self._subscribers: list[_Subscriber] = []
        self._lock = threading.Lock()

    def job_changed(self, tenant: str, job_id: str) -> None:
        event = JobEvent(tenant, job_id, self._now())
        with self._lock:
            listening = [s for s in self._subscribers if s.tenant == tenant]
        for subscriber in listening:
            # The loop may have closed while its subscriber was leaving: nobody to tell then.
            with contextlib.suppress(RuntimeError):
                subscriber.loop.call_soon_threadsafe(subscriber.offer, event)

    @contextlib.asynccontextmanager
    async def subscribe(self, tenant: str) -> AsyncIterator[asyncio.Queue[JobEvent]]:
        """A queue of the tenant's job events, from now until the block ends."""
        subscriber = _Subscriber(
            tenant, asyncio.get_running_loop(), asyncio.Queue(maxsize=QUEUE_EVENTS)
        )
        with self._lock:
            self._subscribers.append(subscriber)
        try:
            yield subscriber.queue
        finally:
            with self._lock:
                self._subscribers.remove(subscriber)

    def subscribers(self) -> int:
        with self._lock:
            return len(self._subscribers)
