"""``client.data_queries`` against a fake server (httpx.MockTransport): the job parsed from the
wire, the body and headers a submit sends, the flat ``{"code", "message"}`` errors, waiting with
backoff, the pre-signed download, and the ``encryptionKey`` made from key files."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from aquarium import client
from aquarium.client import dataquery, errors, files, keys
from aquarium.domain import jobs

URL = "http://aquarium.test"
FILE_HOST = "http://files.test"
JOB_ID = "3a3e85c4-96e7-486b-ae02-827120104301"
BASIC = client.Credentials.basic("demo", "demo")
QUERY = "SELECT accountnumber, balance FROM Account WHERE Account.balance > 100"
DATA = b"".join(b'{"accountnumber":"A%05d","balance":%d.0}\n' % (i, i) for i in range(400))
DATA_URL = f"{FILE_HOST}/results/{JOB_ID}_24921638725108715.jsonl?X-Amz-Signature=abc"

Handler = Callable[[httpx.Request], httpx.Response]


def job(status: str = "accepted", **extra: Any) -> dict[str, Any]:
    """A job document shaped as Zuora's reference examples (dataquery.md 3.3)."""
    document: dict[str, Any] = {
        "id": JOB_ID,
        "query": QUERY,
        "useIndexJoin": False,
        "sourceData": "LIVE",
        "queryStatus": status,
        "remainingRetries": 3,
        "retries": 3,
        "updatedOn": "2018-08-17T13:14:19.17Z",
        "createdOn": "2018-08-17T13:14:10.675Z",
        "createdBy": "514f3ea1-6716-4f44-b6e0-9a8f0cf44bd2",
        "outputFormat": "JSON",
        "compression": "NONE",
        "readDeleted": False,
    }
    if status == "completed":
        document.update(dataFile=DATA_URL, outputRows=24516, processingTime=9212)
    document.update(extra)
    return document


def make(handler: Handler, **kwargs: Any) -> client.Client:
    return client.Client(URL, BASIC, transport=httpx.MockTransport(handler), **kwargs)


def answering(status: int, document: Any) -> Handler:
    return lambda request: httpx.Response(status, json=document)


# -- the job on the wire ---------------------------------------------------------------------------


def test_a_completed_job_parses_into_typed_fields() -> None:
    parsed = dataquery.parse_answer({"data": job("completed")})
    assert parsed.status is client.DataQueryStatus.COMPLETED and parsed.finished
    assert (parsed.id, parsed.query, parsed.source_data) == (JOB_ID, QUERY, "LIVE")
    assert (parsed.output_rows, parsed.processing_time_ms, parsed.data_file) == (
        24516,
        9212,
        DATA_URL,
    )
    assert parsed.updated_on == dt.datetime(2018, 8, 17, 13, 14, 19, 170000, tzinfo=dt.UTC)
    assert parsed.created_on == dt.datetime(2018, 8, 17, 13, 14, 10, 675000, tzinfo=dt.UTC)
    assert (parsed.remaining_retries, parsed.retries, parsed.use_index_join) == (3, 3, False)
    assert parsed.error_message is None and parsed.error_code is None
    assert parsed.wire["dataFile"] == DATA_URL


def test_a_failed_job_carries_its_error_message_and_code() -> None:
    failed = job("failed", errorMessage="line 1:8: Column 'x' cannot be resolved", errorCode=60001)
    parsed = dataquery.parse_job(failed)
    assert parsed.status is client.DataQueryStatus.FAILED and parsed.finished
    assert parsed.error_message == "line 1:8: Column 'x' cannot be resolved"
    assert parsed.error_code == "60001"
    assert parsed.data_file is None and parsed.output_rows is None


def test_zuoras_cancelled_example_without_the_newer_members_parses() -> None:
    cancelled = {
        "createdBy": "514f3ea1-6716-4f44-b6e0-9a8f0cf44bd2",
        "id": JOB_ID,
        "query": QUERY,
        "queryStatus": "cancelled",
        "remainingRetries": 3,
        "sourceData": "LIVE",
        "updatedOn": "2018-08-17T13:22:16.965Z",
        "useIndexJoin": False,
    }
    parsed = dataquery.parse_answer({"data": cancelled})
    assert parsed.status is client.DataQueryStatus.CANCELLED
    assert parsed.created_on is None and parsed.output_format is None


