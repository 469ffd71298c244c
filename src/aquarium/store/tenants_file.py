"""The tenants known to a data directory, in ``DATA_DIR/tenants.json``.

A small JSON document ``{"tenants": {name: {"time_zone": ...}}}``, rewritten atomically
(temporary file + rename) so a crash never leaves half a file.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

TENANTS_FILE = "tenants.json"


def _read(data_dir: Path) -> dict[str, Any]:
    path = data_dir / TENANTS_FILE
    if not path.exists():
        return {"tenants": {}}
    document: dict[str, Any] = json.loads(path.read_text("utf-8"))
    document.setdefault("tenants", {})
    return document


def record_tenant(data_dir: Path, tenant: str, *, time_zone: str) -> None:
    """Add or update ``tenant`` with its time zone."""
    data_dir.mkdir(parents=True, exist_ok=True)
    document = _read(data_dir)
    document["tenants"].setdefault(tenant, {})["time_zone"] = time_zone
    fd, temp = tempfile.mkstemp(dir=data_dir, prefix=".tenants-", suffix=".json")
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(document, handle, indent=2, sort_keys=True)
        handle.write("\n")
    os.replace(temp, data_dir / TENANTS_FILE)


def tenant_time_zone(data_dir: Path, tenant: str) -> str | None:
    """The tenant's time zone, or ``None`` when the data directory does not know the tenant."""
    entry = _read(data_dir)["tenants"].get(tenant)
    return None if entry is None else str(entry.get("time_zone"))


def tenant_names(data_dir: Path) -> list[str]:
    """Every tenant recorded in the data directory, sorted."""
    return sorted(_read(data_dir)["tenants"])
