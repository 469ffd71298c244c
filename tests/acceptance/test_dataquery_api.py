"""The Data Query API over HTTP against a real server (reference dataquery.md sections 1-7):
Zuora's documented examples, the job document by status, the list, cancel answers, refusals,
the signed result link, and isolation between tenants."""

from __future__ import annotations

import csv
import io
import time
import urllib.parse
from decimal import Decimal

import httpx
import pytest

from tests.acceptance import dataquery_support as dq
from tests.acceptance import deployments, support
from tests.acceptance.conftest import OTHER_AUTH

DEPLOYMENTS = deployments.BOTH  # every test runs embedded and scale-out (conftest.py)

DOCUMENTED_QUERY = "SELECT accountnumber, balance FROM Account WHERE Account.balance > 100"
COMMON = {"id", "query", "queryStatus", "sourceData", "useIndexJoin", "remainingRetries"}


def _stamp(value: str) -> bool:
    return value.endswith("Z") and "T" in value and len(value) == len("2024-07-09T09:47:49.675Z")


def test_the_documented_submit_is_accepted_with_zuoras_members(demo: httpx.Client) -> None:
    job = dq.submit(demo, dq.body(DOCUMENTED_QUERY, "CSV"))
    assert set(job) >= COMMON
    assert job["query"] == DOCUMENTED_QUERY
    assert job["useIndexJoin"] is False and job["sourceData"] == "LIVE"
    assert job["remainingRetries"] == 3 and job["retries"] == 3
    assert _stamp(job["createdOn"]) and _stamp(job["updatedOn"])
    assert dq.is_uuid(job["createdBy"])
    assert "dataFile" not in job and "outputRows" not in job


def test_the_documented_query_gives_the_rows_aqua_gives(demo: httpx.Client) -> None:
    job = dq.run(demo, dq.body(DOCUMENTED_QUERY, "CSV"))
    assert isinstance(job["processingTime"], int) and job["processingTime"] >= 0
    rows = support.parse_csv(dq.download(job))
    assert rows[0] == ["accountnumber", "balance"]
    found = {(number, Decimal(balance)) for number, balance in rows[1:]}
    assert job["outputRows"] == len(rows) - 1 == len(found) > 0
    aqua = support.run_job(
        demo, support.stateless("select AccountNumber, Balance from Account where Balance > 100")
    )
    expected_rows = support.parse_csv(support.download(demo, aqua["batches"][0]["fileId"]).content)
    expected = {(number, Decimal(balance)) for number, balance in expected_rows[1:]}
    assert found == expected


@pytest.mark.parametrize("compression", ["NONE", "GZIP", "ZIP"])
@pytest.mark.parametrize(
    ("output_format", "separator", "more"),
    [("CSV", ",", {}), ("TSV", "\t", {}), ("DSV", "|", {"columnSeparator": "|"})],
)
def test_delimited_formats_and_compressions(
    demo: httpx.Client, output_format: str, separator: str, more: dict[str, str], compression: str
) -> None:
    query = "select accountnumber, name from account order by accountnumber limit 5"
    job = dq.run(demo, dq.body(query, output_format, compression, **more))
    assert job["outputFormat"] == output_format and job["compression"] == compression
    text = dq.unpacked(dq.download(job), compression).decode("utf-8")
    rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=separator))
    assert rows[0] == ["accountnumber", "name"]
    assert len(rows) == 6 and job["outputRows"] == 5
    assert [row[0] for row in rows[1:]] == sorted(row[0] for row in rows[1:])


def test_json_lines_carry_typed_values(demo: httpx.Client) -> None:
    query = "select accountnumber, balance, billcycleday, autopay, createddate from account limit 3"
    job = dq.run(demo, dq.body(query))
    records = dq.json_lines(dq.download(job))
    assert len(records) == 3 == job["outputRows"]
    for record in records:
        assert set(record) == {"accountnumber", "balance", "billcycleday", "autopay", "createddate"}
        assert isinstance(record["balance"], int | float)
        assert isinstance(record["billcycleday"], int)
        assert isinstance(record["autopay"], bool)
        assert isinstance(record["createddate"], str) and "T" in record["createddate"]


def test_a_failed_query_says_why_with_its_position(demo: httpx.Client) -> None:
    job = dq.fail(demo, dq.body("select nope from account"))
    assert "Column 'nope' cannot be resolved" in job["errorMessage"]
    assert job["errorMessage"].startswith("line 1:8: ")
    assert job["errorCode"] and "dataFile" not in job
    unknown = dq.fail(demo, dq.body("select * from acccount"))
    assert "acccount" in unknown["errorMessage"] and "does not exist" in unknown["errorMessage"]
    write = dq.fail(demo, dq.body("delete from account"))
    assert "not allowed" in write["errorMessage"]