@pytest.mark.parametrize(
    ("answer", "complaint"),
    [
        ({"data": job("sleeping")}, "status 'sleeping'"),
        ({"data": job(outputRows="many")}, "outputRows is not an integer"),
        (job(), "no 'data'"),
        ({"data": {"queryStatus": "accepted"}}, "query job.id is not a string"),
    ],
)
def test_an_unexpected_answer_is_a_client_error_saying_what(answer: Any, complaint: str) -> None:
    with pytest.raises(errors.ClientError, match=complaint):
        dataquery.parse_answer(answer)


def test_only_active_statuses_are_unfinished() -> None:
    unfinished = {s for s in client.DataQueryStatus if not s.terminal}
    assert unfinished == {"submitted", "accepted", "in_progress"}


def test_every_status_the_server_has_is_the_clients_and_as_final() -> None:
    for status in jobs.DataQueryStatus:
        assert client.DataQueryStatus(status.value).terminal is status.terminal


# -- requests --------------------------------------------------------------------------------------


def test_submit_sends_zuoras_body_upper_case_enums_only_given_options_and_the_key() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"data": job()})

    with make(handler) as api:
        submitted = api.data_queries.submit(QUERY)
        api.data_queries.submit(
            "select 1",
            output_format="dsv",
            compression="gzip",
            column_separator="|",
            read_deleted=True,
            encryption_key="MIGf",
            use_index_join=True,
            idempotency_key="retry-7",
        )
    assert submitted.status is client.DataQueryStatus.ACCEPTED
    assert [(r.method, r.url.path) for r in seen] == [("POST", "/query/jobs")] * 2
    assert seen[0].headers["content-type"] == "application/json"
    assert "idempotency-key" not in seen[0].headers
    assert json.loads(seen[0].content) == {
        "query": QUERY,
        "outputFormat": "CSV",
        "compression": "NONE",
        "output": {"target": "S3"},
    }
    assert seen[1].headers["idempotency-key"] == "retry-7"
    assert json.loads(seen[1].content) == {
        "query": "select 1",
        "outputFormat": "DSV",
        "compression": "GZIP",
        "output": {"target": "S3"},
        "columnSeparator": "|",
        "readDeleted": True,
        "encryptionKey": "MIGf",
        "useIndexJoin": True,
    }


def test_get_cancel_and_list_use_zuoras_paths_and_parameters() -> None:
    seen: list[tuple[str, str]] = []
    older = job("completed", id="0c8b2c2a-7c36-4f5e-bb43-7a8ee2d46b39")

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append((request.method, str(request.url).removeprefix(URL)))
        if request.method == "DELETE":
            return httpx.Response(200, json={"data": job("cancelled")})
        if request.url.path == "/query/jobs":
            return httpx.Response(200, json={"data": [job("in_progress"), older]})
        return httpx.Response(200, json={"data": job("in_progress")})

    with make(handler) as api:
        assert api.data_queries.get(JOB_ID).status is client.DataQueryStatus.IN_PROGRESS
        assert api.data_queries.cancel(JOB_ID).status is client.DataQueryStatus.CANCELLED
        listed = api.data_queries.list(query_status="completed", page_size=50)
        api.data_queries.list()
    assert [j.id for j in listed] == [JOB_ID, older["id"]]  # the server's order: newest first
    assert seen == [
        ("GET", f"/query/jobs/{JOB_ID}"),
        ("DELETE", f"/query/jobs/{JOB_ID}"),
        ("GET", "/query/jobs?queryStatus=completed&pageSize=50"),
        ("GET", "/query/jobs"),
    ]


@pytest.mark.parametrize("bad", ["", ".", ".."])
def test_ids_that_would_name_another_path_are_not_found_without_a_request(bad: str) -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"no request expected: {request.url}")

    with make(handler) as api, pytest.raises(errors.NotFound):
        api.data_queries.get(bad)


# -- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "document", "kind", "code", "message"),
    [
        (404, {"code": 1001, "message": f"No such query: {JOB_ID}"}, errors.NotFound, None, None),
        (
            400,
            {
                "code": 1003,
                "message": f"Query job {JOB_ID} is not in accepted or in_progress status",
            },
            errors.Refused,
            "1003",
            None,
        ),
        (400, {"code": 400, "message": "Unable to process JSON"}, errors.Refused, "400", None),
        (
            415,
            {"code": 415, "message": "HTTP 415 Unsupported Media Type"},
            errors.Refused,
            "415",
            None,
        ),
        (429, {"code": 429, "message": "Too many queued queries"}, errors.Refused, "429", None),
        (
            403,
            {"code": 1009, "message": "Access denied for restricted job x"},
            errors.Refused,
            "1009",
            None,
        ),
        (401, {"message": "Authentication error"}, errors.NotAuthenticated, None, None),
    ],
)
def test_the_flat_error_envelope_becomes_the_clients_exceptions(
    status: int,
    document: dict[str, Any],
    kind: type[errors.ClientError],
    code: str | None,
    message: str | None,
) -> None:
    with make(answering(status, document)) as api, pytest.raises(kind) as raised:
        api.data_queries.cancel(JOB_ID)
    assert raised.value.message == document["message"]
    if code is not None:
        assert isinstance(raised.value, errors.Refused) and raised.value.code == code
        assert str(raised.value) == f"{document['message']} ({code})"


