"""Test control's snapshots (services/tenant_snapshots.py) over real SQLite and DuckDB files: the
refusal while a run waits, and the rows and files a restore puts back and takes away."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import sqlalchemy as sa

from aquarium import datagen
from aquarium.domain import clock, errors, ids, notifier, runs
from aquarium.engines import duckdb_engine, naming
from aquarium.services import tenant_snapshots
from aquarium.store import database, runs_repo
from aquarium.store import tables as t

TENANT = "demo"
NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class _Created:
    id: str
    tenant: str
    created_by: str | None
    created_at: dt.datetime


class _Seen:
    def __init__(self) -> None:
        self.changed: list[str] = []

    def job_changed(self, tenant: str, job_id: str) -> None:
        self.changed.append(job_id)


@pytest.fixture(scope="module")
def generated(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data_dir = tmp_path_factory.mktemp("snapshots") / "generated"
    datagen.generate_into(data_dir, TENANT, scale=0.01, seed=3)
    return data_dir


@pytest.fixture
def service(generated: Path, tmp_path: Path) -> Iterator[tenant_snapshots.TenantSnapshots]:
    for part in (naming.DUCKDB_FILE, "metadata.sqlite3"):
        (tmp_path / part).write_bytes((generated / part).read_bytes())
    metadata = database.open_metadata(None, tmp_path)
    engine = duckdb_engine.DuckDbEngine(tmp_path / naming.DUCKDB_FILE)
    changes: notifier.Notifier = _Seen()
    try:
        yield tenant_snapshots.TenantSnapshots(
            metadata=metadata,
            engine=engine,
            results_root=tmp_path / "results",
            root=tmp_path / "snapshots",
            clock=clock.SystemClock(),
            changes=changes,
        )
    finally:
        engine.close()
        metadata.dispose()


def _run_with_file(service: tenant_snapshots.TenantSnapshots, content: bytes) -> tuple[str, Path]:
    """A waiting AQuA run of the tenant and a file row of it, its bytes in the results dir."""
    run_id, file_id = ids.new_id(), ids.new_id()
    assert service.results_root is not None
    stored = service.results_root / TENANT / file_id
    stored.parent.mkdir(parents=True, exist_ok=True)
    stored.write_bytes(content)
    created = _Created(run_id, TENANT, "demo", NOW)
    with service.metadata.begin() as conn:
        runs_repo.insert(conn, runs_repo.new_run(created, runs.Kind.AQUA, name="x"))
        conn.execute(
            t.files.insert().values(
                id=file_id,
                tenant=TENANT,
                job_id=run_id,
                path=f"{TENANT}/{file_id}",
                size=len(content),
                sha256="0" * 64,
                content_type="text/csv",
                record_count=1,
                created_at=NOW,
                expires_at=NOW + dt.timedelta(days=3),
            )
        )
    return run_id, stored


def _finish(service: tenant_snapshots.TenantSnapshots, run_id: str) -> None:
    with service.metadata.begin() as conn:
        conn.execute(sa.update(t.runs).where(t.runs.c.id == run_id).values(status="completed"))


def _account_count(service: tenant_snapshots.TenantSnapshots) -> int:
    assert service.engine is not None
    with service.engine.read_transaction(TENANT) as statements:
        found = statements.cursor.execute('SELECT count(*) FROM "tenant_demo"."Account"')
        row = found.fetchone()
    assert row is not None
    return int(row[0])


def test_saving_or_restoring_while_a_run_waits_is_refused_naming_it(
    service: tenant_snapshots.TenantSnapshots,
) -> None:
    service.save(TENANT, {"name": "clean"})
    waiting, _ = _run_with_file(service, b"a")

    for attempt in (
        lambda: service.save(TENANT, {"name": "other"}),
        lambda: service.restore(TENANT, "clean"),
    ):
        with pytest.raises(errors.SnapshotBusy) as refused:
            attempt()
        assert waiting in refused.value.reason
    # Nothing changed: the run is still there, no second snapshot was made.
    with service.metadata.connect() as conn:
        assert runs_repo.get(conn, TENANT, waiting) is not None
    assert [one["name"] for one in service.list(TENANT)] == ["clean"]


def test_a_restore_puts_rows_files_and_billing_data_back(
    service: tenant_snapshots.TenantSnapshots,
) -> None:
    kept, kept_file = _run_with_file(service, b"saved bytes")
    _finish(service, kept)
    saved = service.save(TENANT, {"name": "clean"})
    assert (saved["runRows"], saved["files"], saved["bytes"]) == (2, 1, len(b"saved bytes"))
    accounts = _account_count(service)
    later, later_file = _run_with_file(service, b"later")
    _finish(service, later)
    kept_file.unlink()  # swept, say
    assert service.engine is not None
    with service.engine.write_transaction(TENANT) as (statements, _):
        statements.cursor.execute('DELETE FROM "tenant_demo"."Account"')
    assert _account_count(service) == 0

    for _ in range(2):  # a swap, then (the spare made meanwhile) a swap again
        assert service.restore(TENANT, "clean") == saved
        assert _account_count(service) == accounts
        with service.metadata.connect() as conn:
            assert runs_repo.get(conn, TENANT, later) is None
            assert runs_repo.get(conn, TENANT, kept) is not None
        assert kept_file.read_bytes() == b"saved bytes"
        assert not later_file.exists()
    changed = service.changes
    assert isinstance(changed, _Seen) and later in changed.changed


def test_remove_and_unknown_names(service: tenant_snapshots.TenantSnapshots) -> None:
    service.save(TENANT, {"name": "gone"})
    service.remove(TENANT, "gone")
    assert service.list(TENANT) == []
    for attempt in (
        lambda: service.restore(TENANT, "gone"),
        lambda: service.remove(TENANT, "gone"),
    ):
        with pytest.raises(errors.NotFound, match="No snapshot"):
            attempt()


def test_scale_out_is_refused_with_a_message(service: tenant_snapshots.TenantSnapshots) -> None:
    service.engine = None
    with pytest.raises(errors.InvalidControlRequest, match="embedded deployment"):
        service.save(TENANT, {"name": "clean"})


def test_snapshots_survive_a_restart(service: tenant_snapshots.TenantSnapshots) -> None:
    saved = service.save(TENANT, {"name": "kept"})
    accounts = _account_count(service)
    assert service.engine is not None
    path = service.engine.path
    service.engine.close()
    service.engine = duckdb_engine.DuckDbEngine(path)  # a new process opens the same files
    with service.engine.write_transaction(TENANT) as (statements, _):
        statements.cursor.execute('DELETE FROM "tenant_demo"."Account"')

    assert service.list(TENANT) == [saved]
    assert service.restore(TENANT, "kept") == saved
    assert _account_count(service) == accounts
