"""The polling hot paths (``api/fast_poll.py``) answer exactly what the routes answer: the same
server's app is asked twice, once as built and once with the fast path taken out, for AQuA and
Data Query jobs and report runs in each state a poll meets, and for the requests the fast path
leaves to the routes (no credentials, an unknown job, another user's job, entity headers)."""

from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
from collections.abc import Iterator
from typing import Any, cast

import httpx
import pytest
from fastapi import FastAPI

from aquarium import server
from aquarium.api import fast_poll
from aquarium.settings import Settings
from aquarium.store import logins_repo

DEMO = {"apiAccessKeyId": "demo", "apiSecretAccessKey": "demo"}
CLERK = {"apiAccessKeyId": "clerk", "apiSecretAccessKey": "clerk-password"}
WAIT_S = 30.0
FINISHED = {"completed", "failed", "cancelled", "COMPLETED", "ERROR", "CANCELLED", "INVALID"}
#: Headers that may differ between two answers a moment apart.
VOLATILE = {"date", "zuora-request-id", "zuora-track-id", "x-request-id"}


class Apps:
    """The server's app as built (fast path first) and without the fast path."""

    def __init__(self, built: server.Server) -> None:
        self.fast = built.app()
        self.routed = built.app()
        kept = [
            entry
            for entry in self.routed.user_middleware
            if cast(object, entry.cls) is not fast_poll.FastJobPolling
        ]
        assert len(kept) == len(self.routed.user_middleware) - 1
        self.routed.user_middleware = kept

    def both(self, path: str, headers: dict[str, str]) -> tuple[httpx.Response, httpx.Response]:
        return _get(self.fast, path, headers), _get(self.routed, path, headers)


def _get(app: FastAPI, path: str, headers: dict[str, str]) -> httpx.Response:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://poll.test") as client:
            return await client.get(path, headers=headers)

    return asyncio.run(send())


def _post(app: FastAPI, path: str, body: dict[str, Any]) -> dict[str, Any]:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://poll.test") as client:
            return await client.post(path, headers=DEMO, json=body)

    answer = asyncio.run(send())
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def _headers(answer: httpx.Response) -> dict[str, str]:
    return {name: value for name, value in answer.headers.items() if name not in VOLATILE}


def _same(fast: httpx.Response, routed: httpx.Response) -> None:
    assert fast.status_code == routed.status_code
    assert _headers(fast) == _headers(routed)
    assert fast.content == routed.content


def _wait(apps: Apps, path: str, status_of: str) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_S
    while time.monotonic() < deadline:
        found: dict[str, Any] = _get(apps.fast, path, DEMO).json()
        document: dict[str, Any] = found.get("data", found.get("response", found))
        if document[status_of] in FINISHED:
            return document
        time.sleep(0.05)
    raise AssertionError(f"{path} did not finish in {WAIT_S} s")


def _data_query(query: str) -> dict[str, Any]:
    return {
        "query": query,
        "outputFormat": "CSV",
        "compression": "NONE",
        "output": {"target": "S3"},
    }


@pytest.fixture(scope="module")
def apps(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Apps]:
    data_dir = tmp_path_factory.mktemp("fast-poll")
    made = server.build(Settings(data_dir=data_dir, demo_scale=0.02, workers=1))
    with made.metadata.begin() as conn:
        logins_repo.add_user(conn, "demo", "clerk", "clerk-password", admin=False)
    made.start()
    made.tenants.refresh()
    try:
        yield Apps(made)
    finally:
        made.stop()


def test_a_completed_data_query_reads_the_same_with_a_link_that_opens(apps: Apps) -> None:
    job = _post(apps.fast, "/query/jobs", _data_query("select accountnumber from account"))
    path = f"/query/jobs/{job['data']['id']}"
    _wait(apps, path, "queryStatus")
    fast, routed = apps.both(path, DEMO)
    assert fast.status_code == 200
    assert _headers(fast) == _headers(routed)
    documents = [answer.json()["data"] for answer in (fast, routed)]
    links = [urllib.parse.urlsplit(document.pop("dataFile")) for document in documents]
    assert documents[0] == documents[1]
    assert documents[0]["queryStatus"] == "completed"
    # The link's expiry is taken at each answer: the same file, both open it.
    assert links[0].path == links[1].path and links[0].netloc == "poll.test"
    for link in links:
        opened = _get(apps.fast, f"{link.path}?{link.query}", {})
        assert opened.status_code == 200
        assert opened.content.startswith(b"accountnumber\n")


def test_a_failed_data_query_and_its_dashed_or_plain_id_read_the_same(apps: Apps) -> None:
    job = _post(apps.fast, "/query/jobs", _data_query("select nothing from nowhere"))
    dashed = job["data"]["id"]
    _wait(apps, f"/query/jobs/{dashed}", "queryStatus")
    for job_id in (dashed, dashed.replace("-", "")):
        fast, routed = apps.both(f"/query/jobs/{job_id}", DEMO)
        _same(fast, routed)
        assert fast.json()["data"]["queryStatus"] == "failed"


