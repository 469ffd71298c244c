"""``aquarium.client`` waits through the event stream (polling where it cannot), and names a file
downloaded by its id after what the answer says it is; against httpx.MockTransport."""

from __future__ import annotations

import gzip
import hashlib
from collections.abc import Callable, Iterator
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
EVENTS = "/aquarium/api/v1/events"


def job(status: str) -> dict[str, Any]:
    return {"id": JOB_ID, "status": status, "format": "CSV", "version": "1.0", "batches": []}


def run(status: str) -> dict[str, Any]:
    return {"success": True, "response": {"id": JOB_ID, "status": status}}


def stream(*blocks: str, drop: bool = False) -> httpx.Response:
    """An event stream answer made of ``blocks`` (each ends with a blank line)."""

    def body() -> Iterator[bytes]:
        for block in blocks:
            yield (block + "\n\n").encode()
        if drop:
            raise httpx.RemoteProtocolError("peer closed connection")

    return httpx.Response(200, headers={"Content-Type": "text/event-stream"}, content=body())


def event(status: str) -> str:
    return f'event: job\ndata: {{"id": "{JOB_ID}", "kind": "aqua", "status": "{status}"}}'


class Server:
    """A fake server: the event stream answer, then the job's statuses read in turn."""

    def __init__(self, events: Callable[[], httpx.Response], statuses: list[str]) -> None:
        self.events = events
        self.statuses = iter(statuses)
        self.paths: list[str] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        if request.url.path == EVENTS:
            assert request.url.params["job"] == JOB_ID
            assert request.headers["accept"] == "text/event-stream"
            return self.events()
        if request.url.path.startswith("/aquarium/api/v1/jobs/"):
            return httpx.Response(404, json={"error": {"code": "not_found", "message": "x"}})
        if request.url.path.startswith("/api/rest/v1/reportruns/"):
            return httpx.Response(200, json=run(next(self.statuses)))
        return httpx.Response(200, json=job(next(self.statuses)))


def no_sleep(seconds: float) -> None:
    raise AssertionError(f"polled (slept {seconds} s) although the stream was there")


def make(server: Server, **kwargs: Any) -> client.Client:
    credentials = client.Credentials.basic("demo", "demo")
    return client.Client(URL, credentials, transport=httpx.MockTransport(server), **kwargs)


def test_a_wait_reads_the_job_once_subscribed_and_after_every_event_never_polling() -> None:
    server = Server(
        lambda: stream("retry: 3000", event("executing"), ": keep-alive", event("completed")),
        ["submitted", "executing", "executing", "completed"],
    )
    seen: list[str] = []
    with make(server, sleep=no_sleep) as api:
        done = api.wait(JOB_ID, on_progress=lambda j, d: seen.append(j.status.value))
    assert done.status is jobs.JobStatus.COMPLETED
    assert seen == ["submitted", "executing", "executing", "completed"]
    assert server.paths[0] == EVENTS


def test_a_report_run_is_followed_the_same_way() -> None:
    server = Server(lambda: stream("retry: 3000", event("COMPLETED")), ["QUERYDATA", "COMPLETED"])
    with make(server, sleep=no_sleep) as api:
        done = api.wait_report_run(JOB_ID)
    assert done.status is jobs.ReportRunStatus.COMPLETED


@pytest.mark.parametrize(
    "events",
    [
        lambda: httpx.Response(404, json={"detail": "Not Found"}),  # Zuora, an older Aquarium
        lambda: httpx.Response(200, json={"not": "a stream"}),  # something else answers there
        lambda: stream("retry: 3000", drop=True),  # the stream drops after one block
        lambda: stream("retry: 3000"),  # the stream ends
    ],
    ids=["missing", "not-a-stream", "dropped", "ended"],
)
def test_without_a_stream_the_wait_polls(events: Callable[[], httpx.Response]) -> None:
    server = Server(events, ["executing", "executing", "completed"])
    slept: list[float] = []
    with make(server, sleep=slept.append) as api:
        done = api.wait(JOB_ID, poll_s=0.25)
    assert done.status is jobs.JobStatus.COMPLETED
    assert slept and set(slept) == {0.25}


def test_a_stream_that_cannot_be_reached_falls_back_and_the_poll_reports_it() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("refused", request=request)

    credentials = client.Credentials.basic("demo", "demo")
    with (
        client.Client(URL, credentials, transport=httpx.MockTransport(handler)) as api,
        pytest.raises(errors.ServerUnreachable),
    ):
        api.wait(JOB_ID)


