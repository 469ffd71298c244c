"""A local-directory ResultStore: ``<root>/<tenant>/<file id>``; a file being written is
``<root>/<tenant>/.<run id>.<file id>.partial`` (and beside it ``....partial.csv``, the pipe
the engine writes into, and a plain segment or ``.packed`` file being packaged), so the
temporaries of a run whose worker died can be found and removed."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path
from typing import BinaryIO

from aquarium.domain import ids
from aquarium.storage import base

PARTIAL = ".partial"  # the suffix of a file still being written


class LocalResultStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _tenant_dir(self, tenant: str) -> Path:
        directory = self.root / tenant
        directory.mkdir(parents=True, exist_ok=True)
        return directory

    def temporary_path(self, tenant: str, run_id: str, file_id: str) -> Path:
        return self._tenant_dir(tenant) / f".{run_id}.{file_id}{PARTIAL}"

    def temporaries(self) -> list[tuple[str | None, Path]]:
        if not self.root.is_dir():
            return []
        found: list[tuple[str | None, Path]] = []
        for path in sorted(self.root.glob(f"*/.*{PARTIAL}*")):
            run_id = path.name[1:].split(".", 1)[0]
            # ".<file id>.partial" (an older release) names no run.
            written_by = run_id if ids.is_id(run_id) and path.name.count(".") > 2 else None
            found.append((written_by, path))
        return found

    def publish(self, tenant: str, file_id: str, temporary: Path) -> str:
        final = self._tenant_dir(tenant) / file_id
        os.replace(temporary, final)
        return f"{tenant}/{file_id}"

    def discard(self, temporary: Path) -> None:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()

    def _resolve(self, location: str) -> Path | None:
        parts = base.split_location(location)
        return None if parts is None else self.root.joinpath(*parts)

    def local_path(self, location: str) -> Path | None:
        path = self._resolve(location)
        return path if path is not None and path.is_file() else None

    def open(self, location: str) -> BinaryIO | None:
        path = self.local_path(location)
        try:
            return None if path is None else path.open("rb")
        except FileNotFoundError:  # deleted since
            return None

    def size(self, location: str) -> int | None:
        path = self.local_path(location)
        try:
            return None if path is None else path.stat().st_size
        except FileNotFoundError:
            return None

    def delete(self, location: str) -> None:
        path = self._resolve(location)
        if path is not None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