def test_get_and_delete_of_an_unknown_job_are_1001(demo: httpx.Client) -> None:
    unknown = "1e8e8586-5366-4cdf-a01d-fae3b2cf8427"
    message = dq.refusal(demo.get(f"/query/jobs/{unknown}"), 404, 1001)
    assert message == f"No such query: {unknown}"
    dq.refusal(demo.delete(f"/query/jobs/{unknown}"), 404, 1001)
    dq.refusal(demo.get("/query/jobs/not-a-uuid"), 404, 1001)


def test_delete_of_a_finished_job_is_1003_and_changes_nothing(demo: httpx.Client) -> None:
    job = dq.run(demo, dq.body("show tables"))
    message = dq.refusal(demo.delete(f"/query/jobs/{job['id']}"), 400, 1003)
    assert message == f"Query job {job['id']} is not in accepted or in_progress status"
    assert dq.get(demo, job["id"])["queryStatus"] == "completed"


def test_the_list_is_newest_first_and_filters_by_status(demo: httpx.Client) -> None:
    made = [dq.run(demo, dq.body(f"select {n} as n from account limit 1"))["id"] for n in range(3)]
    response = demo.get("/query/jobs", params={"pageSize": 3})
    assert response.status_code == 200, response.text
    listed = [job["id"] for job in response.json()["data"]]
    assert listed == made[::-1]
    failed = dq.fail(demo, dq.body("select nope from account"))
    only = demo.get("/query/jobs", params={"queryStatus": "failed", "pageSize": 1000}).json()
    assert all(job["queryStatus"] == "failed" for job in only["data"])
    assert failed["id"] in {job["id"] for job in only["data"]}
    default = demo.get("/query/jobs").json()["data"]
    assert len(default) <= 20


@pytest.mark.parametrize(
    "params", [{"pageSize": "0"}, {"pageSize": "1001"}, {"pageSize": "x"}, {"queryStatus": "done"}]
)
def test_bad_list_parameters_are_400(demo: httpx.Client, params: dict[str, str]) -> None:
    dq.refusal(demo.get("/query/jobs", params=params), 400, 400)


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ({"outputFormat": "CSV", "compression": "NONE", "output": {"target": "S3"}}, "query"),
        (dq.body("select 1", "XML"), "outputFormat"),
        (dq.body("select 1", "CSV", "RAR"), "compression"),
        ({"query": "select 1", "outputFormat": "CSV", "compression": "NONE"}, "output"),
        (dq.body("select 1", "CSV", output={"target": "GCS"}), "target"),
        (dq.body("select 1", "DSV"), "columnSeparator"),
        (dq.body("select 1", "DSV", columnSeparator="||"), "one character"),
        (dq.body("select 1", "CSV", columnSeparator=";"), "DSV"),
        (dq.body("select 1", readDeleted="maybe"), "readDeleted"),
        (dq.body("select 1", sourceData="LAKE"), "sourceData"),
        (dq.body("select 1", encryptionKey="not base64!"), "encryptionKey"),
        (dq.body("   "), "empty"),
        ([1, 2], "object"),
    ],
)
def test_bad_submit_bodies_are_400_naming_the_field(
    demo: httpx.Client, payload: object, words: str
) -> None:
    assert words in dq.refusal(demo.post("/query/jobs", json=payload), 400, 400)


def test_unreadable_json_and_a_missing_content_type(demo: httpx.Client) -> None:
    unreadable = demo.post(
        "/query/jobs", content=b"{nope", headers={"Content-Type": "application/json"}
    )
    assert dq.refusal(unreadable, 400, 400).startswith("Unable to process JSON")
    bare = demo.post("/query/jobs", content=b'{"query": "select 1"}', headers={"Content-Type": ""})
    assert dq.refusal(bare, 415, 415) == "HTTP 415 Unsupported Media Type"


def test_bad_credentials_get_zuoras_proxy_answer(server: support.RunningServer) -> None:
    anonymous = server.client(auth=("demo", "wrong"))
    response = anonymous.get("/query/jobs")
    assert response.status_code == 401
    assert response.json() == {"message": "Authentication error"}


def test_enum_values_are_read_in_any_case(demo: httpx.Client) -> None:
    job = dq.run(demo, dq.body("select 1 as one", "csv", "gzip", sourceData="live"))
    assert job["outputFormat"] == "CSV" and job["compression"] == "GZIP"
    assert job["sourceData"] == "LIVE"


