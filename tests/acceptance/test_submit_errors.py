"""Every refusal the submit call can answer, with Zuora's codes, texts and HTTP statuses."""

from __future__ import annotations

import json
import uuid
from typing import Any

import httpx
import pytest

from tests.acceptance import support
from tests.acceptance.conftest import DEMO_PARTNERS, OTHER_AUTH

SYNTAX_ERROR = "There is a syntax error in one of the queries in the AQuA input."
ZUORA_TEXTS = {
    "90004": "Invalid number of queries allowed. "
    "A maximum of 50 queries are supported in an AQuA request.",
    "90005": SYNTAX_ERROR,
    "90012": "Stateless AQuA does not support deleted columns.",
    "90014": "notifyURL must be less than 5000 characters in length.",
    "90015": "The incremental timestamp is invalid.",
    "90016": "There are no queries included in the AQuA version 1.0 request.",
    "90017": "Objects included in the queries do not support the querying of deleted records. "
    'Remove "Deleted" section in the JSON request and retry the request.',
    "90019": "Partner ID is not recognized.",
    "90020": "Invalid Distinct column, without Count function.",
    "90021": "Invalid currency specified in the convertToCurrencies request parameter.",
}
QUERY = {"name": "q", "query": "select Id from Account", "type": "zoqlexport"}


def stateful(**top: Any) -> dict[str, Any]:
    return {
        "format": "csv",
        "version": "1.1",
        "partner": DEMO_PARTNERS[1],
        "project": f"errors-{uuid.uuid4().hex[:8]}",
        "queries": [QUERY],
        **top,
    }


