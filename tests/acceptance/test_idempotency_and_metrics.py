"""``Idempotency-Key`` on submit, and the Prometheus endpoint (every kind of job counted)."""

from __future__ import annotations

import time
import uuid

import httpx

from tests.acceptance import support


def test_same_idempotency_key_and_body_returns_the_same_job(demo: httpx.Client) -> None:
    key = {"Idempotency-Key": f"key-{uuid.uuid4()}"}
    body = support.stateless("select Id from Account")
    first = demo.post("/v1/batch-query/", json=body, headers=key)
    second = demo.post("/v1/batch-query/", json=body, headers=key)
    assert first.status_code == second.status_code == 200
    assert support.is_id(first.json()["id"])
    assert second.json()["id"] == first.json()["id"]
    done = support.wait_for_job(demo, first.json()["id"])
    third = demo.post("/v1/batch-query/", json=body, headers=key)
    assert third.json()["id"] == first.json()["id"]
    assert third.json()["status"] == done["status"]


def test_same_idempotency_key_with_another_body_is_400(demo: httpx.Client) -> None:
    key = {"Idempotency-Key": f"key-{uuid.uuid4()}"}
    first = demo.post(
        "/v1/batch-query/", json=support.stateless("select Id from Account"), headers=key
    )
    assert first.status_code == 200 and support.is_id(first.json()["id"])
    other = demo.post(
        "/v1/batch-query/", json=support.stateless("select Name from Account"), headers=key
    )
    assert other.status_code == 400, other.text
    document = other.json()
    assert set(document) == {"id", "status", "errorCode", "message"}
    assert document["id"] is None and document["status"] == "error"


def test_without_idempotency_key_every_submit_is_a_new_job(demo: httpx.Client) -> None:
    body = support.stateless("select Id from Account")
    assert support.submit_ok(demo, body)["id"] != support.submit_ok(demo, body)["id"]


def test_metrics_answer_prometheus_text_with_job_counts(
    server: support.RunningServer, demo: httpx.Client
) -> None:
    support.run_job(demo, support.stateless("select Id from Account"))
    response = httpx.get(server.base_url + "/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    lines = response.text.splitlines()
    assert "# TYPE aquarium_jobs_total counter" in lines
    samples = [line for line in lines if line.startswith("aquarium_jobs_total{")]
    by_status = {}
    for sample in samples:
        labels, _, value = sample.rpartition(" ")
        by_status[labels] = float(value)
    completed = [v for k, v in by_status.items() if 'status="completed"' in k]
    assert completed and completed[0] >= 1, samples


def _samples(server: support.RunningServer, name: str) -> dict[str, float]:
    """The metric's samples by their labels (``{kind="aqua",status="completed"}``)."""
    text = httpx.get(server.base_url + "/metrics").text
    found = {}
    for line in text.splitlines():
        if line.startswith(name + "{") or line.startswith(name + " "):
            labels, _, value = line.removeprefix(name).rpartition(" ")
            found[labels] = float(value)
    return found


def test_metrics_count_data_query_jobs_as_a_kind(
    server: support.RunningServer, demo: httpx.Client
) -> None:
    exported = _samples(server, "aquarium_rows_exported_total").get("", 0.0)
    body = {"query": "select id from account", "outputFormat": "JSON", "compression": "NONE"}
    submitted = demo.post("/query/jobs", json=body | {"output": {"target": "S3"}})
    dashed = submitted.json()["data"]["id"]
    deadline = time.monotonic() + support.JOB_TIMEOUT_S
    while (done := demo.get(f"/query/jobs/{dashed}").json()["data"])["queryStatus"] != "completed":
        assert time.monotonic() < deadline, done
        time.sleep(support.POLL_INTERVAL_S)
    totals = _samples(server, "aquarium_jobs_total")
    for status in ("accepted", "in_progress", "completed"):
        assert totals.get(f'{{kind="dataquery",status="{status}"}}', 0) >= 1, totals
    stored = _samples(server, "aquarium_jobs_stored")
    assert stored.get('{kind="dataquery",status="completed"}', 0) >= 1, stored
    rows = _samples(server, "aquarium_rows_exported_total")[""]
    assert rows - exported >= done["outputRows"] == 50
