"""Cancelling jobs that are running or waiting (the seed "Delete a running job"), on a server
whose demo tenant is generated at scale 1 so that a job of 20 ``select * from InvoiceItem``
queries runs long enough to be caught in the middle. Also the concurrent-job limit (90028),
which needs jobs slow enough to still be running when the next one arrives.
"""

from __future__ import annotations

import time
import uuid
from typing import Any

import httpx
import pytest

from tests.acceptance import support
from tests.acceptance.conftest import LIMITED_AUTH

# One scale-1 server per run, even under pytest-xdist (--dist loadgroup).
pytestmark = pytest.mark.xdist_group("acceptance-big-server")

SLOW_QUERIES = 20
GET_CONSISTENT_WITHIN_S = 5.0


def slow_body(**top: Any) -> dict[str, Any]:
    body = support.stateless(*["select * from InvoiceItem"] * SLOW_QUERIES, **top)
    body["name"] = "June10"
    return body


def session_body(project: str, *queries: str) -> dict[str, Any]:
    body = support.stateless(*queries, partner="salesforce", project=project)
    body["version"] = "1.1"
    return body


def cancel(client: httpx.Client, job_id: str, prefix: str = "/v1/batch-query") -> dict[str, Any]:
    response = client.delete(f"{prefix}/jobs/{job_id}")
    assert response.status_code == 200, response.text
    document: dict[str, Any] = response.json()
    return document


def statuses(document: dict[str, Any]) -> list[tuple[str, str | None]]:
    return [(batch["status"], batch.get("fileId")) for batch in document["batches"]]


@pytest.fixture(scope="module")
def big(big_server: support.RunningServer) -> httpx.Client:
    """The demo tenant of the scale-1 server, over HTTP Basic."""
    return big_server.client()


def test_delete_of_a_running_job_answers_the_job_cancelled(big: httpx.Client) -> None:
    submitted = support.submit_ok(big, slow_body())
    running = support.wait_for_job(
        big,
        submitted["id"],
        lambda doc: (
            any(b["status"] == "completed" for b in doc["batches"])
            or doc["status"] in support.TERMINAL
        ),
    )
    assert running["status"] == "executing", running

    answer = cancel(big, submitted["id"], "/apps/api/batch-query")
    assert answer["status"] == "cancelled", answer
    assert answer["id"] == submitted["id"]
    assert answer["name"] == "June10"
    assert answer["version"] == "1.0" and answer["format"] == "CSV"
    assert answer["encrypted"] == "none"
    assert "errorCode" not in answer and "message" not in answer
    completed = [b for b in answer["batches"] if b["status"] == "completed"]
    rest = [b for b in answer["batches"] if b["status"] != "completed"]
    assert completed, answer
    assert rest, "a job of 20 slow queries should not finish before the DELETE"
    for batch in completed:
        assert support.is_id(batch["fileId"]), batch
        assert batch["recordCount"] > 0
        assert batch["message"] == ""
    for batch in rest:
        assert batch["status"] == "cancelled", batch
        assert "fileId" not in batch and "segments" not in batch, batch
    # Batches run in order: the completed ones are a prefix.
    assert answer["batches"][: len(completed)] == completed

    # The server's state agrees with its answer (allowing for the interrupt to land).
    deadline = time.monotonic() + GET_CONSISTENT_WITHIN_S
    while True:
        current = support.get_job(big, submitted["id"])
        if statuses(current) == statuses(answer) or time.monotonic() > deadline:
            break
        time.sleep(support.POLL_INTERVAL_S)
    assert current["status"] == "cancelled"
    assert statuses(current) == statuses(answer)

    # Files of the batches that had completed stay downloadable, and are whole.
    for batch in completed:
        response = big.get(f"/v1/file/{batch['fileId']}")
        assert response.status_code == 200
        assert response.content.count(b"\n") == batch["recordCount"] + 1

    # Idempotent: a second DELETE answers the same document.
    again = cancel(big, submitted["id"])
    assert again == current
    assert cancel(big, submitted["id"], "/apps/api/batch-query") == current


def test_job_cancelled_while_submitted_never_starts(big: httpx.Client) -> None:
    project = f"queue-{uuid.uuid4().hex[:8]}"
    # Same session: the second job must wait for the first (one at a time, arrival order).
    first = support.submit_ok(big, session_body(project, *["select * from InvoiceItem"] * 20))
    waiting = support.submit_ok(big, session_body(project, "select Id from Account"))
    support.wait_for_job(big, first["id"], lambda doc: doc["status"] != "submitted")
    assert support.get_job(big, waiting["id"])["status"] == "submitted"

    answer = cancel(big, waiting["id"])
    assert answer["status"] == "cancelled", answer
    assert "startTime" not in answer
    assert [b["status"] for b in answer["batches"]] == ["cancelled"]
    assert "fileId" not in answer["batches"][0]

    # Let the session move on: stop the first job, then run a third one to completion. Jobs of
    # a session run in arrival order, so once the third is done the cancelled one had its turn.
    assert cancel(big, first["id"])["status"] == "cancelled"
    third = support.submit_ok(big, session_body(project, "select Id from Account"))
    assert support.wait_for_job(big, third["id"])["status"] == "completed"

    after = support.get_job(big, waiting["id"])
    assert after["status"] == "cancelled"
    assert "startTime" not in after, after
    assert [(b["status"], b.get("fileId"), b["recordCount"]) for b in after["batches"]] == [
        ("cancelled", None, 0)
    ]


def test_last_completed_ignores_later_cancelled_jobs(big: httpx.Client) -> None:
    project = f"last-{uuid.uuid4().hex[:8]}"
    done = support.run_job(big, session_body(project, "select Id from Account"))
    slow = support.submit_ok(big, session_body(project, *["select * from InvoiceItem"] * 20))
    assert cancel(big, slow["id"])["status"] == "cancelled"
    last = big.get(f"/v1/batch-query/jobs/partner/salesforce/project/{project}")
    assert last.status_code == 200
    assert last.json()["id"] == done["id"]
    assert last.json()["status"] == "completed"


def test_submit_over_concurrent_stateless_limit_answers_90028(
    big_server: support.RunningServer,
) -> None:
    limited = big_server.client(auth=LIMITED_AUTH)
    first = support.submit_ok(limited, slow_body())
    try:
        second = limited.post("/v1/batch-query/", json=slow_body())
        assert support.get_job(limited, first["id"])["status"] in {"submitted", "executing"}
        document = support.assert_error(second, "90028")
        assert document["message"].startswith(
            "The total number of concurrent jobs has exceeded the limit allowed by the system."
        )
    finally:
        cancel(limited, first["id"])
    # Once the first job is cancelled the tenant may submit again.
    again = support.submit_ok(limited, support.stateless("select Id from Account"))
    assert support.wait_for_job(limited, again["id"])["status"] == "completed"