def test_a_long_query_is_gzipped_alike(apps: Apps) -> None:
    query = "select accountnumber from account where " + " or ".join(
        f"accountnumber = 'A{index:05d}'" for index in range(60)
    )
    job = _post(apps.fast, "/query/jobs", _data_query(query))
    path = f"/query/jobs/{job['data']['id']}"
    _wait(apps, path, "queryStatus")
    headers = {**DEMO, "Accept-Encoding": "gzip"}
    fast, routed = apps.both(path, headers)
    assert fast.headers["content-encoding"] == routed.headers["content-encoding"] == "gzip"
    assert fast.json()["data"]["query"] == routed.json()["data"]["query"] == query


@pytest.mark.parametrize(
    ("job_id", "headers", "status"),
    [
        ("known", {}, 401),
        ("known", {"apiAccessKeyId": "demo", "apiSecretAccessKey": "wrong"}, 401),
        ("known", CLERK, 403),  # another user's job, not an administrator
        ("00000000-0000-0000-0000-000000000000", DEMO, 404),
        ("not-an-id", DEMO, 404),
    ],
)
def test_what_the_fast_path_leaves_to_the_data_query_route(
    apps: Apps, job_id: str, headers: dict[str, str], status: int
) -> None:
    if job_id == "known":
        job_id = _post(apps.fast, "/query/jobs", _data_query("select 1"))["data"]["id"]
    fast, routed = apps.both(f"/query/jobs/{job_id}", headers)
    assert fast.status_code == status
    _same(fast, routed)


def test_an_aqua_job_reads_the_same(apps: Apps) -> None:
    body = {
        "format": "csv",
        "version": "1.1",
        "queries": [{"name": "a", "query": "select Id from Account", "type": "zoqlexport"}],
    }
    job = _post(apps.fast, "/v1/batch-query/", body)
    path = f"/v1/batch-query/jobs/{job['id']}"
    _wait(apps, path, "status")
    fast, routed = apps.both(path, DEMO)
    _same(fast, routed)
    assert fast.json()["status"] == "completed"


def _report(apps: Apps, definition: dict[str, Any]) -> str:
    body = {"name": "polled", "dsName": "InvoiceItem", "definition": json.dumps(definition)}
    report: dict[str, Any] = _post(apps.fast, "/api/rest/v1/reports", body)["response"]
    return str(report["id"])


SUMMARY = {
    "rowFields": [{"id": "Account.Currency"}],
    "valFields": [{"id": "InvoiceItem.ChargeAmount", "aggregation": "SUM"}],
}


DETAIL = {"selectedFields": [{"id": "InvoiceItem.ChargeAmount"}]}


@pytest.mark.parametrize("prefix", ["/api/rest/v1", "/reporting/api/rest/v1"])
@pytest.mark.parametrize(
    ("definition", "view"), [(SUMMARY, "Summary"), (DETAIL, "Detail")], ids=["summary", "detail"]
)
def test_a_report_run_reads_the_same(
    apps: Apps, prefix: str, definition: dict[str, Any], view: str
) -> None:
    report_id = _report(apps, definition)
    run = _post(apps.fast, f"{prefix}/reports/{report_id}/reportrun?viewType={view}", {})
    path = f"{prefix}/reportruns/{run['response']['reportRunId']}"
    assert _wait(apps, path, "status")["status"] == "COMPLETED"
    for headers in (DEMO, {**DEMO, "Accept-Encoding": "gzip"}):
        fast, routed = apps.both(path, headers)
        _same(fast, routed)
        assert fast.headers["content-type"] == "application/json;charset=UTF-8"
        assert fast.json()["response"]["reportType"] == view


@pytest.mark.parametrize(
    ("run_id", "headers", "status"),
    [
        ("known", {}, 401),
        ("known", CLERK, 200),  # another user of the tenant reads it, as through the route
        ("known", {**DEMO, "entityId": "e1", "entityName": "E"}, 400),  # the route says why
        ("0" * 32, DEMO, 404),
        ("not-an-id", DEMO, 404),
    ],
)
def test_what_the_fast_path_leaves_to_the_report_run_route(
    apps: Apps, run_id: str, headers: dict[str, str], status: int
) -> None:
    if run_id == "known":
        report_id = _report(apps, SUMMARY)
        run = _post(apps.fast, f"/api/rest/v1/reports/{report_id}/reportrun?viewType=Summary", {})
        run_id = run["response"]["reportRunId"]
        _wait(apps, f"/api/rest/v1/reportruns/{run_id}", "status")  # the answers stay the same
    fast, routed = apps.both(f"/api/rest/v1/reportruns/{run_id}", headers)
    assert fast.status_code == status
    _same_but_error_ids(fast, routed)


def _same_but_error_ids(fast: httpx.Response, routed: httpx.Response) -> None:
    """As :func:`_same`, but a Reporting refusal carries a fresh ``errorId`` each time."""
    assert fast.status_code == routed.status_code
    assert _headers(fast) == _headers(routed)
    documents = [answer.json() for answer in (fast, routed)]
    for document in documents:
        if isinstance(document.get("response"), str) and "errorId" in document["response"]:
            inner = json.loads(document["response"])
            inner.pop("errorId")
            document["response"] = inner
    assert documents[0] == documents[1]
