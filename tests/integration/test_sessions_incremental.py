"""Stateful sessions end to end: full loads, increments, deleted rows, offsets, incrementalTime.

Changes are written through the engine's write gate (``write_transaction``), as the billing
write path does, between and during jobs; each incremental file must hold exactly the rows
changed in its window.
"""

from __future__ import annotations

import csv
import io
import random
import threading
import time
import zoneinfo
from typing import Any

import pytest

from aquarium.datagen import simulate
from aquarium.domain import errors
from aquarium.engines import duckdb_engine, naming
from aquarium.services import aqua_wire
from tests.integration import test_runner_support as support
from tests.integration.test_runner_support import JS, PRINCIPAL, SCHEMA, TENANT, ServerFactory

make_server = support.make_server
scaled_server = support.scaled_server
billing_file = support.billing_file

QUERY = "select Id, Name from Account"
DELETED = {"column": "IsDeleted", "format": "Numeric"}


def _submit(h: support.Harness, query: str = QUERY, **fields: Any) -> str:
    body = {
        "version": "1.1",
        "partner": "p",
        "project": "q",
        "useQueryLabels": True,
        "queries": [{"name": "accounts", "query": query, "deleted": DELETED}],
        **fields,
    }
    document = h.aqua.submit(PRINCIPAL, body)
    job_id: str = document["id"]
    return job_id


def _rows(h: support.Harness, job_id: str) -> tuple[list[str], list[list[str]], bool]:
    record = h.wait_terminal(job_id)
    assert record.status == JS.COMPLETED, record
    (batch,) = record.batches
    assert batch.file_id is not None
    path = h.aqua.file(PRINCIPAL, batch.file_id).path
    header, *rows = list(csv.reader(io.StringIO(path.read_text("utf-8"))))
    return header, rows, batch.full


def _update(h: support.Harness, ids: list[str], name: str) -> None:
    mark = "?" if isinstance(h.srv.engine, duckdb_engine.DuckDbEngine) else "%s"
    with h.srv.engine.write_transaction(TENANT) as (statements, now):
        for account_id in ids:
            statements.changed(
                f'UPDATE {SCHEMA}."Account" SET "Name" = {mark}, "UpdatedDate" = {mark} '
                f'WHERE "Id" = {mark}',
                [name, now, account_id],
            )


def _delete(h: support.Harness, ids: list[str]) -> None:
    deleted = naming.DELETED_COLUMN
    with h.srv.engine.write_transaction(TENANT) as (statements, now):
        for account_id in ids:
            statements.changed(
                f'UPDATE {SCHEMA}."Account" SET "{deleted}" = ?, "UpdatedDate" = ? WHERE "Id" = ?',
                [now, now, account_id],
            )


def _account_ids(h: support.Harness) -> list[str]:
    _, rows, _ = _rows(h, h.submit("select Id from Account", version="1.0"))
    return sorted(row[0] for row in rows)


def test_full_load_then_exactly_the_changes(make_server: ServerFactory) -> None:
    h = make_server()
    ids = _account_ids(h)
    header, first, full = _rows(h, _submit(h))
    assert full and header == ["Account.IsDeleted", "Account.Id", "Account.Name"]
    assert len(first) == len(ids) and {row[0] for row in first} == {"0"}

    _update(h, ids[:3], "renamed")
    _delete(h, ids[3:5])
    _, second, full = _rows(h, _submit(h))
    assert not full
    assert sorted(second) == sorted(
        [["0", i, "renamed"] for i in ids[:3]]
        + [["1", i, row_name] for i, row_name in ((r[1], r[2]) for r in first if r[1] in ids[3:5])]
    )

    _, third, full = _rows(h, _submit(h))
    assert not full and third == [], "nothing changed since the last job"

    _, fourth, full = _rows(h, _submit(h, query="select Id, Name, Status from Account"))
    assert full, "a changed query starts over"
    assert len(fourth) == len(ids) - 2 and {row[0] for row in fourth} == {"0"}


def test_an_incremental_time_job_does_not_move_the_session(make_server: ServerFactory) -> None:
    h = make_server()
    ids = _account_ids(h)
    _rows(h, _submit(h))
    _update(h, ids[:2], "first change")
    # Re-fetch from the beginning of time: everything changed since then, the session stays.
    _, refetched, full = _rows(h, _submit(h, incrementalTime="2000-01-01 00:00:00"))
    assert not full and len(refetched) == len(ids)
    _, after, full = _rows(h, _submit(h))
    assert not full
    assert sorted(row[1] for row in after) == ids[:2]


