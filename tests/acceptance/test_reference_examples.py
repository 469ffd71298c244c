"""The reference's own examples, sent as they are written, against a real server."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from tests.acceptance import deployments, support

DEPLOYMENTS = deployments.BOTH  # every test runs embedded and scale-out (conftest.py)

START_TIME = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}")
# Reference section 3.3: the submit whose answers the docs print (stateful, newer style).
EXAMPLE_QUERY = "select Id,StartDate,EndDate,FiscalYear,Name,Status from AccountingPeriod"


def example_body(project: str) -> dict[str, Any]:
    return {
        "format": "csv",
        "version": "1.1",
        "name": "Example",
        "encrypted": "none",
        "useQueryLabels": "true",
        "partner": "salesforce",
        "project": project,
        "queries": [{"name": "AccountingPeriod", "query": EXAMPLE_QUERY, "type": "zoqlexport"}],
    }


def composite_body(project: str) -> dict[str, Any]:
    """Reference section 2, verbatim but for the project (one session per test)."""
    return {
        "format": "csv",
        "version": "1.1",
        "name": "Example",
        "encrypted": "none",
        "useQueryLabels": "true",
        "dateTimeUtc": "true",
        "partner": "salesforce",
        "project": project,
        "notifyUrl": "https://example/cb?jobId=${JOBID}&status=${STATUS}",
        "incrementalTime": "2015-01-21 10:30:01",
        "offset": 600,
        "nullReplacement": "NULL",
        "sourceData": "LIVE",
        "queries": [
            {
                "name": "Account",
                "query": "select Id, Name, UpdatedDate from Account",
                "type": "zoqlexport",
                "apiVersion": "58.0",
                "convertToCurrencies": "EUR,GBP",
                "deleted": {"column": "Deleted", "format": "Boolean", "forceExport": True},
            }
        ],
    }


def assert_success_document(document: dict[str, Any]) -> None:
    """What every successful submit/GET answer shares (CONTRACT.md "AQuA")."""
    assert "message" not in document, document
    assert "errorCode" not in document, document
    assert support.is_id(document["id"]), document
    assert document["format"] in {"CSV", "GZIP", "ZIP"}, document
    for batch in document["batches"]:
        assert support.is_id(batch["batchId"]), batch
        assert type(batch["recordCount"]) is int, batch


def assert_files_match_counts(client: httpx.Client, document: dict[str, Any]) -> None:
    for batch in document["batches"]:
        assert batch["status"] == "completed", batch
        assert batch["message"] == "", batch
        assert support.is_id(batch["fileId"]), batch
        rows = support.parse_csv(support.download(client, batch["fileId"]).content)
        assert len(rows) == batch["recordCount"] + 1, (batch, rows[:3])


def test_stateful_submit_example_answers_submitted_job_then_completes(
    demo: httpx.Client,
) -> None:
    project = f"00170000011K3Ub-{uuid.uuid4().hex[:8]}"
    submitted = support.submit_ok(demo, example_body(project))
    assert_success_document(submitted)
    assert submitted["name"] == "Example"
    assert submitted["version"] == "1.1"
    assert submitted["format"] == "CSV"
    assert submitted["encrypted"] == "none"
    assert submitted["partner"] == "salesforce"
    assert submitted["project"] == project
    assert submitted["useLastCompletedJobQueries"] is False
    assert "startTime" not in submitted
    (batch,) = submitted["batches"]
    assert batch["name"] == "AccountingPeriod"
    assert batch["query"] == EXAMPLE_QUERY
    assert batch["batchType"] == "zoqlexport"
    assert batch["status"] == "pending"
    assert batch["recordCount"] == 0
    assert isinstance(batch["full"], bool)
    assert "fileId" not in batch

    done = support.wait_for_job(demo, submitted["id"])
    assert done["status"] == "completed", done
    assert_success_document(done)
    assert START_TIME.fullmatch(done["startTime"]), done
    assert done["batches"][0]["batchId"] == batch["batchId"]
    assert done["batches"][0]["recordCount"] > 0
    assert_files_match_counts(demo, done)


def test_composite_body_of_reference_section_2_is_accepted_echoed_and_runs(
    demo: httpx.Client,
) -> None:
    project = f"composite-{uuid.uuid4().hex[:8]}"
    submitted = support.submit_ok(demo, composite_body(project))
    assert_success_document(submitted)
    assert submitted["format"] == "CSV"
    assert submitted["partner"] == "salesforce"
    assert submitted["project"] == project
    assert submitted["notifyUrl"] == "https://example/cb?jobId=${JOBID}&status=${STATUS}"
    # "2015-01-21 10:30:01" in the tenant's zone (America/Los_Angeles) as epoch milliseconds.
    assert submitted["incrementalTime"] == 1421865001000
    assert submitted["offset"] == 600
    (batch,) = submitted["batches"]
    assert batch["apiVersion"] == "58.0"
    assert batch["deleted"] == {"column": "Deleted", "format": "Boolean"}

    done = support.wait_for_job(demo, submitted["id"])
    assert done["status"] == "completed", done
    assert_success_document(done)
    # GET gives it as the text the request sent: a production client decodes a string.
    assert done["incrementalTime"] == "2015-01-21 10:30:01"
    (batch,) = done["batches"]
    rows = support.parse_csv(support.download(demo, batch["fileId"]).content)
    assert len(rows) == batch["recordCount"] + 1
    assert rows[0][-3:] == ["Account.Id", "Account.Name", "Account.UpdatedDate"]
    assert all(row[-1].endswith("+0000") for row in rows[1:]), rows[:3]


def test_deleted_flag_column_comes_first_named_object_dot_column(demo: httpx.Client) -> None:
    body = support.stateless("select Id, Name from Account", useQueryLabels=True)
    body["queries"][0]["deleted"] = {
        "column": "IsDeleted",
        "format": "Boolean",
        "forceExport": True,
    }
    done = support.run_job(demo, body)
    rows = support.parse_csv(support.download(demo, done["batches"][0]["fileId"]).content)
    assert rows[0] == ["Account.IsDeleted", "Account.Id", "Account.Name"], rows[0]
    assert {row[0] for row in rows[1:]} <= {"true", "false"}


def test_stateless_version_1_0_job_on_both_path_families(demo: httpx.Client) -> None:
    for path, version in (("/v1/batch-query/", "1.0"), ("/apps/api/batch-query/", 1.0)):
        body = support.stateless("select Id, AccountNumber from Account", version=version)
        submitted = support.submit_ok(demo, body, path)
        assert submitted["version"] == "1.0"
        assert "partner" not in submitted and "project" not in submitted
        done = support.wait_for_job(demo, submitted["id"], prefix=path.rstrip("/"))
        assert done["status"] == "completed", done
        assert_success_document(done)
        assert done["batches"][0]["recordCount"] == 50  # AQUARIUM_DEMO_SCALE=0.05
        assert_files_match_counts(demo, done)


@pytest.mark.parametrize(
    ("sent", "echoed"), [(1, "1.0"), (1.0, "1.0"), (1.1, "1.1"), ("1.1", "1.1")]
)
def test_version_may_be_a_json_number_or_string(
    demo: httpx.Client, sent: object, echoed: str
) -> None:
    body = support.stateless("select Id from Account", version=sent)
    assert support.submit_ok(demo, body)["version"] == echoed


def test_version_1_2_is_accepted_as_a_stateful_version(demo: httpx.Client) -> None:
    body = example_body(f"v12-{uuid.uuid4().hex[:8]}")
    body["version"] = "1.2"
    done = support.run_job(demo, body)
    assert done["version"] == "1.2"
    assert done["partner"] == "salesforce"


def test_query_without_name_or_type_gets_query_n_and_zoqlexport(demo: httpx.Client) -> None:
    body = {"version": "1.0", "queries": [{"query": "select Id from Account"}]}
    submitted = support.submit_ok(demo, body)
    (batch,) = submitted["batches"]
    assert batch["name"] == "query0"
    assert batch["batchType"] == "zoqlexport"


def test_last_completed_job_of_a_partner_project_session(demo: httpx.Client) -> None:
    project = f"last-{uuid.uuid4().hex[:8]}"
    for prefix in ("/v1/batch-query", "/apps/api/batch-query"):
        path = f"{prefix}/jobs/partner/aquarium-tests/project/{project}"
        nothing = demo.get(path)
        assert nothing.status_code == 200
        assert nothing.json() == {"id": None, "errorCode": "90002", "message": "Invalid Job Id."}
    body = example_body(project)
    body["partner"] = "aquarium-tests"
    done = support.run_job(demo, body)
    for prefix in ("/v1/batch-query", "/apps/api/batch-query"):
        response = demo.get(f"{prefix}/jobs/partner/aquarium-tests/project/{project}")
        assert response.status_code == 200
        last = response.json()
        assert last["status"] == "completed"
        assert last == support.get_job(demo, done["id"])


def test_second_job_of_a_stateful_session_is_incremental(demo: httpx.Client) -> None:
    body = example_body(f"incremental-{uuid.uuid4().hex[:8]}")
    body["queries"][0]["query"] = "select Id, UpdatedDate from Account"
    first = support.run_job(demo, body)
    assert first["batches"][0]["full"] is True
    assert first["batches"][0]["recordCount"] == 50
    second = support.run_job(demo, body)
    assert second["batches"][0]["full"] is False
    assert second["batches"][0]["recordCount"] == 0  # nothing changed in between
