"""Aquarium's own job API over real HTTP: list, detail, cancel, errors and the event stream,
for AQuA jobs and Data Query jobs."""

from __future__ import annotations

import json
import threading
import time
from typing import Any

import httpx

from tests.acceptance import dataquery_support as dq
from tests.acceptance import deployments, support
from tests.acceptance.conftest import OTHER_AUTH

DEPLOYMENTS = deployments.BOTH  # every test runs embedded and scale-out (conftest.py)

API = "/aquarium/api/v1"


def _submit(client: httpx.Client, *queries: str, name: str = "api") -> str:
    body = support.stateless(*queries)
    body["name"] = name
    job_id: str = support.submit_ok(client, body)["id"]
    return job_id


def test_list_detail_and_downloads(demo: httpx.Client) -> None:
    job_id = _submit(demo, "select Id, Name from Account", name="listed")
    support.wait_for_job(demo, job_id)
    page = demo.get(f"{API}/jobs", params={"kind": "aqua", "limit": 500})
    assert page.status_code == 200
    listed = {job["id"]: job for job in page.json()["jobs"]}
    assert listed[job_id]["name"] == "listed" and listed[job_id]["status"] == "completed"
    assert listed[job_id]["createdAt"].endswith("Z")
    detail = demo.get(f"{API}/jobs/{job_id}").json()
    assert detail["batches"][0]["recordCount"] == 50
    download = detail["downloads"][0]
    fetched = demo.get(download["url"])
    assert fetched.status_code == 200 and len(fetched.content) == download["size"]


def test_errors_use_the_documented_envelope(
    server: support.RunningServer, demo: httpx.Client
) -> None:
    missing = demo.get(f"{API}/jobs/{'0' * 32}")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    bad = demo.get(f"{API}/jobs", params={"sort": "size"})
    assert bad.status_code == 400 and bad.json()["error"]["code"] == "bad_request"
    assert "cannot sort by 'size'" in bad.json()["error"]["message"].lower()
    anonymous = httpx.get(f"{server.base_url}{API}/jobs")
    assert anonymous.status_code == 401 and anonymous.json()["error"]["code"] == "unauthorized"
    job_id = _submit(demo, "select Id from Account")
    support.wait_for_job(demo, job_id)
    refused = demo.delete(f"{API}/jobs/{job_id}")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_cancellable"


def test_another_tenant_sees_none_of_the_jobs(
    server: support.RunningServer, demo: httpx.Client
) -> None:
    job_id = _submit(demo, "select Id from Account")
    other = server.client(auth=OTHER_AUTH)
    assert other.get(f"{API}/jobs/{job_id}").status_code == 404
    assert other.delete(f"{API}/jobs/{job_id}").status_code == 404
    assert job_id not in {
        j["id"] for j in other.get(f"{API}/jobs", params={"limit": 500}).json()["jobs"]
    }


def _events(
    server: support.RunningServer,
    found: list[dict[str, Any]],
    ready: threading.Event,
    stop: threading.Event,
) -> None:
    try:
        with (
            httpx.Client(base_url=server.base_url, auth=support.DEMO_AUTH, timeout=30) as client,
            client.stream("GET", f"{API}/events") as stream,
        ):
            assert stream.headers["content-type"].startswith("text/event-stream")
            kind = None
            for line in stream.iter_lines():
                if line.startswith("retry: "):
                    ready.set()  # the server sends it once the stream listens
                if line.startswith("event: "):
                    kind = line.removeprefix("event: ")
                elif line.startswith("data: ") and kind == "job":
                    found.append(json.loads(line.removeprefix("data: ")))
                if stop.is_set():
                    return
    except httpx.HTTPError:
        # The stream outlives the test until its next line: the server may stop first.
        if not stop.is_set():
            raise


def test_the_event_stream_tells_of_each_change(
    server: support.RunningServer, demo: httpx.Client
) -> None:
    found: list[dict[str, Any]] = []
    ready, stop = threading.Event(), threading.Event()
    listener = threading.Thread(target=_events, args=(server, found, ready, stop), daemon=True)
    listener.start()
    assert ready.wait(support.JOB_TIMEOUT_S), "the event stream did not open"
    job_id = _submit(demo, "select Id from Account", "select Id from Invoice")
    support.wait_for_job(demo, job_id)
    deadline = time.monotonic() + support.JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        statuses = [event["status"] for event in found if event["id"] == job_id]
        if "completed" in statuses:
            break
        time.sleep(support.POLL_INTERVAL_S)
    stop.set()
    mine = [event for event in found if event["id"] == job_id]
    assert mine, found
    assert mine[-1]["status"] == "completed" and mine[-1]["kind"] == "aqua"
    assert all(event["at"].endswith("Z") for event in mine)


