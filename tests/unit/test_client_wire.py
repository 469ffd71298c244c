"""``aquarium.client`` against a fake server (httpx.MockTransport): parsing the wire, the three
error shapes, OAuth tokens and their renewal, waiting, and resumable downloads."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from aquarium import client
from aquarium.client import errors, files, models
from aquarium.domain import jobs

URL = "http://aquarium.test"
JOB_ID = "2a5ef7642146f21f06efcfeb6d5124b3"
FILE_ID = "3c865bebc3549c521ed46574e6a3fed9"
BASIC = client.Credentials.basic("demo", "demo")
OAUTH = client.Credentials.oauth("11111111-2222-3333-4444-555555555555", "demo")

BATCH_STATUS_OF_JOB = {"submitted": "pending"}

Handler = Callable[[httpx.Request], httpx.Response]


def batch(status: str = "completed", **extra: Any) -> dict[str, Any]:
    document = {
        "name": "accounts",
        "query": "select Id from Account",
        "batchType": "zoqlexport",
        "batchId": "4953f6b2d83dc0ff7727ad9b5d849535",
        "apiVersion": "91.0",
        "full": True,
        "status": status,
        "localizedStatus": status,
        "recordCount": 50,
        "message": "",
    }
    if status == "completed":
        document["fileId"] = FILE_ID
    document.update(extra)
    return document


def job(status: str = "completed", *batches: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": JOB_ID,
        "name": "x",
        "version": "1.1",
        "format": "CSV",
        "encrypted": "none",
        "status": status,
        "useLastCompletedJobQueries": False,
        "batches": list(batches) or [batch(BATCH_STATUS_OF_JOB.get(status, status))],
        "startTime": "2026-12-01 02:49:26",
    }


def reporting_error(message: str, code: str = "ZAN-USAGE-REST-ERROR") -> dict[str, Any]:
    inner = {"errorId": "e", "message": message, "errorCode": code}
    return {"success": False, "response": json.dumps(inner, indent=1), "links": None}


def make(handler: Handler, credentials: client.Credentials = BASIC, **kwargs: Any) -> client.Client:
    return client.Client(URL, credentials, transport=httpx.MockTransport(handler), **kwargs)


# -- parsing ---------------------------------------------------------------------------------------


def test_a_job_document_parses_into_typed_batches() -> None:
    parsed = models.parse_job(job("completed"))
    assert parsed.status is jobs.JobStatus.COMPLETED and parsed.finished
    assert parsed.start_time == "2026-12-01 02:49:26"
    (only,) = parsed.batches
    assert only.status is jobs.BatchStatus.COMPLETED
    assert (only.record_count, only.file_ids, only.full) == (50, (FILE_ID,), True)


def test_a_segmented_batch_lists_its_segments_in_order() -> None:
    segmented = batch("completed", segments=["a" * 32, "b" * 32])
    del segmented["fileId"]
    assert models.parse_batch(segmented).file_ids == ("a" * 32, "b" * 32)


@pytest.mark.parametrize(
    ("document", "problem"),
    [
        ([], "job is not an object"),
        ({**job(), "status": "exploded"}, "job status 'exploded'"),
        ({**job(), "batches": [{**batch(), "recordCount": "50"}]}, "recordCount is not an integer"),
        ({**job(), "id": None}, "job.id is not a string"),
    ],
)
def test_an_unexpected_document_is_a_client_error_naming_the_member(
    document: Any, problem: str
) -> None:
    with pytest.raises(errors.ClientError, match="unexpected answer") as caught:
        models.parse_job(document)
    assert problem in caught.value.message


def test_report_runs_and_job_list_timestamps_become_aware_datetimes() -> None:
    run = models.parse_report_run(
        {
            "id": "r",
            "status": "COMPLETED",
            "startedOn": "2018-04-13T02:11:38.464+0000",
            "createdByUserProfile": {"username": "demo"},
            "rowCount": 187,
        }
    )
    assert run.started_on is not None and run.started_on.utcoffset() is not None
    assert (run.created_by, run.row_count, run.finished) == ("demo", 187, True)
    page = models.parse_job_page(
        {
            "jobs": [
                {
                    "id": JOB_ID,
                    "kind": "aqua",
                    "status": "executing",
                    "createdAt": "2026-12-01T10:00:00.123Z",
                    "progress": {"batches": 3, "batchesDone": 1, "rowsWritten": 120000},
                }
            ],
            "nextCursor": None,
        }
    )
    (summary,) = page.jobs
    assert summary.created_at is not None and summary.created_at.microsecond == 123000
    assert summary.progress is not None and summary.progress.rows_written == 120000
    assert not summary.finished and page.next_cursor is None


# -- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "kind", "code", "message"),
    [
        (
            200,
            {"id": None, "status": "error", "errorCode": "90005", "message": "There is a syntax"},
            errors.Refused,
            "90005",
            "There is a syntax",
        ),
        (
            200,
            {"id": None, "errorCode": "90002", "message": "Invalid Job Id."},
            errors.NotFound,
            None,
            "Invalid Job Id.",
        ),
        (
            200,
            {"id": JOB_ID, "status": "completed", "errorCode": "90003", "message": "Invalid Job"},
            errors.Refused,
            "90003",
            "Invalid Job",
        ),
        (
            401,
            {"id": None, "status": "error", "errorCode": "90009", "message": "not authorized."},
            errors.NotAuthenticated,
            None,
            "not authorized.",
        ),
        (
            404,
            reporting_error("The report run with id x does not exist."),
            errors.NotFound,
            None,
            "The report run with id x does not exist.",
        ),
        (
            400,
            reporting_error("already COMPLETED and cannot be canceled."),
            errors.Refused,
            "ZAN-USAGE-REST-ERROR",
            "already COMPLETED and cannot be canceled.",
        ),
        (
            409,
            {"error": {"code": "not_cancellable", "message": "The job is finished."}},
            errors.Refused,
            "not_cancellable",
            "The job is finished.",
        ),
        (
            404,
            {"status": "error", "message": "Not found. No such file, or it has expired."},
            errors.NotFound,
            None,
            "Not found. No such file, or it has expired.",
        ),
    ],
)
def test_each_error_shape_becomes_its_exception_with_the_servers_message(
    status: int,
    body: dict[str, Any],
    kind: type[errors.ClientError],
    code: str | None,
    message: str,
) -> None:
    with pytest.raises(kind) as caught:
        errors.raise_for_answer(httpx.Response(status, json=body))
    assert caught.value.message == message
    if code is not None:
        assert isinstance(caught.value, errors.Refused) and caught.value.code == code


def test_a_non_json_failure_is_refused_with_its_http_status() -> None:
    with pytest.raises(errors.Refused) as caught:
        errors.raise_for_answer(httpx.Response(502, text="Bad gateway"))
    assert (caught.value.code, caught.value.message) == ("HTTP 502", "Bad gateway")


def test_a_successful_answer_raises_nothing() -> None:
    errors.raise_for_answer(httpx.Response(200, json=job()))
    errors.raise_for_answer(httpx.Response(200, json={"success": True, "response": {}}))


def test_no_connection_is_server_unreachable_naming_the_url() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("Connection refused", request=request)

    with make(refuse) as api, pytest.raises(errors.ServerUnreachable, match=URL):
        api.job(JOB_ID)


# -- credentials and OAuth -------------------------------------------------------------------------


def test_credentials_need_exactly_one_complete_pair_and_hide_secrets() -> None:
    with pytest.raises(errors.ConfigError):
        client.Credentials(user="demo")
    with pytest.raises(errors.ConfigError):
        client.Credentials(user="demo", password="p", client_id="c", client_secret="s")
    with pytest.raises(errors.ConfigError):
        client.Credentials()
    assert "demo-secret" not in repr(client.Credentials.oauth("c", "demo-secret"))


class FakeOAuthServer:
    """Hands out numbered tokens; accepts only the newest one (or any, when not ``strict``)."""

    def __init__(self, *, expires_in: int = 3599) -> None:
        self.expires_in = expires_in
        self.issued = 0
        self.revoked: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            form = dict(x.split("=") for x in request.content.decode().split("&"))
            if form.get("client_secret") != "demo":
                return httpx.Response(
                    401, json={"error": "invalid_client", "error_description": "Bad client"}
                )
            self.issued += 1
            token = {"access_token": f"t{self.issued}", "expires_in": self.expires_in}
            return httpx.Response(200, json=token)
        token = request.headers.get("authorization", "").removeprefix("Bearer ")
        if not token.startswith("t") or token in self.revoked:
            return httpx.Response(401, json={"errorCode": "90009", "message": "No."})
        return httpx.Response(200, json=job())


def test_a_token_is_fetched_once_and_reused() -> None:
    fake = FakeOAuthServer()
    with make(fake, OAUTH) as api:
        api.job(JOB_ID)
        api.job(JOB_ID)
    assert fake.issued == 1


def test_a_token_is_renewed_shortly_before_it_expires() -> None:
    fake = FakeOAuthServer(expires_in=120)
    now = [0.0]
    with make(fake, OAUTH, clock=lambda: now[0]) as api:
        api.job(JOB_ID)
        now[0] = 120 - client.session.TOKEN_RENEW_MARGIN_S - 1
        api.job(JOB_ID)
        assert fake.issued == 1
        now[0] = 120 - client.session.TOKEN_RENEW_MARGIN_S
        api.job(JOB_ID)
    assert fake.issued == 2


def test_a_401_renews_the_token_once_and_retries() -> None:
    fake = FakeOAuthServer()
    with make(fake, OAUTH) as api:
        api.job(JOB_ID)
        fake.revoked.add("t1")
        assert api.job(JOB_ID).id == JOB_ID
    assert fake.issued == 2


def test_refused_client_credentials_are_not_authenticated() -> None:
    with (
        make(FakeOAuthServer(), client.Credentials.oauth("c", "wrong")) as api,
        pytest.raises(errors.NotAuthenticated, match="Bad client"),
    ):
        api.job(JOB_ID)


def test_basic_credentials_travel_on_every_request() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.headers["authorization"])
        return httpx.Response(200, json=job())

    with make(handler) as api:
        api.job(JOB_ID)
    assert seen == ["Basic ZGVtbzpkZW1v"]


# -- submit, wait ----------------------------------------------------------------------------------


def test_submit_sends_zuoras_body_and_stateful_version_for_a_session() -> None:
    bodies: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json=job("submitted"))

    with make(handler) as api:
        api.submit(["select Id from Account", {"name": "n", "query": "select Id from Invoice"}])
        api.submit(["select Id from Account"], name="s", partner="p", project="q", format="zip")
    assert bodies[0] == {
        "format": "csv",
        "version": "1.0",
        "queries": [
            {"query": "select Id from Account"},
            {"name": "n", "query": "select Id from Invoice"},
        ],
    }
    assert (bodies[1]["version"], bodies[1]["partner"], bodies[1]["format"]) == ("1.1", "p", "zip")


def test_wait_reports_progress_on_every_poll_until_the_job_finishes() -> None:
    statuses = iter(["submitted", "executing", "completed"])
    detail = {
        "id": JOB_ID,
        "kind": "aqua",
        "status": "executing",
        "batches": [{"id": "b", "name": "accounts", "status": "executing", "rowsWritten": 7}],
    }

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/aquarium/api/v1/events":
            return httpx.Response(404, json={"detail": "Not Found"})  # polls instead
        if request.url.path.startswith("/aquarium/api/v1/jobs/"):
            return httpx.Response(200, json=detail)
        return httpx.Response(200, json=job(next(statuses)))

    seen: list[tuple[str, int | None]] = []
    with make(handler, sleep=lambda s: None) as api:
        done = api.wait(
            JOB_ID,
            on_progress=lambda j, d: seen.append(
                (j.status.value, d.batches[0].rows_written if d else None)
            ),
        )
    assert done.status is jobs.JobStatus.COMPLETED
    assert seen == [("submitted", 7), ("executing", 7), ("completed", 7)]


def test_wait_goes_on_without_progress_where_the_job_api_is_missing() -> None:
    statuses = iter(["executing", "completed"])
    asked_detail = []

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.startswith("/aquarium/"):
            asked_detail.append(request.url.path)
            return httpx.Response(404, json={"detail": "Not Found"})
        return httpx.Response(200, json=job(next(statuses)))

    seen: list[object] = []
    with make(handler, sleep=lambda s: None) as api:
        api.wait(JOB_ID, on_progress=lambda j, d: seen.append(d))
    assert seen == [None, None]
    assert asked_detail == ["/aquarium/api/v1/events", f"/aquarium/api/v1/jobs/{JOB_ID}"]


def test_wait_times_out_on_its_clock() -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        now[0] += seconds

    with (
        make(
            lambda r: httpx.Response(200, json=job("executing")), clock=lambda: now[0], sleep=sleep
        ) as api,
        pytest.raises(errors.TimedOut, match="still executing"),
    ):
        api.wait(JOB_ID, poll_s=1.0, timeout=3.0)


# -- downloads -------------------------------------------------------------------------------------


class FakeFiles:
    """Serves one file with Range support and a checksum header, recording the ranges asked."""

    def __init__(self, data: bytes, *, sha256: str | None = None) -> None:
        self.data = data
        self.sha256 = sha256 or hashlib.sha256(data).hexdigest()
        self.ranges: list[str | None] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        asked = request.headers.get("range")
        self.ranges.append(asked)
        headers = {"X-Checksum-Sha256": self.sha256}
        if asked is None:
            return httpx.Response(200, content=self.data, headers=headers)
        start = int(asked.removeprefix("bytes=").rstrip("-"))
        total = len(self.data)
        if start >= total:
            return httpx.Response(416, headers={"Content-Range": f"bytes */{total}"})
        headers["Content-Range"] = f"bytes {start}-{total - 1}/{total}"
        return httpx.Response(206, content=self.data[start:], headers=headers)


DATA = b"Id,Name\n" + b"".join(b"%032d,Account %d\n" % (i, i) for i in range(500))


def test_a_download_appears_whole_and_leaves_no_part(tmp_path: Path) -> None:
    fake = FakeFiles(DATA)
    target = tmp_path / "out" / "a.csv"
    with make(fake) as api:
        assert api.download(FILE_ID, target) == target
    assert target.read_bytes() == DATA and not files.part_path(target).exists()
    assert fake.ranges == [None]


def test_a_part_file_is_resumed_with_a_range(tmp_path: Path) -> None:
    fake = FakeFiles(DATA)
    target = tmp_path / "a.csv"
    files.part_path(target).write_bytes(DATA[:1000])
    with make(fake) as api:
        api.download(FILE_ID, target)
    assert target.read_bytes() == DATA
    assert fake.ranges == ["bytes=1000-"]


def test_a_whole_part_file_finishes_on_416_and_a_foreign_one_starts_over(tmp_path: Path) -> None:
    fake = FakeFiles(DATA)
    target = tmp_path / "a.csv"
    files.part_path(target).write_bytes(DATA)
    with make(fake) as api:
        api.download(FILE_ID, target)
        assert target.read_bytes() == DATA
        files.part_path(target).write_bytes(DATA + b"junk")
        api.download(FILE_ID, target)
    assert target.read_bytes() == DATA
    assert fake.ranges == [f"bytes={len(DATA)}-", f"bytes={len(DATA) + 4}-", None]


def test_resume_false_ignores_a_part_file(tmp_path: Path) -> None:
    fake = FakeFiles(DATA)
    target = tmp_path / "a.csv"
    files.part_path(target).write_bytes(b"stale")
    with make(fake) as api:
        api.download(FILE_ID, target, resume=False)
    assert target.read_bytes() == DATA and fake.ranges == [None]


def test_a_checksum_mismatch_removes_the_part_and_raises(tmp_path: Path) -> None:
    target = tmp_path / "a.csv"
    with (
        make(FakeFiles(DATA, sha256="0" * 64)) as api,
        pytest.raises(errors.ClientError, match="SHA-256"),
    ):
        api.download(FILE_ID, target)
    assert not target.exists() and not files.part_path(target).exists()


def test_an_unknown_file_is_not_found_and_writes_nothing(tmp_path: Path) -> None:
    answer = {"status": "error", "message": "Not found. No such file, or it has expired."}
    target = tmp_path / "a.csv"
    with (
        make(lambda r: httpx.Response(404, json=answer)) as api,
        pytest.raises(errors.NotFound, match="No such file"),
    ):
        api.download(FILE_ID, target)
    assert list(tmp_path.iterdir()) == []


def test_batch_files_are_named_after_their_batches() -> None:
    first = batch("completed", name="Account list/2024")
    second = batch("completed", name="dup", batchId="b" * 32, fileId="f" * 32)
    third = batch("completed", name="dup", batchId="c" * 32, segments=["s1", "s2"])
    del third["fileId"]
    failed = batch("aborted", name="broken")
    document = {**job("completed", first, second, third, failed), "format": "GZIP"}
    assert files.batch_file_names(models.parse_job(document)) == [
        (FILE_ID, "Account_list_2024.csv.gz"),
        ("f" * 32, f"dup-{'b' * 32}.csv.gz"),
        ("s1", f"dup-{'c' * 32}-1.csv.gz"),
        ("s2", f"dup-{'c' * 32}-2.csv.gz"),
    ]


@pytest.mark.parametrize("bad", ["", ".", ".."])
def test_ids_that_url_normalisation_would_turn_into_another_path_are_not_found(bad: str) -> None:
    def nothing_expected(request: httpx.Request) -> httpx.Response:
        raise AssertionError(f"no request expected, got {request.url}")

    with make(nothing_expected) as api, pytest.raises(errors.NotFound):
        api.job(bad)


def test_a_slash_in_an_id_stays_inside_its_path_segment() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path.decode())
        return httpx.Response(200, json={"id": None, "errorCode": "90002", "message": "Invalid"})

    with make(handler) as api, pytest.raises(errors.NotFound):
        api.job("../../v1/file/x")
    assert seen == ["/v1/batch-query/jobs/..%2F..%2Fv1%2Ffile%2Fx"]


def test_a_document_that_merely_says_error_is_not_an_error_on_success() -> None:
    errors.raise_for_answer(httpx.Response(200, json={"status": "error", "detail": "x"}))
    with pytest.raises(errors.NotFound, match="Not Found"):
        errors.raise_for_answer(httpx.Response(404, json={"detail": "Not Found"}))
