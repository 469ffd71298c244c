"""The acceptance tier's check of answers against openapi.json can fail (openapi_check)."""

from __future__ import annotations

import json

import httpx
import pytest

from tests.acceptance import openapi_check

JOB = "/v1/batch-query/jobs/" + "0" * 32
GOOD_JOB = {
    "id": "0" * 32,
    "version": "1.0",
    "format": "CSV",
    "encrypted": "none",
    "status": "completed",
    "batches": [],
}


def body(value: object) -> bytes:
    return json.dumps(value).encode()


@pytest.mark.unit
def test_a_documented_answer_passes() -> None:
    assert openapi_check.problems("GET", JOB, 200, "application/json", body(GOOD_JOB)) == []
    refusal = {"id": None, "errorCode": "90002", "message": "Invalid Job Id."}
    assert openapi_check.problems("GET", JOB + "/", 200, "application/json", body(refusal)) == []


@pytest.mark.unit
@pytest.mark.parametrize(
    ("method", "path", "status", "media", "value"),
    [
        # a job without batches is neither a job nor a refusal
        ("GET", JOB, 200, "application/json", {"id": "0" * 32, "status": "completed"}),
        # a status the operation does not answer
        ("GET", JOB, 418, "application/json", GOOD_JOB),
        # Reporting without Zuora's charset
        ("GET", "/api/rest/v1/reportruns/" + "0" * 32, 200, "application/json", {"success": True}),
        # the Reporting error envelope's response must be a string
        (
            "GET",
            "/reporting/api/rest/v1/reportruns/x",
            404,
            "application/json;charset=UTF-8",
            {"success": False, "response": {"message": "x"}, "links": None},
        ),
        # FastAPI's own body where the family's envelope belongs
        ("POST", "/v1/object/account", 404, "application/json", {"detail": "Not Found"}),
    ],
)
def test_a_wrong_answer_is_caught(
    method: str, path: str, status: int, media: str, value: object
) -> None:
    assert openapi_check.problems(method, path, status, media, body(value))


@pytest.mark.unit
def test_the_most_literal_path_wins() -> None:
    found = openapi_check.operation_of("POST", "/api/rest/v1/reports/copy")
    assert found is not None and found["operationId"] == "copy_report"
    assert openapi_check.operation_of("GET", "/jobs") is None  # a page: not judged


@pytest.mark.unit
def test_the_hook_remembers_what_broke_the_document() -> None:
    request = httpx.Request("GET", "http://test" + JOB)
    wrong = httpx.Response(200, json={"status": "completed"}, request=request)
    openapi_check.check(wrong)
    assert openapi_check.taken()
    assert openapi_check.taken() == []
