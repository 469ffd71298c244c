"""Aquarium's own job API through the real services: AQuA jobs and report runs in one list,
detail with progress, cancel of either kind, live events."""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import threading
from typing import Any

import pytest

from aquarium.domain import errors, ids, tenancy
from aquarium.export import follower
from aquarium.services import data_queries as data_query_service
from aquarium.services import job_downloads, job_events, job_finder
from aquarium.store import batches_repo
from tests.integration import report_support as rs
from tests.integration import test_runner_support as support
from tests.integration.report_support import ADMIN, DETAIL, NINA
from tests.integration.test_runner_support import ServerFactory

make_server = support.make_server
billing_file = support.billing_file
slow_usage = functools.partial(support.make_slow, table="Usage")


def finder(h: support.Harness) -> job_finder.JobFinder:
    found = h.srv.services.finder
    assert found is not None
    return found


def listed(h: support.Harness, **params: str | list[str]) -> dict[str, Any]:
    query = {k: v if isinstance(v, list) else [v] for k, v in params.items()}
    return finder(h).list_jobs(ADMIN, job_finder.JobQuery.parse(query))


def test_one_list_holds_both_kinds_with_filters_sort_and_cursor(
    make_server: ServerFactory,
) -> None:
    s = rs.stepped(make_server)
    h = s.h
    report_id = rs.save_report(h, DETAIL, name="Items")
    made: dict[str, str] = {}
    for index in range(12):
        job_id = h.submit(
            support.FAST_QUERIES[0], name=f"job {index:02d}", partner="p", project=f"q{index % 2}"
        )
        made[job_id] = "aqua"
        run_id = rs.start_run(h, report_id, who=ADMIN if index % 3 else NINA)
        made[run_id] = "report"
    everything = listed(h, limit="500")
    assert {j["id"]: j["kind"] for j in everything["jobs"]} == made
    assert everything["nextCursor"] is None
    created = [j["createdAt"] for j in everything["jobs"]]
    assert created == sorted(created, reverse=True)

    seen: list[str] = []
    cursor: str | None = None
    while True:
        page = listed(h, limit="5", sort="name", **({"cursor": cursor} if cursor else {}))
        seen += [j["id"] for j in page["jobs"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(made) and len(seen) == len(set(seen)) == 24
    names = [finder(h).job(ADMIN, i)["name"] for i in seen]
    assert names == sorted(names)

    assert {j["kind"] for j in listed(h, kind="report")["jobs"]} == {"report"}
    assert len(listed(h, kind="aqua", project="q1")["jobs"]) == 6
    assert len(listed(h, createdBy="nina")["jobs"]) == 4
    assert len(listed(h, status=["submitted", "STARTED"], limit="100")["jobs"]) == 24
    assert len(listed(h, status="active", limit="100")["jobs"]) == 24
    assert listed(h, status="finished")["jobs"] == []
    assert listed(h, since="2100-01-01T00:00:00Z")["jobs"] == []


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"kind": ["batch"]}, "unknown kind 'batch'"),
        ({"status": ["done"]}, "unknown status 'done'"),
        ({"sort": ["size"]}, "cannot sort by 'size'"),
        ({"limit": ["0"]}, "limit must be a whole number from 1 to 500"),
        ({"limit": ["many"]}, "limit must be a whole number from 1 to 500"),
        ({"since": ["yesterday"]}, "since must be an ISO 8601 time"),
        ({"cursor": ["!!"]}, "the cursor is not one this server gave out"),
    ],
)
def test_bad_list_parameters_say_what_is_wrong(params: dict[str, list[str]], message: str) -> None:
    with pytest.raises(errors.BadJobQuery) as refused:
        job_finder.JobQuery.parse(params)
    assert message in refused.value.reason


def test_detail_of_a_finished_aqua_job_has_batches_settings_and_downloads(
    make_server: ServerFactory,
) -> None:
    h = make_server(workers=1)
    job_id = h.submit(*support.FAST_QUERIES[:2], name="two")
    h.wait_terminal(job_id)
    found = finder(h).job(ADMIN, job_id)
    assert (found["kind"], found["status"], found["name"]) == ("aqua", "completed", "two")
    assert found["settings"]["format"] == "CSV"
    assert [b["status"] for b in found["batches"]] == ["completed", "completed"]
    record = h.job(job_id)
    assert [d["url"] for d in found["downloads"]] == [
        f"/v1/file/{b.file_id}" for b in record.batches
    ]
    assert [d["sha256"] for d in found["downloads"]] == [b.sha256 for b in record.batches]
    assert found["progress"]["batchesDone"] == 2
    assert found["progress"]["rowsWritten"] == sum(b.record_count for b in record.batches)
    with pytest.raises(errors.NotFound):
        finder(h).job(ADMIN, "0" * 32)


