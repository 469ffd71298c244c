"""Test control's reset: save a tenant's data as a named snapshot and restore it (issue 16).

Only on a server started with ``--test-control``, for the tenant's administrators. A snapshot
holds, for the caller's tenant:

- its billing data: a template copy of every table of its DuckDB schema and a spare copy
  (``engines/tenant_copies.py``), both in ``billing.duckdb``;
- its runs: every metadata row its work left (``store/snapshots_repo.py``: runs of every kind,
  batches, notifications, idempotency keys, file rows), in ``runs.json``;
- its result files: hard links to them in ``files/``, so saving copies no byte and a file the
  tenant deletes (or the retention sweep removes) later stays in the snapshot.

Everything but the billing copy lives in ``DATA_DIR/snapshots/<tenant>/<name>/``; the copy in
the DuckDB file. Both survive a restart. Users, OAuth clients, custom-field declarations,
report definitions and settings are not in a snapshot (see ``snapshots_repo``).

A restore puts all three back: billing data in one DuckDB transaction that renames the spare
into place (a job reading the tenant sees the old data or the new, never half; a new spare is
then copied in the background, and the tenant's next snapshot call waits for it), the run rows
in one metadata transaction; runs and
files made after the save are gone (their files deleted), files deleted since are back. Saving
or restoring while a run of the tenant waits or executes is refused (:class:`SnapshotBusy`, HTTP
409): a restore would pull the rows from under a worker, and a saved run caught half-way would
come back as "executing" with no worker. Cancel the runs (or let them end) first.

Embedded deployments only: scale-out keeps billing data in PostgreSQL and may keep files in an
object store, and is refused with a message (HTTP 400).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from aquarium import observability
from aquarium.domain import clock as clock_port
from aquarium.domain import errors, notifier, snapshots, tenancy, tenancy_errors
from aquarium.engines import duckdb_engine
from aquarium.store import snapshots_repo

DIRECTORY = "snapshots"  # under DATA_DIR
DESCRIPTION = "snapshot.json"
RUNS = "runs.json"
FILES = "files"
log = observability.logger(__name__)
SCALE_OUT = (
    "snapshots need the embedded deployment (billing data in DuckDB, result files in a local "
    "directory); this server keeps them elsewhere"
)


@dataclass
class TenantSnapshots:
    """Save, list, restore and remove the snapshots of a tenant (see the module docstring)."""

    metadata: sa.Engine
    #: the embedded engine; ``None``: scale-out, where every call is refused
    engine: duckdb_engine.DuckDbEngine | None
    #: the local results directory; ``None``: files live elsewhere (refused too)
    results_root: Path | None
    #: ``DATA_DIR/snapshots``
    root: Path
    clock: clock_port.Clock
    #: told of every run a restore brings back or takes away (job caches, live events)
    changes: notifier.Notifier
    #: gives the tenant's schema the columns of custom fields declared after a save
    reconcile: Callable[[str], None] = lambda tenant: None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    #: the spare copies being made after a restore, by tenant (see ``engines/tenant_copies``)
    _spares: dict[str, threading.Thread] = field(default_factory=dict)

    @staticmethod
    def admin_tenant(caller: tenancy.Principal) -> str:
        """The caller's tenant; :class:`tenancy_errors.AdminRequired` unless an administrator."""
        if not caller.admin:
            raise tenancy_errors.AdminRequired("snapshots are for administrators")
        return caller.tenant

    def _supported(self) -> tuple[duckdb_engine.DuckDbEngine, Path]:
        if self.engine is None or self.results_root is None:
            raise errors.InvalidControlRequest(SCALE_OUT)
        return self.engine, self.results_root

    def _directory(self, tenant: str, name: str) -> Path:
        return self.root / tenant / snapshots.check_name(name)

    # -- save -------------------------------------------------------------------------------------
    def save(self, tenant: str, payload: object) -> dict[str, Any]:
        """Save the tenant as ``payload["name"]``, replacing a snapshot of that name; its
        listing entry."""
        if not isinstance(payload, dict):
            raise errors.InvalidControlRequest("the body must be a JSON object")
        unknown = sorted(set(payload) - {"name"})
        if unknown:
            raise errors.InvalidControlRequest(
                f"a snapshot takes no {', '.join(map(repr, unknown))}"
            )
        if "name" not in payload:
            raise errors.InvalidControlRequest("'name' is required")
        name = snapshots.check_name(payload["name"])
        engine, results = self._supported()
        if not engine.has_tenant(tenant):
            raise errors.InvalidControlRequest(
                f"tenant {tenant!r} has no billing data to save; generate or load it first"
            )
        with self._idle(tenant):
            with self.metadata.begin() as conn:
                _refuse_busy(conn, tenant, "saved")
                rows = snapshots_repo.read_rows(conn, tenant)
            final = self._directory(tenant, name)
            building = final.parent / f".{name}.{uuid.uuid4().hex}.partial"
            try:
                (building / FILES).mkdir(parents=True)
                files, size = _link_files(rows, results, building / FILES)
                (building / RUNS).write_text(json.dumps(rows), encoding="utf-8")
                billing_rows = engine.save_copy(tenant, name)
                run_rows = sum(len(found) for found in rows.values())
                described = {
                    "name": name,
                    "created": _iso(self.clock.now()),
                    "rows": billing_rows,
                    "runRows": run_rows,
                    "files": files,
                    "bytes": size,
                }
                (building / DESCRIPTION).write_text(json.dumps(described), encoding="utf-8")
                _replace_directory(building, final)
            finally:
                shutil.rmtree(building, ignore_errors=True)
            return described

    # -- list, remove -----------------------------------------------------------------------------
    def list(self, tenant: str) -> list[dict[str, Any]]:
        """The tenant's snapshots, oldest first: ``name``, ``created``, ``rows`` (billing),
        ``runRows`` (metadata), ``files``, ``bytes``."""
        self._supported()
        found = []
        directory = self.root / tenant
        for path in sorted(directory.glob(f"*/{DESCRIPTION}")) if directory.is_dir() else []:
            found.append(json.loads(path.read_text(encoding="utf-8")))
        return sorted(found, key=lambda one: (one["created"], one["name"]))

    def remove(self, tenant: str, name: str) -> None:
        """Remove a snapshot; :class:`errors.NotFound` when the tenant has none of that name."""
        engine, _ = self._supported()
        with self._idle(tenant):
            directory = self._existing(tenant, name)
            engine.drop_copy(tenant, name)
            shutil.rmtree(directory)

    @contextlib.contextmanager
    def _idle(self, tenant: str) -> Iterator[None]:
        """Held while a snapshot of the tenant is saved, restored or removed: one at a time,
        and after the tenant's spare (made after its last restore) is complete."""
        with self._lock:
            making = self._spares.pop(tenant, None)
            if making is not None:
                making.join()
            yield

    def _make_spare(self, engine: duckdb_engine.DuckDbEngine, tenant: str, name: str) -> None:
        """Copy a new spare of ``name`` in the background; the next call of the tenant waits
        for it (a failure only makes the next restore copy instead of swapping)."""

        def make() -> None:
            try:
                engine.make_spare(tenant, name)
            except Exception:
                log.exception("snapshot spare not made", tenant=tenant, snapshot=name)

        thread = threading.Thread(target=make, name=f"aquarium-spare-{tenant}", daemon=True)
        self._spares[tenant] = thread
        thread.start()

    def _existing(self, tenant: str, name: str) -> Path:
        directory = self._directory(tenant, name)
        if not (directory / DESCRIPTION).is_file():
            raise errors.NotFound(f"no snapshot {name!r}")
        return directory

    # -- restore ----------------------------------------------------------------------------------
    def restore(self, tenant: str, name: str) -> dict[str, Any]:
        """Put the tenant back as it was saved in ``name``; the snapshot's listing entry."""
        engine, results = self._supported()
        with self._idle(tenant):
            directory = self._existing(tenant, name)
            described = json.loads((directory / DESCRIPTION).read_text(encoding="utf-8"))
            rows = json.loads((directory / RUNS).read_text(encoding="utf-8"))
            with self.metadata.begin() as conn:
                _refuse_busy(conn, tenant, "restored")
                before_runs = snapshots_repo.run_ids(conn, tenant)
                before_files = snapshots_repo.file_locations(conn, tenant)
                snapshots_repo.replace_rows(conn, tenant, rows)
                after_files = snapshots_repo.file_locations(conn, tenant)
                _relink_files(directory / FILES, results, after_files)
                swapped = engine.restore_copy(tenant, name)  # a failure rolls the rows back
                after_runs = snapshots_repo.run_ids(conn, tenant)
            if swapped:
                self._make_spare(engine, tenant, name)
            self.reconcile(tenant)
            for file_id, location in before_files.items():
                if after_files.get(file_id) != location:
                    _unlink(results, location)
            for run_id in sorted(before_runs | after_runs):
                self.changes.job_changed(tenant, run_id)
            found: dict[str, Any] = described
            return found


