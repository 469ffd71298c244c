"""Issue 11, defects 5 and 7 over real HTTP: what was accepted at submit though it could never
work, or wrote a file that does not read back, is refused at submit with the reason; what can be
written faithfully is, and reads back as written.
"""

from __future__ import annotations

import json
from typing import Any

import httpx
import pytest

from tests.acceptance import support

REPORTS = "/api/rest/v1"


def _refused(client: httpx.Client, body: dict[str, Any]) -> str:
    document = support.assert_error(
        client.post("/v1/batch-query/", json=body), "50000090", http_status=400
    )
    message: str = document["message"]
    return message


# -- defect 5: nullReplacement --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("null", "words"),
    [("a\nb", "a line feed"), (",", "a comma"), ('"', "a double quote")],
)
def test_a_null_replacement_the_csv_cannot_hold_is_refused_at_submit(
    scratch: httpx.Client, null: str, words: str
) -> None:
    body = support.stateless("select Id, ParentId from Account", nullReplacement=null)
    message = _refused(scratch, body)
    assert f"'nullReplacement' cannot hold {words}" in message
    assert "DELIMITER" not in message


def test_a_null_replacement_is_written_faithfully(scratch: httpx.Client) -> None:
    """Nulls become the replacement, unquoted; a value equal to it is quoted, so a reader can
    tell them apart; every record reads back as one record."""
    made = scratch.post("/v1/object/Account", json={"Name": "NULL", "Currency": "USD",
                                                 "BillCycleDay": 1})  # fmt: skip
    assert made.status_code == 200, made.text
    query = f"select Name, ParentId from Account where Id = '{made.json()['Id']}'"
    done = support.run_job(scratch, support.stateless(query, nullReplacement="NULL"))
    [batch] = done["batches"]
    data = support.download(scratch, batch["fileId"]).content
    assert data.split(b"\n")[1] == b'"NULL",NULL'
    assert support.parse_csv(data)[1] == ["NULL", "NULL"]
    everything = support.run_job(
        scratch, support.stateless("select Id, ParentId, Name from Account", nullReplacement="∅ -")
    )
    [batch] = everything["batches"]
    rows = support.parse_csv(support.download(scratch, batch["fileId"]).content)
    assert len(rows) == batch["recordCount"] + 1
    assert {len(row) for row in rows} == {3}


# -- defect 7: refused at submit ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("file:///etc/passwd", "must be an http or https URL, not file"),
        ("javascript:alert(document.cookie)", "must be an http or https URL, not javascript"),
        ("https://example.com/cb?id=${JOBID}\r\nX-Evil: 1", "holds a control character"),
    ],
)
def test_a_notify_url_that_can_never_be_called_is_refused_at_submit(
    scratch: httpx.Client, url: str, words: str
) -> None:
    message = _refused(scratch, support.stateless("select Id from Account", notifyUrl=url))
    assert f"'notifyUrl' {words}" in message


def test_a_100_kb_batch_name_is_refused_at_submit(scratch: httpx.Client) -> None:
    body = {
        "format": "zip",
        "version": "1.1",
        "queries": [{"name": "b" * 100_000, "query": "select Id from Account"}],
    }
    message = _refused(scratch, body)
    assert "'name' is limited to 255 characters; it has 100,000" in message


def test_a_report_field_id_that_names_no_field_is_refused_at_save(scratch: httpx.Client) -> None:
    body = {"name": "dot", "dsName": "Account", "definition": {"selectedFields": [{"id": ".Name"}]}}
    answer = scratch.post(f"{REPORTS}/reports", json=body)
    assert answer.status_code == 400, answer.text
    inner = json.loads(answer.json()["response"])
    assert inner["errorCode"] == "ZAN-USAGE-REST-ERROR"
    assert inner["message"] == "The field .Name is not a valid field of the datasource."


def test_a_report_name_longer_than_its_column_is_refused(scratch: httpx.Client) -> None:
    definition = {"selectedFields": [{"id": "Account.Name"}]}
    answer = scratch.post(
        f"{REPORTS}/reports",
        json={"name": "r" * 256, "dsName": "Account", "definition": definition},
    )
    assert answer.status_code == 400, answer.text
    assert "longer than 255 characters" in answer.text
