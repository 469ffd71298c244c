"""Issue 11, defects 1, 3 and 4: JSON bodies beyond what any endpoint reads, over real HTTP.

Each reproduction of the issue is sent as written there: a lone surrogate (``"\\ud800"``) in
every field it named, 1,000 nested arrays (2 KB) to every JSON endpoint, integers of 5,000
digits where it found them and a 31-digit ``rowCount`` filter. Every answer is the family's
refusal (HTTP 400), saying what is wrong and where; none is a 500.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import httpx
import pytest

from tests.acceptance import support

SURROGATE = "\\ud800"  # as the JSON text spells it: a lone high surrogate
DEEP = b"[" * 1000 + b"]" * 1000  # the issue's 2 KB of nested arrays
HUGE = "9" * 5000
REPORTS = "/api/rest/v1"
ACCOUNT = {"Name": "Hostile", "Currency": "USD", "BillCycleDay": 1}
DEFINITION = {"selectedFields": [{"id": "Account.Name"}]}


def _post(
    client: httpx.Client, path: str, raw: str | bytes, method: str = "POST"
) -> httpx.Response:
    content = raw.encode("utf-8") if isinstance(raw, str) else raw
    return client.request(
        method, path, content=content, headers={"Content-Type": "application/json"}
    )


def _with_surrogate(document: object, marker: str = "@@") -> str:
    """``document`` as JSON text with each ``marker`` replaced by a lone surrogate escape."""
    return json.dumps(document).replace(marker, SURROGATE)


def aqua_refusal(response: httpx.Response) -> str:
    document = support.assert_error(response, "50000090", http_status=400)
    message: str = document["message"]
    assert message.startswith("Oops, request is malformed. Please check your request.")
    return message


def reporting_refusal(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    document = response.json()
    assert document["success"] is False and document["links"] is None
    inner = json.loads(document["response"])
    assert inner["errorCode"] == "ZAN-REST-ERROR", inner
    message: str = inner["message"]
    assert message.startswith("Could not read JSON: ")
    return message


def crud_refusal(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    document = response.json()
    assert document["Success"] is False
    [problem] = document["Errors"]
    assert problem["Code"] == "INVALID_VALUE"
    message: str = problem["Message"]
    return message


# -- defect 1: lone surrogates ----------------------------------------------------------------


QUERY = "select Id from Account"
IN_JOBS = [
    ("job name", {"name": "@@"}, "at name"),
    ("query name", {"queries": [{"name": "@@", "query": QUERY}]}, "at queries[0].name"),
    ("query text", {"queries": [{"query": QUERY + " where Name = '@@'"}]}, "at queries[0].query"),
    ("partner", {"version": "1.1", "partner": "@@", "project": "p"}, "at partner"),
    ("notifyUrl", {"notifyUrl": "https://example.com/@@"}, "at notifyUrl"),
    ("nullReplacement", {"nullReplacement": "@@"}, "at nullReplacement"),
]


@pytest.mark.parametrize(("field", "body", "where"), IN_JOBS, ids=[case[0] for case in IN_JOBS])
def test_a_lone_surrogate_in_a_job_is_refused_where_it_is(
    scratch: httpx.Client, field: str, body: dict[str, Any], where: str
) -> None:
    job = {**support.stateless("select Id from Account"), **body}
    message = aqua_refusal(_post(scratch, "/v1/batch-query/", _with_surrogate(job)))
    assert "not valid Unicode" in message and message.endswith(f"{where}."), (field, message)


@pytest.mark.parametrize(
    ("field", "path", "body"),
    [
        ("report name", "/reports", {"name": "@@", "dsName": "Account", "definition": DEFINITION}),
        ("label name", "/reportlabels", {"name": "@@"}),
        (
            "report filter value",
            "/reports",
            {
                "name": "filtered",
                "dsName": "Account",
                "definition": {
                    **DEFINITION,
                    "detailFilters": [
                        {"field": {"id": "Account.Name"}, "operator": {"value": "="}, "value": "@@"}
                    ],
                },
            },
        ),
        ("run list filter", "/reportruns", {"filters": [{"field": "reportName", "value": "@@"}]}),
    ],
)
def test_a_lone_surrogate_in_a_reporting_body_is_a_400(
    scratch: httpx.Client, field: str, path: str, body: dict[str, Any]
) -> None:
    message = reporting_refusal(_post(scratch, REPORTS + path, _with_surrogate(body)))
    assert "not valid Unicode" in message, (field, message)


def test_a_lone_surrogate_in_label_ids_or_a_run_filter_is_a_400(scratch: httpx.Client) -> None:
    created = scratch.post(f"{REPORTS}/reports", json={"name": "labelled", "dsName": "Account",
                                                    "definition": DEFINITION})  # fmt: skip
    assert created.status_code == 200, created.text
    report_id = created.json()["response"]["id"]
    labelled = _post(scratch, f"{REPORTS}/reports/{report_id}/reportlabels", f'["{SURROGATE}"]')
    assert "not valid Unicode" in reporting_refusal(labelled)
    # The documented body, {"labelIds": [...]}, to add and to take off a label.
    for method in ("POST", "DELETE"):
        documented = _post(
            scratch,
            f"{REPORTS}/reports/{report_id}/reportlabels",
            _with_surrogate({"labelIds": ["@@"]}),
            method=method,
        )
        assert reporting_refusal(documented).endswith("at labelIds[0]"), method
    override = [{"field": {"id": "Account.Name"}, "operator": {"value": "="}, "value": "@@"}]
    run = _post(
        scratch,
        f"{REPORTS}/reports/{report_id}/reportrun?viewType=Detail",
        _with_surrogate(override),
    )
    assert "not valid Unicode" in reporting_refusal(run)


def test_a_lone_surrogate_inside_a_definition_string_is_a_400(scratch: httpx.Client) -> None:
    inner = json.dumps({"selectedFields": [{"id": "Account.@@"}]})
    body = {"name": "stringly", "dsName": "Account", "definition": inner}
    # The definition is a JSON string holding JSON: the escape must survive one decoding.
    raw = json.dumps(body).replace("@@", "\\" + SURROGATE)
    message = reporting_refusal(_post(scratch, f"{REPORTS}/reports", raw))
    assert "the report definition holds text that is not valid Unicode" in message


def test_a_lone_surrogate_in_an_object_is_refused_without_engine_words(
    scratch: httpx.Client,
) -> None:
    message = crud_refusal(
        _post(scratch, "/v1/object/Account", _with_surrogate({**ACCOUNT, "Name": "@@"}))
    )
    assert "not valid Unicode" in message and message.endswith("at Name")
    assert "Error" not in message


# -- defect 3: deep JSON ------------------------------------------------------------------------


def test_deep_json_is_refused_by_every_json_endpoint(scratch: httpx.Client) -> None:
    created = scratch.post("/v1/object/Account", json=ACCOUNT)
    account_id = created.json()["Id"]
    report = scratch.post(f"{REPORTS}/reports", json={"name": "deep", "dsName": "Account",
                                                   "definition": DEFINITION})  # fmt: skip
    report_id = report.json()["response"]["id"]
    for path in ("/v1/batch-query/", "/apps/api/batch-query/"):
        assert "levels deep" in aqua_refusal(_post(scratch, path, DEEP))
    assert "levels deep" in crud_refusal(_post(scratch, "/v1/object/Account", DEEP))
    assert "levels deep" in crud_refusal(
        _post(scratch, f"/v1/object/Account/{account_id}", DEEP, method="PUT")
    )
    for method, path in [
        ("POST", "/reports"),
        ("POST", f"/reports/{report_id}"),
        ("POST", "/reportlabels"),
        ("POST", f"/reports/{report_id}/reportlabels"),
        ("DELETE", f"/reports/{report_id}/reportlabels"),
        ("POST", f"/reports/{report_id}/reportrun?viewType=Detail"),
        ("POST", "/reportruns"),
        ("POST", "/settings"),
        ("POST", "/reports/transfer-ownership"),
    ]:
        for prefix in (REPORTS, "/reporting" + REPORTS):
            message = reporting_refusal(_post(scratch, prefix + path, DEEP, method=method))
            assert "levels deep" in message, (method, path)


def test_a_deep_definition_string_is_refused(scratch: httpx.Client) -> None:
    body = {"name": "deep string", "dsName": "Account", "definition": DEEP.decode()}
    message = reporting_refusal(scratch.post(f"{REPORTS}/reports", json=body))
    assert "the report definition nests" in message


def test_a_deep_job_list_cursor_is_a_bad_request(scratch: httpx.Client) -> None:
    cursor = base64.urlsafe_b64encode(DEEP).decode().rstrip("=")
    answer = scratch.get("/aquarium/api/v1/jobs", params={"cursor": cursor})
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["code"] == "bad_request"


# -- defect 4: huge integers ----------------------------------------------------------------------


def test_huge_integers_are_refused_where_the_issue_found_them(scratch: httpx.Client) -> None:
    offset = (
        '{"version": "1.1", "partner": "salesforce", "project": "p", "offset": ' + HUGE + ", "
        '"queries": [{"name": "q", "query": "select Id from Account"}]}'
    )
    assert "beyond 64 bits" in aqua_refusal(_post(scratch, "/v1/batch-query/", offset))
    priority = json.dumps(
        {
            "name": "sorted",
            "dsName": "Account",
            "definition": {
                "selectedFields": [{"id": "Account.Name", "sortDir": "ASC", "sortPriority": 0}]
            },
        }
    )
    priority = priority.replace('"sortPriority": 0', f'"sortPriority": {HUGE}')
    assert "beyond 64 bits" in reporting_refusal(_post(scratch, f"{REPORTS}/reports", priority))
    cycle = json.dumps(ACCOUNT).replace('"BillCycleDay": 1', f'"BillCycleDay": {HUGE}')
    assert "beyond 64 bits" in crud_refusal(_post(scratch, "/v1/object/Account", cycle))
    row_count = '{"filters": [{"field": "rowCount", "operator": ">", "value": ' + "9" * 31 + "}]}"
    assert "beyond 64 bits" in reporting_refusal(_post(scratch, f"{REPORTS}/reportruns", row_count))


def test_the_widest_64_bit_row_count_filter_is_answered(scratch: httpx.Client) -> None:
    body = {"filters": [{"field": "rowCount", "operator": "<", "value": 2**63 - 1}]}
    answer = scratch.post(f"{REPORTS}/reportruns", json=body)
    assert answer.status_code == 200, answer.text
