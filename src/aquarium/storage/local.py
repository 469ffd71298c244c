"""A local-directory ResultStore: ``<root>/<tenant>/<file id>``, partials ``.<id>.partial``."""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from aquarium.domain import ids


class LocalResultStore:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _tenant_dir(self, tenant: str) -> Path:
        directory = self.root / tenant
        directory.mkdir(parents=True, exist_ok=True)
        return directory

    def temporary_path(self, tenant: str, file_id: str) -> Path:
        return self._tenant_dir(tenant) / f".{file_id}.partial"

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
