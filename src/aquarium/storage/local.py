"""A local-directory ResultStore: ``<root>/<tenant>/<file id>``; a file being written is
``<root>/<tenant>/.<run id>.<file id>.partial`` (and packaging's ``....partial.csv`` beside
it), so the temporaries of a run whose worker died can be found and removed."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from aquarium.domain import ids

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
        tenant, _, file_id = location.partition("/")
        # Locations are written by publish(); refuse anything else rather than trust it.
        if not tenant or not ids.is_id(file_id) or "/" in tenant or tenant.startswith("."):
            return None
        return self.root / tenant / file_id

    def local_path(self, location: str) -> Path | None:
        path = self._resolve(location)
        return path if path is not None and path.is_file() else None

    def delete(self, location: str) -> None:
        path = self._resolve(location)
        if path is not None:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