def test_a_successful_job_document_is_never_taken_for_an_error() -> None:
    # A failed job has errorCode and errorMessage, but inside "data" and with HTTP 200.
    failed = {"data": job("failed", errorCode="60001", errorMessage="boom")}
    with make(answering(200, failed)) as api:
        assert api.data_queries.get(JOB_ID).status is client.DataQueryStatus.FAILED


# -- waiting ---------------------------------------------------------------------------------------


def test_wait_polls_ever_less_often_until_the_job_ends_and_reports_each_read() -> None:
    statuses = iter(["accepted", "accepted", "accepted", "in_progress", "in_progress", "completed"])
    pauses: list[float] = []
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"data": job(next(statuses))})

    with make(handler, sleep=pauses.append) as api:
        done = api.data_queries.wait(
            JOB_ID, on_progress=lambda j: seen.append(j.status.value), max_poll_s=0.5
        )
    assert done.status is client.DataQueryStatus.COMPLETED and done.output_rows == 24516
    assert seen == ["accepted"] * 3 + ["in_progress"] * 2 + ["completed"]
    # 0.25, longer, capped at 0.5; back to 0.25 when the status changed
    assert pauses == [0.25, 0.375, 0.5, 0.25, 0.375]


def test_wait_returns_a_failed_or_cancelled_job_as_it_is() -> None:
    with make(answering(200, {"data": job("failed", errorMessage="boom")})) as api:
        assert api.data_queries.wait(JOB_ID).error_message == "boom"


def test_wait_times_out_on_its_clock() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with (
        make(
            answering(200, {"data": job("in_progress")}), clock=lambda: now[0], sleep=sleep
        ) as api,
        pytest.raises(errors.TimedOut, match=f"query job {JOB_ID} is still in_progress"),
    ):
        api.data_queries.wait(JOB_ID, timeout=3.0)


# -- the result file -------------------------------------------------------------------------------


