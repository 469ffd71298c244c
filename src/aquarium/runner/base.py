"""The JobRunner port: the in-process runner (embedded) and the job-queue dispatcher of API
nodes (scale-out, ``runner/queue.py``) implement it."""

from __future__ import annotations

from typing import Protocol


class JobRunner(Protocol):
    def start(self) -> None:
        """Begin claiming and running jobs (and recover jobs a previous process left running)."""
        ...

    def stop(self) -> None:
        """Stop claiming; interrupt and requeue what runs; return when workers have exited."""
        ...

    def wake(self, run_id: str | None = None) -> None:
        """Run ``run_id`` was submitted (None: some runs may be able to start): look for work
        now rather than at the next poll."""
        ...

    def cancel(self, job_id: str) -> None:
        """The job was just marked cancelled: interrupt its running statement, if any."""
        ...
