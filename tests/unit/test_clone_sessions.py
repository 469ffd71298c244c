"""``aquarium clone --refresh``'s sessions against a fake source (httpx.MockTransport): one
session per object, its body, and which objects count as changed."""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from aquarium import client
from aquarium.catalog import model
from aquarium.services import clone_sessions, tenant_clone

URL = "http://source.test"


class Source:
    """Completes each job at once; ``answers`` maps an object to (full, recordCount, status)."""

    def __init__(self, answers: dict[str, tuple[bool, int, str]]) -> None:
        self.answers = answers
        self.bodies: list[dict[str, Any]] = []

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST":
            self.bodies.append(json.loads(request.content))
            return httpx.Response(200, json=self._job(len(self.bodies) - 1, "submitted"))
        if request.url.path.startswith("/v1/batch-query/jobs/"):
            return httpx.Response(200, json=self._job(int(request.url.path.rsplit("/", 1)[1])))
        return httpx.Response(404, json={"message": "no such path"})

    def _job(self, number: int, status: str | None = None) -> dict[str, Any]:
        query = self.bodies[number]["queries"][0]
        full, rows, ended = self.answers[query["name"]]
        batch = {
            "batchId": "b",
            "name": query["name"],
            "query": query["query"],
            "status": "pending" if status else ("aborted" if ended == "aborted" else "completed"),
            "recordCount": rows,
            "full": full,
            "message": "boom" if ended == "aborted" else "",
        }
        return {"id": str(number), "status": status or ended, "batches": [batch]}

    def advance(self, names: list[str]) -> list[str]:
        transport = httpx.MockTransport(self.handle)
        credentials = client.Credentials.basic("u", "p")
        with client.Client(URL, credentials, transport=transport, sleep=lambda s: None) as api:
            return clone_sessions.advance(api, names, tenant="copy", catalog=model.default())


def test_new_sessions_and_increments_with_rows_are_changes_empty_increments_are_not() -> None:
    source = Source(
        {
            "Account": (False, 0, "completed"),
            "Invoice": (False, 3, "completed"),
            "AccountingCode": (True, 12, "completed"),
        }
    )
    assert source.advance(["Account", "Invoice", "AccountingCode"]) == [
        "Invoice",
        "AccountingCode",
    ]


def test_one_session_per_object_ids_only_offset_zero_deleted_where_kept() -> None:
    source = Source({"Account": (False, 0, "completed"), "AccountingCode": (False, 0, "completed")})
    source.advance(["Account", "AccountingCode"])
    account, code = source.bodies
    assert (account["partner"], account["project"]) == ("aquarium", "copy.Account")
    assert (code["project"], account["version"], account["offset"]) == (
        "copy.AccountingCode",
        "1.1",
        0,
    )
    assert account["queries"][0]["query"] == "select Id from Account"
    assert account["queries"][0]["deleted"] == {"column": "IsDeleted", "format": "Boolean"}
    assert "deleted" not in code["queries"][0]  # AccountingCode keeps no deleted records


def test_a_session_job_that_does_not_complete_stops_the_refresh_with_its_message() -> None:
    source = Source({"Account": (False, 0, "aborted")})
    with pytest.raises(tenant_clone.CloneFailed, match="for Account ended aborted: boom"):
        source.advance(["Account"])
