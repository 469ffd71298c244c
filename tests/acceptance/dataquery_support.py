"""Data Query calls over HTTP for the acceptance tests (reference dataquery.md sections 1-7)."""

from __future__ import annotations

import gzip
import io
import json
import time
import zipfile
from collections.abc import Callable
from typing import Any

import httpx

TERMINAL = ("completed", "failed", "cancelled")
POLL_S = 0.05
TIMEOUT_S = 120.0
UUID_CHARS = set("0123456789abcdef-")


def body(query: str, output_format: str = "JSON", compression: str = "NONE", **more: Any) -> (
    dict[str, Any]
):  # fmt: skip
    """What every real client sends (reference section 2), plus ``more``."""
    return {
        "query": query,
        "outputFormat": output_format,
        "compression": compression,
        "output": {"target": "S3"},
        **more,
    }


def is_uuid(value: object) -> bool:
    return (
        isinstance(value, str)
        and len(value) == 36
        and set(value) <= UUID_CHARS
        and [len(part) for part in value.split("-")] == [8, 4, 4, 4, 12]
    )


def submit(client: httpx.Client, payload: object, **kwargs: Any) -> dict[str, Any]:
    """POST /query/jobs; must be 200 ``accepted``; the job."""
    response = client.post("/query/jobs", json=payload, **kwargs)
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()["data"]
    assert job["queryStatus"] == "accepted", job
    assert is_uuid(job["id"]), job
    return job


def get(client: httpx.Client, job_id: str) -> dict[str, Any]:
    response = client.get(f"/query/jobs/{job_id}")
    assert response.status_code == 200, response.text
    job: dict[str, Any] = response.json()["data"]
    return job


def wait(
    client: httpx.Client,
    job_id: str,
    until: Callable[[dict[str, Any]], bool] = lambda job: job["queryStatus"] in TERMINAL,
    timeout: float = TIMEOUT_S,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        job = get(client, job_id)
        if until(job):
            return job
        if time.monotonic() > deadline:
            raise AssertionError(f"job {job_id} did not get there in {timeout} s: {job}")
        time.sleep(POLL_S)


def submitted(client: httpx.Client, query: str) -> str:
    """The dashed id of a CSV job of ``query`` just accepted."""
    job_id: str = submit(client, body(query, "CSV"))["id"]
    return job_id


def wait_for(client: httpx.Client, job_id: str, *statuses: str) -> dict[str, Any]:
    """Poll until the job is in one of ``statuses`` (default: any terminal one)."""
    wanted = statuses or TERMINAL
    return wait(client, job_id, lambda job: job["queryStatus"] in wanted)


def run(client: httpx.Client, payload: object) -> dict[str, Any]:
    """Submit and wait; the job must complete."""
    job = wait(client, submit(client, payload)["id"])
    assert job["queryStatus"] == "completed", job
    return job


def fail(client: httpx.Client, payload: object) -> dict[str, Any]:
    """Submit and wait; the job must fail."""
    job = wait(client, submit(client, payload)["id"])
    assert job["queryStatus"] == "failed", job
    return job


def download(job: dict[str, Any]) -> bytes:
    """The job's result, fetched from ``dataFile`` with no credentials at all."""
    response = httpx.get(job["dataFile"], timeout=30.0)
    assert response.status_code == 200, response.text
    return response.content


def unpacked(data: bytes, compression: str) -> bytes:
    if compression == "GZIP":
        return gzip.decompress(data)
    if compression == "ZIP":
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            (name,) = archive.namelist()
            return archive.read(name)
    return data


def json_lines(data: bytes) -> list[dict[str, Any]]:
    return [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]


def refusal(response: httpx.Response, status: int, code: int) -> str:
    """Zuora's ``{"code", "message"}`` with ``status``; the message."""
    assert response.status_code == status, response.text
    document = response.json()
    assert document["code"] == code, document
    assert isinstance(document["message"], str) and document["message"], document
    message: str = document["message"]
    return message