def test_offset_leaves_recent_changes_for_the_next_job(make_server: ServerFactory) -> None:
    h = make_server()
    ids = _account_ids(h)
    _rows(h, _submit(h))
    _update(h, ids[:1], "recent")
    _, held_back, _ = _rows(h, _submit(h, offset=3600))
    assert held_back == [], "changed within the offset: left for later"
    _, caught_up, _ = _rows(h, _submit(h))
    assert [row[1] for row in caught_up] == ids[:1]


def test_stateless_force_export_returns_deleted_rows(make_server: ServerFactory) -> None:
    h = make_server()
    ids = _account_ids(h)
    _delete(h, ids[:2])
    body = {
        "version": "1.0",
        "useQueryLabels": True,
        "queries": [
            {"name": "a", "query": QUERY, "deleted": {**DELETED, "forceExport": True}},
            {"name": "b", "query": QUERY},
        ],
    }
    record = h.wait_terminal(h.aqua.submit(PRINCIPAL, body)["id"])
    flagged, plain = (
        list(csv.reader(io.StringIO(h.aqua.file(PRINCIPAL, b.file_id).path.read_text())))[1:]
        for b in record.batches
        if b.file_id
    )
    assert sorted(row[1] for row in flagged if row[0] == "1") == ids[:2]
    assert len(flagged) == len(ids) and len(plain) == len(ids) - 2


@pytest.mark.parametrize(
    "deployment", ["embedded", pytest.param("scale-out", marks=pytest.mark.postgres)]
)
def test_writes_during_jobs_are_neither_lost_nor_repeated(
    deployment: str, request: pytest.FixtureRequest
) -> None:
    """A writer renames distinct accounts while a session's jobs run back to back: each rename
    appears in exactly one increment. Scale-out: PostgreSQL, whose writers commit after a job's
    snapshot began unless the write/snapshot lock orders them (engines/postgres_writes.py)."""
    if deployment == "embedded":
        h = request.getfixturevalue("make_server")()
    else:
        h = request.getfixturevalue("scaled_server")
    ids = _account_ids(h)
    rng = random.Random(7)
    rng.shuffle(ids)
    _rows(h, _submit(h))
    stop = threading.Event()
    written: list[str] = []

    def writer() -> None:
        for account_id in ids:
            if stop.is_set():
                return
            _update(h, [account_id], f"marker-{account_id}")
            written.append(account_id)
            time.sleep(rng.uniform(0, 0.01))

    thread = threading.Thread(target=writer)
    thread.start()
    seen: list[str] = []
    for _ in range(6):
        _, rows, full = _rows(h, _submit(h))
        assert not full
        seen += [row[1] for row in rows]
    stop.set()
    thread.join()
    _, rows, _ = _rows(h, _submit(h))
    seen += [row[1] for row in rows]
    assert sorted(seen) == sorted(written), "every change exactly once"


def test_submit_answers_full_or_incremental_and_reuses_session_queries(
    make_server: ServerFactory,
) -> None:
    h = make_server()
    first = h.aqua.submit(
        PRINCIPAL,
        {
            "version": "1.1",
            "partner": "p",
            "project": "r",
            "queries": [
                {"name": "a", "query": QUERY},
                {"name": "b", "query": "select Id from Invoice"},
            ],
        },
    )
    assert [b["full"] for b in first["batches"]] == [True, True]
    h.wait_terminal(first["id"])
    again = h.aqua.submit(PRINCIPAL, {"version": "1.1", "partner": "p", "project": "r"})
    assert [(b["name"], b["full"]) for b in again["batches"]] == [("a", False), ("b", False)]
    h.wait_terminal(again["id"])
    merged = h.aqua.submit(
        PRINCIPAL,
        {
            "version": "1.1",
            "partner": "p",
            "project": "r",
            "useLastCompletedJobQueries": True,
            "queries": [
                {"name": "b", "query": "select Id, Amount from Invoice"},
                {"name": "c", "query": "select Id from Product"},
            ],
        },
    )
    assert [(b["name"], b["full"]) for b in merged["batches"]] == [
        ("a", False),
        ("b", True),
        ("c", True),
    ]
    assert h.wait_terminal(merged["id"]).status == JS.COMPLETED


def test_a_deleted_section_cannot_aggregate(make_server: ServerFactory) -> None:
    h = make_server(start=False)
    with pytest.raises(errors.ZoqlError, match="cannot aggregate"):
        h.aqua.submit(
            PRINCIPAL,
            {
                "version": "1.1",
                "partner": "p",
                "project": "s",
                "queries": [
                    {
                        "name": "a",
                        "query": "select Status, count(*) from Account group by Status",
                        "deleted": DELETED,
                    }
                ],
            },
        )