def test_a_wait_times_out_while_events_keep_coming() -> None:
    now = [0.0]

    def clock() -> float:
        now[0] += 1.0
        return now[0]

    blocks = ["retry: 3000", *[event("executing")] * 10]
    server = Server(lambda: stream(*blocks), ["executing"] * 11)
    with (
        make(server, clock=clock, sleep=no_sleep) as api,
        pytest.raises(errors.TimedOut, match="still executing"),
    ):
        api.wait(JOB_ID, timeout=3.0)


def test_an_error_reading_the_job_is_not_taken_for_a_missing_stream() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == EVENTS:
            return stream("retry: 3000")
        return httpx.Response(401, json={"status": "error", "message": "bad"})

    credentials = client.Credentials.basic("demo", "demo")
    with (
        client.Client(URL, credentials, transport=httpx.MockTransport(handler)) as api,
        pytest.raises(errors.NotAuthenticated),
    ):
        api.wait(JOB_ID)


# -- a file downloaded by its id -------------------------------------------------------------------

CSV = b"Id,Name\n1,a\n"
GZIP = gzip.compress(CSV, mtime=0)
ZIP_HEAD = b"PK\x03\x04" + b"\x00" * 40


def serving(data: bytes, **headers: str) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        sent = {"X-Checksum-Sha256": hashlib.sha256(data).hexdigest(), **headers}
        return httpx.Response(200, content=data, headers=sent)

    return handler


@pytest.mark.parametrize(
    ("data", "headers", "suffix"),
    [
        (CSV, {"Content-Type": "text/csv;charset=UTF-8"}, ".csv"),
        (GZIP, {"Content-Type": "application/x-gzip;charset=UTF-8"}, ".csv.gz"),
        (ZIP_HEAD, {"Content-Type": "application/zip;charset=UTF-8"}, ".zip"),
        (b"-----BEGIN PGP", {"Content-Type": "application/pgp-encrypted"}, ".pgp"),
        (GZIP, {"Content-Disposition": 'attachment; filename="q.2026.csv.gz"'}, ".csv.gz"),
        (CSV, {"Content-Disposition": "attachment; filename*=UTF-8''x.TSV"}, ".tsv"),
        (GZIP, {"Content-Type": "application/octet-stream"}, ".csv.gz"),
        (ZIP_HEAD, {}, ".zip"),
        (CSV, {"Content-Type": "application/octet-stream"}, ".csv"),
    ],
    ids=[
        "csv",
        "gzip",
        "zip",
        "pgp",
        "disposition",
        "disposition-utf8",
        "octets-gzip",
        "untyped-zip",
        "octets-csv",
    ],
)
def test_a_file_downloaded_by_id_is_named_with_the_suffix_of_its_answer(
    tmp_path: Path, data: bytes, headers: dict[str, str], suffix: str
) -> None:
    credentials = client.Credentials.basic("demo", "demo")
    transport = httpx.MockTransport(serving(data, **headers))
    with client.Client(URL, credentials, transport=transport) as api:
        saved = api.download_file(FILE_ID, tmp_path)
    assert saved == tmp_path / f"{FILE_ID}{suffix}"
    assert saved.read_bytes() == data
    assert sorted(p.name for p in tmp_path.iterdir()) == [saved.name]


def test_a_broken_download_by_id_resumes_from_its_part(tmp_path: Path) -> None:
    asked: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        asked.append(request.headers.get("range"))
        headers = {
            "Content-Type": "application/x-gzip",
            "X-Checksum-Sha256": hashlib.sha256(GZIP).hexdigest(),
            "Content-Range": f"bytes 5-{len(GZIP) - 1}/{len(GZIP)}",
        }
        return httpx.Response(206, content=GZIP[5:], headers=headers)

    files.part_path(tmp_path / FILE_ID).write_bytes(GZIP[:5])
    credentials = client.Credentials.basic("demo", "demo")
    with client.Client(URL, credentials, transport=httpx.MockTransport(handler)) as api:
        saved = api.download_file(FILE_ID, tmp_path)
    assert asked == ["bytes=5-"]
    assert saved.name == f"{FILE_ID}.csv.gz" and saved.read_bytes() == GZIP


def test_a_result_keeps_the_document_it_was_parsed_from() -> None:
    document = job("completed") | {"somethingNew": 1}
    parsed = models.parse_job(document)
    assert parsed.wire == document
    assert parsed == models.parse_job(job("completed"))  # the document is not compared
