"""The report label repository on SQLite and PostgreSQL: roots on demand, tenant isolation."""

from __future__ import annotations

import dataclasses
import datetime as dt
import threading

import sqlalchemy as sa

from aquarium.domain import ids
from aquarium.store import labels_repo
from tests.integration import test_store_migrations as support

T0 = dt.datetime(2026, 5, 1, 12, 0, tzinfo=dt.UTC)

store = support.store
engine = support.engine


def test_roots_are_made_once_per_tenant(engine: sa.Engine) -> None:
    for _ in range(2):
        with engine.begin() as conn:
            labels_repo.ensure_roots(conn, "acme", T0)
    with engine.connect() as conn:
        roots = labels_repo.children(conn, "acme", None)
        assert [(r.name, r.type, r.order) for r in roots] == [
            ("My Reports", "Private", 0),
            ("Shared Reports", "Shared", 1),
        ]
        assert [r.id for r in roots] == [
            labels_repo.root_id("acme", "My Reports"),
            labels_repo.root_id("acme", "Shared Reports"),
        ]
        assert labels_repo.children(conn, "other", None) == []
        assert labels_repo.root_id("other", "My Reports") != roots[0].id


def test_concurrent_first_uses_make_the_roots_once(engine: sa.Engine) -> None:
    problems: list[BaseException] = []
    barrier = threading.Barrier(4, timeout=30)

    def run() -> None:
        try:
            barrier.wait()
            with engine.begin() as conn:
                labels_repo.ensure_roots(conn, "acme", T0)
        except BaseException as exc:  # reported below, in the test's thread
            problems.append(exc)

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert problems == []
    with engine.connect() as conn:
        assert len(labels_repo.list_for_tenant(conn, "acme")) == 2


def test_sub_labels_missing_ids_and_isolation(engine: sa.Engine) -> None:
    with engine.begin() as conn:
        labels_repo.ensure_roots(conn, "acme", T0)
        shared = labels_repo.root_id("acme", "Shared Reports")
        child = labels_repo.LabelRecord(
            id=ids.new_id(), tenant="acme", name="Finance", parent_id=shared, type="Shared",
            created_by="ann", updated_by="ann", created_at=T0, updated_at=T0, order=0,
        )  # fmt: skip
        labels_repo.insert(conn, child)
        labels_repo.insert(conn, dataclasses.replace(child, id=ids.new_id(), name="Audit"))
    with engine.connect() as conn:
        assert labels_repo.get(conn, "acme", child.id) == child
        assert labels_repo.get(conn, "other", child.id) is None
        assert [c.name for c in labels_repo.children(conn, "acme", shared)] == ["Audit", "Finance"]
        assert labels_repo.children(conn, "other", shared) == []
        assert labels_repo.missing(conn, "acme", [child.id, shared, "f" * 32]) == {"f" * 32}
        assert labels_repo.missing(conn, "other", [child.id]) == {child.id}
        assert labels_repo.missing(conn, "acme", []) == set()