class FakeStore:
    """The API on ``URL`` and a store of pre-signed files on ``FILE_HOST`` (Range supported)."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.file_requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.host == "aquarium.test":
            return httpx.Response(200, json={"data": self.document})
        self.file_requests.append(request)
        if request.url.params.get("X-Amz-Signature") != "abc" or "authorization" in request.headers:
            return httpx.Response(403, content=b"<Error><Code>AccessDenied</Code></Error>")
        asked = request.headers.get("range")
        if asked is None:
            return httpx.Response(200, content=DATA)
        start = int(asked.removeprefix("bytes=").rstrip("-"))
        headers = {"Content-Range": f"bytes {start}-{len(DATA) - 1}/{len(DATA)}"}
        return httpx.Response(206, content=DATA[start:], headers=headers)


def test_a_download_gets_the_presigned_url_without_credentials(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = FakeStore(job("completed"))
    monkeypatch.chdir(tmp_path)
    with make(store) as api:
        saved = api.data_queries.download(JOB_ID)
    assert saved == Path(f"{JOB_ID}_24921638725108715.jsonl")
    assert (tmp_path / saved).read_bytes() == DATA
    (request,) = store.file_requests
    assert str(request.url) == DATA_URL and "authorization" not in request.headers


def test_a_broken_download_resumes_with_a_range(tmp_path: Path) -> None:
    store = FakeStore(job("completed"))
    target = tmp_path / "balances.jsonl"
    files.part_path(target).write_bytes(DATA[:1000])
    with make(store) as api:
        assert api.data_queries.download(JOB_ID, target) == target
    assert target.read_bytes() == DATA and not files.part_path(target).exists()
    assert [r.headers.get("range") for r in store.file_requests] == ["bytes=1000-"]
    assert hashlib.sha256(target.read_bytes()).digest() == hashlib.sha256(DATA).digest()


def test_a_refused_file_url_is_refused_with_the_stores_status(tmp_path: Path) -> None:
    store = FakeStore(job("completed", dataFile=f"{FILE_HOST}/results/x.jsonl?X-Amz-Signature=old"))
    with make(store) as api, pytest.raises(errors.Refused, match="AccessDenied"):
        api.data_queries.download(JOB_ID, tmp_path / "x.jsonl")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("document", "complaint"),
    [
        (job("failed", errorMessage="line 1:8: Column 'x' cannot be resolved"), "failed: line 1:8"),
        (job("in_progress"), "is in_progress: it has no result file"),
        (job("cancelled"), "is cancelled"),
    ],
)
def test_a_job_without_a_result_says_why_and_fetches_nothing(
    tmp_path: Path, document: dict[str, Any], complaint: str
) -> None:
    store = FakeStore(document)
    with make(store) as api, pytest.raises(errors.ClientError, match=complaint):
        api.data_queries.download(JOB_ID, tmp_path / "x")
    assert store.file_requests == [] and list(tmp_path.iterdir()) == []


def test_a_file_is_named_after_its_url_else_after_the_job_and_its_format() -> None:
    named = dataquery.parse_job(job("completed", dataFile="https://s3.test/a/b%20c.csv.gz?sig=1"))
    assert dataquery.file_name(named) == "b_c.csv.gz"
    for output_format, compression, name in [
        ("JSON", "NONE", f"{JOB_ID}.jsonl"),
        ("CSV", "GZIP", f"{JOB_ID}.csv.gz"),
        ("TSV", "ZIP", f"{JOB_ID}.tsv.zip"),
    ]:
        unnamed = dataquery.parse_job(
            job(
                "completed",
                dataFile="https://s3.test/",
                outputFormat=output_format,
                compression=compression,
            )
        )
        assert dataquery.file_name(unnamed) == name


# -- encryptionKey ---------------------------------------------------------------------------------

#: A 1024-bit RSA public key (SubjectPublicKeyInfo), as `openssl rsa -pubout` writes it.
PUBLIC_PEM = b"""-----BEGIN PUBLIC KEY-----
MIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQDeoIi++tP2Bw2WSNdm7kL/6dYe
bFF78ToZuTi/4mcB9NwF0gJq9lfol/pYlYaXIAC5R4omgnvh7XQKN4nBfLBtcAbc
RO+sAUWiKnDJX149HmYrnxF+EoMbT5e4g6OuH1Fp325jL4N0UA6L1KZ2XpQ/3vxc
MawcAQ5U/I3JiuuO8wIDAQAB
-----END PUBLIC KEY-----
"""
SPKI_BASE64 = "".join(PUBLIC_PEM.decode().splitlines()[1:-1])
SPKI = base64.b64decode(SPKI_BASE64)
PKCS1 = SPKI[22:]  # the BIT STRING's content: SEQUENCE { modulus, exponent }


def pem(label: str, der: bytes) -> bytes:
    body = base64.encodebytes(der).decode()
    return f"-----BEGIN {label}-----\n{body}-----END {label}-----\n".encode()


@pytest.mark.parametrize(
    "data",
    [PUBLIC_PEM, SPKI, pem("RSA PUBLIC KEY", PKCS1), PKCS1, b"comment\r\n" + PUBLIC_PEM],
    ids=["spki-pem", "spki-der", "pkcs1-pem", "pkcs1-der", "pem-after-text"],
)
def test_a_public_key_file_becomes_zuoras_base64_der(data: bytes) -> None:
    assert keys.encryption_key(data) == SPKI_BASE64
    assert SPKI_BASE64.startswith("MIGfMA0GCSqGSIb3DQEBAQUAA4GN")  # Zuora's example's start


@pytest.mark.parametrize(
    ("data", "complaint"),
    [
        (pem("PRIVATE KEY", SPKI), "private key"),
        (pem("RSA PRIVATE KEY", PKCS1), "private key"),
        (b"hello", "not a public key"),
        (SPKI[:-1], "not a public key"),
        (PUBLIC_PEM.replace(b"END PUBLIC", b"END PRIVATE"), "not complete"),
        (pem("PUBLIC KEY", b"\x30\x03\x02\x01\x00").replace(b"MAMC", b"M!MC"), "not valid base64"),
        (pem("PUBLIC KEY", b"\x30\x05\x30\x03\x06\x01\x00"), "not an RSA public key"),
    ],
)
def test_what_is_not_an_rsa_public_key_says_what_it_is(data: bytes, complaint: str) -> None:
    with pytest.raises(ValueError, match=complaint):
        keys.encryption_key(data)