def test_the_result_link_needs_no_credentials_and_serves_ranges(demo: httpx.Client) -> None:
    job = dq.run(demo, dq.body("select accountnumber from account order by 1", "CSV"))
    whole = dq.download(job)
    part = httpx.get(job["dataFile"], headers={"Range": "bytes=0-9"})
    assert part.status_code == 206 and part.content == whole[:10]
    rest = httpx.get(job["dataFile"], headers={"Range": "bytes=10-"})
    assert part.content + rest.content == whole


@pytest.mark.parametrize("change", ["signature", "expires", "file", "tenant", "drop"])
def test_an_altered_result_link_is_refused(demo: httpx.Client, change: str) -> None:
    job = dq.run(demo, dq.body("select 1 as one", "CSV"))
    url = urllib.parse.urlsplit(job["dataFile"])
    params = dict(urllib.parse.parse_qsl(url.query))
    path = url.path
    if change == "signature":
        params["signature"] = "0" * 64
    elif change == "expires":
        params["expires"] = str(int(params["expires"]) + 3600)
    elif change == "file":
        parts = path.split("/")
        parts[4] = "f" * 32
        path = "/".join(parts)
    elif change == "tenant":
        path = path.replace("/demo/", "/other/")
    else:
        params = {}
    altered = urllib.parse.urlunsplit(url._replace(path=path, query=urllib.parse.urlencode(params)))
    response = httpx.get(altered)
    dq.refusal(response, 403, 403)


def test_each_get_mints_a_fresh_link(demo: httpx.Client) -> None:
    job = dq.run(demo, dq.body("select 1 as one", "CSV"))
    time.sleep(1.1)
    again = dq.get(demo, job["id"])
    assert again["dataFile"] != job["dataFile"]
    assert dq.download(again) == dq.download(job)


def test_another_tenant_neither_sees_the_job_nor_the_data(
    server: support.RunningServer, demo: httpx.Client
) -> None:
    job = dq.run(demo, dq.body("select accountnumber from account", "CSV"))
    other = server.client(auth=OTHER_AUTH)
    dq.refusal(other.get(f"/query/jobs/{job['id']}"), 404, 1001)
    dq.refusal(other.delete(f"/query/jobs/{job['id']}"), 404, 1001)
    assert job["id"] not in {j["id"] for j in other.get("/query/jobs").json()["data"]}
    theirs = dq.run(other, dq.body("select accountnumber from account", "CSV"))
    ours = {row[0] for row in support.parse_csv(dq.download(job))[1:]}
    their_rows = {row[0] for row in support.parse_csv(dq.download(theirs))[1:]}
    assert theirs["outputRows"] == len(their_rows) and ours != their_rows
    hostile = dq.fail(other, dq.body('select * from "tenant_demo".account'))
    assert "errorMessage" in hostile


def test_show_tables_and_describe_answer_from_the_catalogue(demo: httpx.Client) -> None:
    tables = dq.json_lines(dq.download(dq.run(demo, dq.body("SHOW TABLES"))))
    names = [row["Table"] for row in tables]
    assert {"account", "invoiceitem", "orders", "rateplancharge"} <= set(names)
    columns = dq.json_lines(dq.download(dq.run(demo, dq.body("DESCRIBE account"))))
    assert set(columns[0]) == {"Column", "Type", "Extra", "Comment"}
    by_name = {row["Column"]: row for row in columns}
    assert by_name["accountnumber"]["Comment"] == "AccountNumber"
    assert by_name["updateddate"]["Type"] == "timestamp with time zone"


def test_idempotency_key_answers_the_same_job(demo: httpx.Client) -> None:
    payload = dq.body("select 1 as one", "CSV")
    key = {"Idempotency-Key": f"dq-{time.monotonic_ns()}"}
    first = dq.submit(demo, payload, headers=key)
    again = demo.post("/query/jobs", json=payload, headers=key)
    assert again.status_code == 200 and again.json()["data"]["id"] == first["id"]
    other = demo.post("/query/jobs", json=dq.body("select 2 as two", "CSV"), headers=key)
    dq.refusal(other, 400, 400)


def test_a_result_is_served_as_stored_even_to_a_gzip_client(demo: httpx.Client) -> None:
    """The file's bytes, size and ranges as written: never re-encoded on the way."""
    job = dq.run(demo, dq.body("select * from account", "CSV"))
    whole = httpx.get(job["dataFile"], headers={"Accept-Encoding": "gzip"})
    assert whole.status_code == 200 and len(whole.content) > 1000
    assert "content-encoding" not in whole.headers
    assert int(whole.headers["content-length"]) == len(whole.content)
    tail = httpx.get(job["dataFile"], headers={"Accept-Encoding": "gzip", "Range": "bytes=-100"})
    assert tail.status_code == 206 and tail.content == whole.content[-100:]