def test_progress_is_recorded_while_a_batch_writes(
    make_server: ServerFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(follower, "PROGRESS_S", 0.005)
    seen: list[tuple[int, int]] = []
    recorded = batches_repo.progress

    def spy(conn: Any, batch_id: str, rows: int, bytes_: int) -> None:
        seen.append((rows, bytes_))
        recorded(conn, batch_id, rows, bytes_)

    monkeypatch.setattr(batches_repo, "progress", spy)
    h = make_server(workers=1)
    job_id = h.submit("select * from InvoiceItem")
    record = h.wait_terminal(job_id)
    assert record.status == support.JS.COMPLETED
    assert seen, "no progress was reported"
    assert seen == sorted(seen)
    rows, size = seen[-1]
    assert rows <= record.batches[0].record_count and size > 0


def test_cancel_either_kind_and_refuse_finished_or_foreign_runs(
    make_server: ServerFactory,
) -> None:
    h = make_server(workers=1, prepare=slow_usage)
    job_id = h.submit("select * from Usage")
    h.wait_status(job_id, support.JS.EXECUTING)
    cancelled = finder(h).cancel(ADMIN, job_id)
    assert cancelled["status"] == "cancelled" and cancelled["batches"][0]["status"] == "cancelled"
    # Again: the same answer (Zuora's cancel is idempotent).
    assert finder(h).cancel(ADMIN, job_id)["status"] == "cancelled"
    finished = h.submit(support.FAST_QUERIES[0])
    h.wait_terminal(finished)
    with pytest.raises(errors.JobAlreadyFinished):
        finder(h).cancel(ADMIN, finished)
    report_id = rs.save_report(h, DETAIL)
    run_id = rs.start_run(h, report_id)
    done = rs.wait_run(h, run_id)
    assert done["status"] == "COMPLETED"
    with pytest.raises(errors.JobAlreadyFinished):
        finder(h).cancel(ADMIN, run_id)
    detail = finder(h).job(ADMIN, run_id)
    assert [d["name"] for d in detail["downloads"]] == ["export"]
    assert detail["downloads"][0]["url"] == f"/api/rest/v1/reportruns/export/{run_id}"


def test_a_non_admin_cannot_cancel_someone_elses_run(make_server: ServerFactory) -> None:
    s = rs.stepped(make_server)
    run_id = rs.start_run(s.h, rs.save_report(s.h, DETAIL))
    with pytest.raises(errors.JobCancelNotAllowed):
        finder(s.h).cancel(NINA, run_id)
    assert finder(s.h).cancel(ADMIN, run_id)["status"] == "CANCELLED"


def test_events_reach_subscribers_of_the_tenant_only() -> None:
    events = job_events.JobEvents(lambda: dt.datetime.now(dt.UTC))

    async def scenario() -> tuple[list[str], list[str]]:
        async with events.subscribe("demo") as mine, events.subscribe("other") as theirs:
            assert events.subscribers() == 2
            writers = [
                threading.Thread(target=events.job_changed, args=("demo", f"job{i}"))
                for i in range(3)
            ]
            for thread in writers:
                thread.start()
            for thread in writers:
                thread.join()
            got = [(await asyncio.wait_for(mine.get(), 5)).job_id for _ in range(3)]
            return got, [theirs.get_nowait().job_id for _ in range(theirs.qsize())]

    got, leaked = asyncio.run(scenario())
    assert sorted(got) == ["job0", "job1", "job2"]
    assert leaked == []
    assert events.subscribers() == 0


def test_a_slow_subscriber_loses_the_oldest_events(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(job_events, "QUEUE_EVENTS", 3)
    events = job_events.JobEvents(lambda: dt.datetime.now(dt.UTC))

    async def scenario() -> list[str]:
        async with events.subscribe("demo") as queue:
            for index in range(5):
                events.job_changed("demo", f"job{index}")
            await asyncio.sleep(0.05)  # let the loop run the handed-over callbacks
            return [queue.get_nowait().job_id for _ in range(queue.qsize())]

    assert asyncio.run(scenario()) == ["job2", "job3", "job4"]


# -- Data Query jobs -------------------------------------------------------------------------

DQ_QUERY = "select id, name\nfrom account\norder by id"


def data_queries(h: support.Harness) -> data_query_service.DataQueryService:
    found = h.srv.services.data_queries
    assert found is not None
    return found


def submit_data_query(
    h: support.Harness, query: str = DQ_QUERY, who: tenancy.Principal = ADMIN, **options: Any
) -> str:
    """A Data Query job submitted as through ``POST /query/jobs``; its id as the finder has it."""
    body = {"query": query, "outputFormat": "CSV", "compression": "NONE"}
    body |= {"output": {"target": "S3"}, **options}
    dashed: str = data_queries(h).submit(who, body, "http://testserver/")["id"]
    stored = ids.from_uuid(dashed)
    assert stored is not None
    return stored


def wait_data_query(h: support.Harness, job_id: str, *statuses: str) -> dict[str, Any]:
    """The finder's detail of the job once it has one of ``statuses`` (default: finished)."""
    wanted = statuses or ("completed", "failed", "cancelled")

    def reached() -> dict[str, Any] | None:
        found = finder(h).job(ADMIN, job_id)
        return found if found["status"] in wanted else None

    found: dict[str, Any] = support.wait_for(reached, f"data query {job_id} {wanted}")
    return found


def test_data_query_jobs_are_listed_filtered_shown_and_downloaded(
    make_server: ServerFactory,
) -> None:
    h = make_server(workers=1)
    aqua_id = h.submit(support.FAST_QUERIES[0], name="aqua job")
    job_id = submit_data_query(h, useIndexJoin=True)
    failed_id = submit_data_query(h, "select nosuch from account")
    done = wait_data_query(h, job_id)
    failed = wait_data_query(h, failed_id)
    h.wait_terminal(aqua_id)

    assert {j["id"]: j["kind"] for j in listed(h)["jobs"]} == {
        aqua_id: "aqua",
        job_id: "dataquery",
        failed_id: "dataquery",
    }
    only = listed(h, kind="dataquery")["jobs"]
    assert {j["id"] for j in only} == {job_id, failed_id}
    shown = next(j for j in only if j["id"] == job_id)
    # The query on one line is the job's name; the list shows its status and rows.
    assert shown["name"] == "select id, name from account order by id"
    assert (shown["status"], shown["outputFormat"]) == ("completed", "CSV")
    accounts = shown["progress"]["rowsWritten"]
    assert accounts > 0 and shown["progress"]["batchesDone"] == 1
    assert [j["id"] for j in listed(h, kind="dataquery", status="failed")["jobs"]] == [failed_id]
    assert {j["id"] for j in listed(h, kind=["aqua", "dataquery"], status="finished")["jobs"]} == {
        aqua_id,
        job_id,
        failed_id,
    }

    assert done["query"] == DQ_QUERY and done["dataQueryId"] == ids.dashed(job_id)
    assert done["settings"]["outputFormat"] == "CSV"
    assert (done["settings"]["compression"], done["settings"]["useIndexJoin"]) == ("NONE", True)
    assert done["rowCount"] == accounts and done["processingTime"] >= 0
    assert done["createdBy"] == "demo" and done["createdAt"].endswith("Z")
    [download] = done["downloads"]
    assert download["name"] == f"{ids.dashed(job_id)}.csv"
    assert download["url"].startswith(f"/query/results/demo/{h.files_of(job_id)[0].id}/")
    assert download["recordCount"] == accounts
    sent = job_downloads.JobDownloads(
        finder(h), h.srv.services.aqua, rs.runs(h), data_queries(h)
    ).only(ADMIN, job_id)
    assert sent is not None and sent.filename == download["name"]
    assert sent.sha256 == download["sha256"]
    lines = sent.path.read_text().splitlines()
    assert lines[0] == "id,name" and len(lines) == accounts + 1

    # The error message keeps the position the SQL check gave, as GET /query/jobs/{id} has it.
    assert failed["status"] == "failed" and failed["downloads"] == []
    assert "line 1:8" in failed["message"] and failed["errorCode"] == "INVALID_QUERY"
    assert failed["message"] == data_queries(h).get(ADMIN, failed_id, "")["errorMessage"]


def test_a_user_sees_only_their_own_data_query_jobs(make_server: ServerFactory) -> None:
    s = rs.stepped(make_server)
    mine = submit_data_query(s.h, who=NINA)
    theirs = submit_data_query(s.h)
    nina = finder(s.h).list_jobs(NINA, job_finder.JobQuery.parse({"kind": ["dataquery"]}))
    assert [j["id"] for j in nina["jobs"]] == [mine]
    assert {j["id"] for j in listed(s.h, kind="dataquery")["jobs"]} == {mine, theirs}
    assert finder(s.h).state(NINA, theirs) is None
    with pytest.raises(errors.NotFound):
        finder(s.h).job(NINA, theirs)
    with pytest.raises(errors.NotFound):
        finder(s.h).cancel(NINA, theirs)
    assert finder(s.h).cancel(NINA, mine)["status"] == "cancelled"
    # An administrator cancels anyone's.
    assert finder(s.h).cancel(ADMIN, theirs)["status"] == "cancelled"


def test_cancel_a_running_data_query_stops_its_statement(make_server: ServerFactory) -> None:
    h = make_server(workers=1, prepare=slow_usage)
    job_id = submit_data_query(h, "select * from usage")
    wait_data_query(h, job_id, "in_progress")
    cancelled = finder(h).cancel(ADMIN, job_id)
    assert cancelled["status"] == "cancelled" and cancelled["downloads"] == []
    assert cancelled["message"] == "The query was cancelled."
    # Again: the same answer, as for the other kinds (the Data Query API itself refuses it).
    assert finder(h).cancel(ADMIN, job_id)["status"] == "cancelled"
    # The one worker is free again only if the endless statement was interrupted.
    after = submit_data_query(h)
    assert wait_data_query(h, after)["status"] == "completed"
    with pytest.raises(errors.JobAlreadyFinished):
        finder(h).cancel(ADMIN, after)
    assert finder(h).job(ADMIN, job_id)["status"] == "cancelled"
    assert h.files_of(job_id) == []