CASES: dict[str, tuple[str, dict[str, Any]]] = {
    "51 queries": (
        "90004",
        {"version": "1.0", "queries": [dict(QUERY, name=f"q{i}") for i in range(51)]},
    ),
    "deleted section in a stateless job": (
        "90012",
        support.stateless("select Id from Account")
        | {
            "queries": [
                dict(QUERY, deleted={"column": "IsDeleted", "format": "Boolean"}),
            ]
        },
    ),
    "notifyUrl of 5000 characters": (
        "90014",
        support.stateless("select Id from Account", notifyUrl="https://x.test/" + "a" * 4986),
    ),
    "incrementalTime not a timestamp": ("90015", stateful(incrementalTime="yesterday")),
    "incrementalTime impossible date": ("90015", stateful(incrementalTime="2015-02-30 10:00:00")),
    "version 1.0 without queries": ("90016", {"version": "1.0", "queries": []}),
    "version 1.0 with no queries key": ("90016", {"version": "1.0", "format": "csv"}),
    "deleted section on AccountingCode in a stateful job": (
        "90017",
        stateful(
            queries=[
                {
                    "name": "codes",
                    "query": "select Id, Name from AccountingCode",
                    "deleted": {"column": "IsDeleted", "format": "Boolean"},
                }
            ]
        ),
    ),
    "partner not configured for the tenant": ("90019", stateful(partner="unknown-partner")),
    "distinct outside count": (
        "90020",
        support.stateless("select sum(distinct Balance) from Account"),
    ),
    "malformed currency code": (
        "90021",
        {"version": "1.0", "queries": [dict(QUERY, convertToCurrencies="EUR,EURO")]},
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_submit_refusal_answers_http_200_with_zuora_code_and_text(
    demo: httpx.Client, case: str
) -> None:
    code, body = CASES[case]
    document = support.assert_error(demo.post("/v1/batch-query/", json=body), code)
    assert set(document) == {"id", "status", "errorCode", "message"}
    assert document["message"].startswith(ZUORA_TEXTS[code]), document


def test_syntax_error_names_query_line_and_column(demo: httpx.Client) -> None:
    body = support.stateless("select Id from Account", "select Id,\n  Nmae from Account")
    body["queries"][1]["name"] = "q2"
    document = support.assert_error(demo.post("/v1/batch-query/", json=body), "90005")
    assert document["message"].startswith(SYNTAX_ERROR + " Query 'q2', line 2, column 3:"), document
    assert "Nmae" in document["message"]


def test_syntax_error_of_reference_example(demo: httpx.Client) -> None:
    body = support.stateless("select Id from Account", "select Id, Nmae from Account")
    body["queries"][1]["name"] = "q2"
    document = support.assert_error(demo.post("/v1/batch-query/", json=body), "90005")
    assert document["message"] == (
        f"{SYNTAX_ERROR} Query 'q2', line 1, column 12: unknown field 'Nmae' on Account"
    )


def test_partner_is_free_when_the_tenant_configures_none(server: support.RunningServer) -> None:
    other = server.client(auth=OTHER_AUTH)
    submitted = support.submit_ok(other, stateful(partner="anything-goes"))
    assert submitted["partner"] == "anything-goes"


def test_a_configured_partner_is_accepted(demo: httpx.Client) -> None:
    support.submit_ok(demo, stateful(partner=DEMO_PARTNERS[0]))


def test_cancel_of_a_completed_job_answers_90003_with_its_status(demo: httpx.Client) -> None:
    done = support.run_job(demo, support.stateless("select Id from Account"))
    for prefix in ("/v1/batch-query", "/apps/api/batch-query"):
        response = demo.delete(f"{prefix}/jobs/{done['id']}")
        assert response.status_code == 200
        assert response.json() == {
            "id": done["id"],
            "status": "completed",
            "errorCode": "90003",
            "message": "Invalid Job Id for job cancellation.",
        }
    assert support.get_job(demo, done["id"]) == done  # unchanged


@pytest.mark.parametrize("job_id", ["None", "0" * 32, "not-an-id", "F" * 32])
def test_unknown_job_ids_answer_90002(demo: httpx.Client, job_id: str) -> None:
    expected = {"id": None, "errorCode": "90002", "message": "Invalid Job Id."}
    for method in ("GET", "DELETE"):
        for prefix in ("/v1/batch-query", "/apps/api/batch-query"):
            response = demo.request(method, f"{prefix}/jobs/{job_id}")
            assert response.status_code == 200, response.text
            assert response.json() == expected, (method, prefix)


@pytest.mark.parametrize(
    "raw",
    [
        b"{not json",
        b'{"version": "1.0",',
        b"",
        b"[]",
        b'[{"version": "1.0"}]',
        b"42",
        b'"x"',
        b"null",
    ],
    ids=["broken", "truncated", "empty", "empty-array", "array", "number", "string", "null"],
)
def test_malformed_or_non_object_body_is_400_with_the_envelope(
    demo: httpx.Client, raw: bytes
) -> None:
    response = demo.post("/v1/batch-query/", content=raw)
    assert response.status_code == 400, response.text
    document = response.json()
    assert set(document) == {"id", "status", "errorCode", "message"}, document
    assert document["id"] is None and document["status"] == "error"
    assert isinstance(document["errorCode"], str) and document["errorCode"]
    assert isinstance(document["message"], str) and document["message"]


def test_body_over_one_megabyte_is_413(demo: httpx.Client) -> None:
    padding = "x" * (1024 * 1024)
    body = json.dumps(support.stateless("select Id from Account", padding=padding)).encode()
    response = demo.post("/v1/batch-query/", content=body)
    assert response.status_code == 413, response.text


def test_unknown_fields_are_ignored(demo: httpx.Client) -> None:
    body = support.stateless("select Id from Account", somethingNew={"x": 1}, colour="teal")
    body["queries"][0]["alsoNew"] = [1, 2]
    done = support.run_job(demo, body)
    assert "somethingNew" not in done and "colour" not in done


def test_successful_submit_and_get_carry_no_message_or_error_code(demo: httpx.Client) -> None:
    submitted = support.submit_ok(demo, support.stateless("select Id, Balance from Account"))
    done = support.wait_for_job(demo, submitted["id"])
    for document in (submitted, done):
        assert "message" not in document and "errorCode" not in document, document
        for batch in document["batches"]:
            assert type(batch["recordCount"]) is int
    assert done["batches"][0]["recordCount"] == 50
