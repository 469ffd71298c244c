"""The Job Finder's one query over runs, on SQLite and PostgreSQL, with Data Query jobs beside
the other kinds: the start of the query as the name, the result's rows, and who sees them."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from aquarium.domain import ids, jobs, runs
from aquarium.store import dataquery_repo, job_finder_repo, runs_repo
from tests.integration import test_store_jobs as aqua
from tests.integration import test_store_migrations as support
from tests.integration.test_store_runs import add_run

T0 = aqua.T0
SECOND = aqua.SECOND
LONG_QUERY = "select id,\n  name from account where " + " or ".join(["id = 'x'"] * 40)

store = support.store
engine = support.engine


def add_data_query(
    engine: sa.Engine, query: str, *, by: str = "nina", created_at: dt.datetime = T0
) -> str:
    job_id = ids.new_uuid()
    job = dataquery_repo.NewDataQuery(
        id=job_id, tenant="acme", created_by=by, created_at=created_at, query=query,
        output_format="CSV", compression="NONE", column_separator=None, encryption_key=None,
        read_deleted=False, source_data="LIVE", use_index_join=False, warehouse_size=None,
    )  # fmt: skip
    with engine.begin() as conn:
        dataquery_repo.insert(conn, job)
    return job_id


def complete(engine: sa.Engine, job_id: str, rows: int) -> None:
    kind, events = runs.Kind.DATAQUERY, jobs.DataQueryEvent
    with engine.begin() as conn:
        runs_repo.apply_event(conn, kind, job_id, events.START, at=T0 + SECOND)
        runs_repo.apply_event(conn, kind, job_id, events.COMPLETE, at=T0 + 2 * SECOND)
        dataquery_repo.record_results(conn, job_id, row_count=rows)


def page(engine: sa.Engine, **kw: object) -> list[job_finder_repo.JobRow]:
    with engine.connect() as conn:
        return job_finder_repo.page(conn, "acme", job_finder_repo.Filters(), **kw)  # type: ignore[arg-type]


def test_a_data_query_row_shows_its_query_format_and_rows(engine: sa.Engine) -> None:
    run_id = add_run(engine)  # a report run of tenant acme, by nina
    job_id = add_data_query(engine, LONG_QUERY, created_at=T0 + SECOND)
    complete(engine, job_id, rows=7)
    found = {row.id: row for row in page(engine)}
    assert set(found) == {run_id, job_id}
    row = found[job_id]
    assert (row.kind, row.status, row.output_format, row.row_count) == (
        "dataquery",
        "completed",
        "CSV",
        7,
    )
    assert row.name == LONG_QUERY[: job_finder_repo.QUERY_NAME_CHARS]
    assert (found[run_id].output_format, found[run_id].row_count) == (None, None)
    by_name = [row.id for row in page(engine, sort="name", descending=False)]
    assert by_name == [run_id, job_id]  # "Invoices" < "select ..."


def test_a_user_sees_only_their_own_data_queries(engine: sa.Engine) -> None:
    run_id = add_run(engine)
    mine = add_data_query(engine, "select 1", by="nina")
    theirs = add_data_query(engine, "select 2", by="demo")
    assert {row.id for row in page(engine)} == {run_id, mine, theirs}
    assert {row.id for row in page(engine, viewer="nina")} == {run_id, mine}
    with engine.connect() as conn:
        assert job_finder_repo.row(conn, "acme", theirs, viewer="nina") is None
        assert job_finder_repo.row(conn, "acme", theirs) is not None
        assert job_finder_repo.state_of(conn, "acme", theirs, viewer="nina") is None
        assert job_finder_repo.state_of(conn, "acme", mine, viewer="nina") == (
            "dataquery",
            "accepted",
        )
        assert job_finder_repo.state_of(conn, "acme", run_id, viewer="demo") is not None