# -- Data Query jobs -------------------------------------------------------------------------

#: Long enough to cancel while it runs: a count over a three-way cross join of invoice items.
ENDLESS_QUERY = (
    "select count(*) from invoiceitem a cross join invoiceitem b cross join invoiceitem c"
)


def test_a_data_query_job_is_listed_shown_and_downloaded(
    server: support.RunningServer, demo: httpx.Client
) -> None:
    dashed = dq.submitted(demo, "select id, accountnumber from account")
    done = dq.wait_for(demo, dashed)
    assert done["queryStatus"] == "completed"
    job_id = dashed.replace("-", "")

    page = demo.get(f"{API}/jobs", params={"kind": "dataquery", "limit": 500}).json()["jobs"]
    assert {job["kind"] for job in page} == {"dataquery"}
    listed = {job["id"]: job for job in page}[job_id]
    assert listed["name"] == "select id, accountnumber from account"
    assert listed["status"] == "completed"
    assert listed["progress"]["rowsWritten"] == done["outputRows"] == 50
    assert job_id not in {
        job["id"] for job in demo.get(f"{API}/jobs", params={"kind": "aqua"}).json()["jobs"]
    }

    detail = demo.get(f"{API}/jobs/{job_id}").json()
    assert detail["dataQueryId"] == dashed and detail["query"] == done["query"]
    assert detail["settings"]["outputFormat"] == "CSV"
    assert (detail["rowCount"], detail["processingTime"]) == (50, done["processingTime"])
    [download] = detail["downloads"]
    # The finder's link is signed like dataFile: it opens without credentials.
    fetched = httpx.get(f"{server.base_url}{download['url']}")
    assert fetched.status_code == 200 and len(fetched.content) == download["size"]
    assert fetched.content == httpx.get(done["dataFile"]).content
    rows = support.parse_csv(fetched.content)
    assert rows[0] == ["id", "accountnumber"] and len(rows) == 51

    refused = demo.delete(f"{API}/jobs/{job_id}")
    assert refused.status_code == 409 and refused.json()["error"]["code"] == "not_cancellable"
    other = server.client(auth=OTHER_AUTH)
    assert other.get(f"{API}/jobs/{job_id}").status_code == 404


def test_cancelling_a_data_query_through_the_job_api_stops_it(demo: httpx.Client) -> None:
    dashed = dq.submitted(demo, ENDLESS_QUERY)
    dq.wait_for(demo, dashed, "in_progress")
    job_id = dashed.replace("-", "")
    cancelled = demo.delete(f"{API}/jobs/{job_id}")
    assert cancelled.status_code == 200, cancelled.text
    assert cancelled.json()["status"] == "cancelled"
    assert demo.get(f"/query/jobs/{dashed}").json()["data"]["queryStatus"] == "cancelled"
    again = demo.delete(f"{API}/jobs/{job_id}")
    assert again.status_code == 200 and again.json()["status"] == "cancelled"
    # The Data Query API keeps Zuora's answer to a second cancel.
    assert demo.delete(f"/query/jobs/{dashed}").json()["code"] == 1003


def test_the_event_stream_tells_of_a_data_query(
    server: support.RunningServer, demo: httpx.Client
) -> None:
    found: list[dict[str, Any]] = []
    ready, stop = threading.Event(), threading.Event()
    listener = threading.Thread(target=_events, args=(server, found, ready, stop), daemon=True)
    listener.start()
    assert ready.wait(support.JOB_TIMEOUT_S), "the event stream did not open"
    job_id = dq.submitted(demo, "select id from invoice").replace("-", "")
    deadline = time.monotonic() + support.JOB_TIMEOUT_S
    while time.monotonic() < deadline:
        if "completed" in [event["status"] for event in found if event["id"] == job_id]:
            break
        time.sleep(support.POLL_INTERVAL_S)
    stop.set()
    mine = [event for event in found if event["id"] == job_id]
    assert mine[-1]["status"] == "completed" and mine[-1]["kind"] == "dataquery"
