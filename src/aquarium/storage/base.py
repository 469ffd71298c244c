"""The ResultStore port: write under a temporary name, publish atomically, read, delete.

A file is visible only once complete: writers get a temporary path, and :meth:`publish` moves it
to its final name in one step. Partial files of interrupted work are removed with
:meth:`discard`.

Readers either take a local path (:meth:`local_path`: what ``FileResponse`` serves, with
``Range``) or a seekable binary file (:meth:`open`), whichever suits them; a remote store makes a
local copy for the first, streams for the second. A location is ``<tenant>/<file id>``, the same
in every store, so the metadata that records it does not depend on where files live.
"""

from __future__ import annotations

from pathlib import Path
from typing import BinaryIO, Protocol

from aquarium.domain import ids


def split_location(location: str) -> tuple[str, str] | None:
    """The tenant and file id of a location made by ``publish``; None for anything else (a
    location is never trusted to stay inside the store)."""
    tenant, _, file_id = location.partition("/")
    if not tenant or not ids.is_id(file_id) or "/" in tenant or tenant.startswith("."):
        return None
    return tenant, file_id


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

    def open(self, location: str) -> BinaryIO | None:
        """The published file for reading (binary, seekable), or None when it is gone; the
        caller closes it."""
        ...

    def size(self, location: str) -> int | None:
        """The published file's size in bytes, or None when it is gone."""
        ...

    def delete(self, location: str) -> None:
        """Remove a published file (retention ended); a no-op when it is already gone."""
        ...