def _refuse_busy(conn: sa.Connection, tenant: str, doing: str) -> None:
    busy = snapshots_repo.unfinished_runs(conn, tenant)
    if busy:
        shown = ", ".join(f"{kind} {run_id} ({status})" for kind, run_id, status in busy[:5])
        more = f" and {len(busy) - 5} more" if len(busy) > 5 else ""
        raise errors.SnapshotBusy(
            f"a snapshot cannot be {doing} while runs wait or execute: {shown}{more}; "
            "cancel them or let them end first"
        )


def _inside(root: Path, location: str) -> Path | None:
    """The file at result store ``location`` (``<tenant>/<file id>``), if it stays in ``root``."""
    parts = location.split("/")
    if len(parts) != 2 or any(part in ("", ".", "..") for part in parts):
        return None
    return root.joinpath(*parts)


def _link_files(rows: snapshots_repo.Rows, results: Path, into: Path) -> tuple[int, int]:
    """Hard-link the tenant's live result files into ``into`` (by file id); how many and their
    bytes. A file already gone from the store (swept) is left out."""
    count = size = 0
    for row in rows.get("files", []):
        source = _inside(results, str(row["path"])) if row["deleted_at"] is None else None
        if source is None:
            continue
        with contextlib.suppress(FileNotFoundError):
            os.link(source, into / str(row["id"]))
            count += 1
            size += source.stat().st_size
    return count, size


def _relink_files(saved: Path, results: Path, locations: dict[str, str]) -> None:
    """Link each saved file back to its location in the result store (replacing whatever is
    there, atomically)."""
    for file_id, location in locations.items():
        source, target = saved / file_id, _inside(results, location)
        if target is None or not source.is_file():
            continue
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.parent / f".{file_id}.{uuid.uuid4().hex}.restoring"
        os.link(source, temporary)
        os.replace(temporary, target)


def _unlink(results: Path, location: str) -> None:
    target = _inside(results, location)
    if target is not None:
        with contextlib.suppress(FileNotFoundError):
            target.unlink()


def _replace_directory(built: Path, final: Path) -> None:
    """Put ``built`` at ``final``, the snapshot of that name before it removed."""
    old = final.parent / f".{final.name}.{uuid.uuid4().hex}.old"
    with contextlib.suppress(FileNotFoundError):
        final.rename(old)
    built.rename(final)
    shutil.rmtree(old, ignore_errors=True)


def _iso(at: dt.datetime) -> str:
    return at.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
