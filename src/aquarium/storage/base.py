"""The ResultStore port: write under a temporary name, publish atomically, read, delete.

A file is visible only once complete: writers get a temporary path, and :meth:`publish` moves it
to its final name in one step. Partial files of interrupted work are removed with
:meth:`discard`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Protocol


class ResultStore(Protocol):
    def temporary_path(self, tenant: str, run_id: str, file_id: str) -> Path:
        """A fresh local path where run ``run_id`` writes ``file_id`` before it is published."""
        ...

    def temporaries(self) -> list[tuple[str | None, Path]]:
        """Every temporary file left in the store, with the run that wrote it (None when its
        name does not say: written by an older release)."""
        ...

    def publish(self, tenant: str, file_id: str, temporary: Path) -> str:
        """Make the written file visible; returns its location (relative to the store)."""
        ...

    def discard(self, temporary: Path) -> None:
        """Remove a partial file, if it exists."""
        ...

    def local_path(self, location: str) -> Path | None:
        """Where a published file can be read, or None when it is gone."""
        ...

    def delete(self, location: str) -> None:
        """Remove a published file (retention ended); a no-op when it is already gone."""
        ...