SIMULATED = {
    "Account": "select Id, Name from Account",
    "Usage": "select Id, Quantity from Usage",
    "Invoice": "select Id, Status from Invoice",
}


def _session_files(h: support.Harness, job_id: str) -> dict[str, list[list[str]]]:
    record = h.wait_terminal(job_id)
    assert record.status == JS.COMPLETED, record
    files = {}
    for batch in record.batches:
        assert batch.file_id is not None
        text = h.aqua.file(PRINCIPAL, batch.file_id).path.read_text("utf-8")
        files[batch.name] = list(csv.reader(io.StringIO(text)))[1:]
    return files


def test_increments_after_simulated_activity_hold_exactly_what_changed(
    make_server: ServerFactory,
) -> None:
    body = {
        "version": "1.1",
        "partner": "p",
        "project": "sim",
        "useQueryLabels": True,
        "queries": [
            {"name": name, "query": query, "deleted": DELETED} for name, query in SIMULATED.items()
        ],
    }
    first = make_server()
    _session_files(first, first.aqua.submit(PRINCIPAL, body)["id"])
    first.stop()
    report = simulate.simulate_into(first.data_dir, TENANT, days=3, seed=5)
    assert report.total > 0
    second = make_server(data_dir=first.data_dir)
    files = _session_files(second, second.aqua.submit(PRINCIPAL, body)["id"])
    for name in SIMULATED:
        changed = {row_id for obj, row_id in report.changed if obj == name}
        exported = [row[1] for row in files[name]]
        assert sorted(exported) == sorted(changed), name
        deleted = {row[1] for row in files[name] if row[0] == "1"}
        with second.srv.engine.read_transaction(TENANT) as statements:
            gone = {
                r[0]
                for r in statements.rows(
                    f'SELECT "Id" FROM {SCHEMA}."{name}" '
                    f'WHERE "{naming.DELETED_COLUMN}" IS NOT NULL'
                )
            }
        assert deleted == gone & changed, name


def test_every_batch_of_a_job_reads_one_snapshot(make_server: ServerFactory) -> None:
    """While a writer renames accounts, the same query twice in one job gives the same file."""
    h = make_server()
    ids = _account_ids(h)
    stop = threading.Event()

    def writer() -> None:
        for n, account_id in enumerate(ids * 3):
            if stop.is_set():
                return
            _update(h, [account_id], f"v{n}")

    thread = threading.Thread(target=writer)
    thread.start()
    try:
        for _ in range(3):
            job_id = h.submit(QUERY, QUERY, "select Id from InvoiceItem", QUERY, version="1.0")
            record = h.wait_terminal(job_id)
            contents = [
                h.aqua.file(PRINCIPAL, b.file_id).path.read_bytes()
                for b in record.batches
                if b.file_id and b.query == QUERY
            ]
            assert len(contents) == 3 and len(set(contents)) == 1
    finally:
        stop.set()
        thread.join()


def test_get_job_gives_the_window_start_as_text(make_server: ServerFactory) -> None:
    """Submit echoes ``incrementalTime`` as epoch ms; GET gives a string in the tenant's zone:
    the request's, else the session window's start (provisional at submit, settled at start),
    the full-load marker for the session's first job; stateless jobs have none."""
    h = make_server()
    tenant = h.srv.tenants.tenant(TENANT)
    assert tenant is not None
    zone = zoneinfo.ZoneInfo(tenant.time_zone)
    first = _submit(h)
    assert h.aqua.get(PRINCIPAL, first)["incrementalTime"] == aqua_wire.FULL_LOAD_START
    _rows(h, first)
    assert h.aqua.get(PRINCIPAL, first)["incrementalTime"] == aqua_wire.FULL_LOAD_START
    ended = h.wait_terminal(first).window_end
    assert ended is not None
    expected = ended.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")

    second = _submit(h)
    assert h.aqua.get(PRINCIPAL, second)["incrementalTime"] == expected
    _rows(h, second)
    assert h.aqua.get(PRINCIPAL, second)["incrementalTime"] == expected

    submitted = h.aqua.submit(
        PRINCIPAL,
        {
            "version": "1.1",
            "partner": "p",
            "project": "q",
            "incrementalTime": "2020-02-03 04:05:06",
            "queries": [{"name": "accounts", "query": QUERY}],
        },
    )
    assert isinstance(submitted["incrementalTime"], int)
    assert h.aqua.get(PRINCIPAL, submitted["id"])["incrementalTime"] == "2020-02-03 04:05:06"
    stateless = h.submit("select Id from Account", version="1.0")
    assert "incrementalTime" not in h.aqua.get(PRINCIPAL, stateless)
