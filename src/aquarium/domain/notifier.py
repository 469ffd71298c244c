"""The Notifier port: "this job changed", told by whoever changed it, after the commit.

Listeners keep derived views fresh (the job-document cache that serves polling, later the live
job events of the Job Finder). :class:`NullNotifier` is for processes with no listeners.
"""

from __future__ import annotations

from typing import Protocol


class Notifier(Protocol):
    def job_changed(self, tenant: str, job_id: str) -> None:
        """Called after a committed change to the job or one of its batches."""
        ...


class NullNotifier:
    def job_changed(self, tenant: str, job_id: str) -> None:
        """Nobody listens."""


class Broadcast:
    """Tells every listener, in order (e.g. the job-document cache, then the live events)."""

    def __init__(self, *listeners: Notifier) -> None:
        self.listeners = listeners

    def job_changed(self, tenant: str, job_id: str) -> None:
        for listener in self.listeners:
            listener.job_changed(tenant, job_id)
