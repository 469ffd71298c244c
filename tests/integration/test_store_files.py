"""The file repository on SQLite and PostgreSQL: ownership, retention, deletion."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from aquarium.domain import ids
from aquarium.store import files_repo, tables
from tests.integration import test_store_migrations as support

T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)
DAY = dt.timedelta(days=1)


store = support.store
engine = support.engine


def add_file(
    engine: sa.Engine, *, tenant: str = "acme", job_id: str = "j" * 32, days: int = 3, at: int = 0
) -> files_repo.FileRecord:
    file_id = ids.new_id()
    created = T0 + at * dt.timedelta(seconds=1)
    record = files_repo.FileRecord(
        id=file_id, tenant=tenant, job_id=job_id, batch_id=ids.new_id(),
        path=f"{tenant}/{file_id}.csv.gz", size=1234, sha256="c" * 64,
        content_type="application/gzip", record_count=10, created_at=created,
        expires_at=created + days * DAY,
    )  # fmt: skip
    with engine.begin() as conn:
        files_repo.record_file(conn, record)
    return record


def test_get_file_round_trip_and_tenant_isolation(engine: sa.Engine) -> None:
    record = add_file(engine)
    with engine.connect() as conn:
        assert files_repo.get_file(conn, "acme", record.id, now=T0) == record
        assert files_repo.get_file(conn, "zeta", record.id, now=T0) is None
        assert files_repo.get_file(conn, "acme", ids.new_id(), now=T0) is None


def test_expired_and_deleted_files_are_not_served(engine: sa.Engine) -> None:
    short = add_file(engine, days=1)
    long = add_file(engine, days=3, at=1)
    with engine.begin() as conn:
        assert files_repo.get_file(conn, "acme", short.id, now=T0 + DAY) is None
        assert files_repo.get_file(conn, "acme", long.id, now=T0 + DAY) is not None
        assert files_repo.expired_files(conn, T0 + DAY) == [short]
        assert files_repo.expired_files(conn, T0 + 4 * DAY) == [short, long]
        files_repo.mark_deleted(conn, short.id, T0 + 2 * DAY)
        files_repo.mark_deleted(conn, short.id, T0 + 3 * DAY)  # the first time stays
        files_repo.mark_deleted(conn, long.id, T0)
        assert files_repo.get_file(conn, "acme", long.id, now=T0) is None
        assert files_repo.expired_files(conn, T0 + 4 * DAY) == []
        query = sa.select(tables.files.c.deleted_at).where(tables.files.c.id == short.id)
        assert conn.execute(query).scalar_one() == T0 + 2 * DAY


def test_files_of_job(engine: sa.Engine) -> None:
    first = add_file(engine, job_id="a" * 32)
    second = add_file(engine, job_id="a" * 32, at=1)
    gone = add_file(engine, job_id="a" * 32, at=2)
    add_file(engine, job_id="b" * 32)
    with engine.begin() as conn:
        files_repo.mark_deleted(conn, gone.id, T0)
        assert files_repo.files_of_job(conn, "a" * 32) == [first, second]
        assert files_repo.files_of_job(conn, "c" * 32) == []
