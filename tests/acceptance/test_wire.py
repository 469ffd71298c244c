"""HTTP-level quirks integrations rely on: paths, encodings, headers, odd file ids."""

from __future__ import annotations

import gzip
import json

import httpx
import pytest

from tests.acceptance import deployments, support

DEPLOYMENTS = deployments.BOTH  # every test runs embedded and scale-out (conftest.py)

DEMO_BASIC = {"Authorization": support.basic(*support.DEMO_AUTH)}


@pytest.fixture(scope="module")
def finished(demo: httpx.Client) -> dict[str, object]:
    """A completed one-query job of the demo tenant."""
    return support.run_job(demo, support.stateless("select Id, Name from Account"))


def test_repeated_slashes_and_trailing_slash_reach_the_same_job(
    demo: httpx.Client, finished: dict[str, object]
) -> None:
    job_id = finished["id"]
    for path in (
        f"/v1/batch-query/jobs/{job_id}",
        f"/v1/batch-query//jobs/{job_id}",
        f"/v1/batch-query/jobs/{job_id}/",
        f"/apps/api/batch-query//jobs/{job_id}/",
    ):
        response = demo.get(path)
        assert response.status_code == 200, path
        assert response.json() == finished, path
    # A leading "//" would read as a host to httpx; send it over a bare socket.
    raw = support.raw_request(
        demo.base_url.join("/").scheme + "://" + demo.base_url.netloc.decode(),
        "GET",
        f"//v1//batch-query//jobs//{job_id}//",
        DEMO_BASIC,
    )
    assert raw.status == 200
    assert json.loads(raw.body) == finished


def test_submit_with_and_without_trailing_slash(demo: httpx.Client) -> None:
    for path in (
        "/v1/batch-query",
        "/v1/batch-query/",
        "/v1//batch-query//",
        "/apps/api/batch-query",
    ):
        support.submit_ok(demo, support.stateless("select Id from Account"), path)


def test_file_paths_tolerate_double_and_trailing_slashes(
    demo: httpx.Client, finished: dict[str, object]
) -> None:
    file_id = finished["batches"][0]["fileId"]  # type: ignore[index]
    expected = support.download(demo, file_id).content
    for path in (f"/v1//file/{file_id}", f"/v1/file/{file_id}/", f"/apps/api//file/{file_id}"):
        response = demo.get(path)
        assert response.status_code == 200, path
        assert response.content == expected


def test_gzip_request_body_is_accepted(server: support.RunningServer) -> None:
    body = gzip.compress(json.dumps(support.stateless("select Id from Account")).encode())
    response = support.raw_request(
        server.base_url,
        "POST",
        "/v1/batch-query/",
        {**DEMO_BASIC, "Content-Encoding": "gzip", "Content-Type": "application/json"},
        body,
    )
    assert response.status == 200, response.body
    document = json.loads(response.body)
    assert document["status"] == "submitted", document


def test_no_accept_user_agent_or_content_type_needed(server: support.RunningServer) -> None:
    body = json.dumps(support.stateless("select Id from Account")).encode()
    submitted = support.raw_request(server.base_url, "POST", "/v1/batch-query/", DEMO_BASIC, body)
    assert submitted.status == 200, submitted.body
    job = json.loads(submitted.body)
    assert job["status"] == "submitted"
    for method, path in (
        ("GET", f"/v1/batch-query/jobs/{job['id']}"),
        ("GET", "/v1/describe/Account"),
        ("DELETE", f"/v1/batch-query/jobs/{'0' * 32}"),
    ):
        response = support.raw_request(server.base_url, method, path, DEMO_BASIC)
        assert response.status == 200, (path, response.status)


@pytest.mark.parametrize(
    "accept", ["application/xml", "text/csv", "image/png", "application/json;q=0", "*/*"]
)
def test_never_406_whatever_the_accept_header(demo: httpx.Client, accept: str) -> None:
    headers = {"Accept": accept}
    assert demo.get("/v1/describe", headers=headers).status_code == 200
    assert demo.get(f"/v1/batch-query/jobs/{'0' * 32}", headers=headers).status_code == 200
    submitted = demo.post(
        "/v1/batch-query/", json=support.stateless("select Id from Account"), headers=headers
    )
    assert submitted.status_code == 200


def test_accept_encoding_gzip_compresses_large_answers_only(server: support.RunningServer) -> None:
    big = support.raw_request(
        server.base_url, "GET", "/v1/describe/Account", {**DEMO_BASIC, "Accept-Encoding": "gzip"}
    )
    assert big.status == 200
    assert big.headers.get("content-encoding") == "gzip", big.headers
    assert gzip.decompress(big.body).startswith(b"<?xml")
    small = support.raw_request(
        server.base_url,
        "GET",
        f"/v1/batch-query/jobs/{'0' * 32}",
        {**DEMO_BASIC, "Accept-Encoding": "gzip"},
    )
    assert len(small.body) < 1000
    assert "content-encoding" not in small.headers
    assert json.loads(small.body)["errorCode"] == "90002"
    plain = support.raw_request(server.base_url, "GET", "/v1/describe/Account", DEMO_BASIC)
    assert "content-encoding" not in plain.headers
    assert plain.body == gzip.decompress(big.body)


def test_large_job_document_is_gzipped_when_asked(server: support.RunningServer) -> None:
    client = server.client()
    submitted = support.submit_ok(client, support.stateless(*["select Id from Account"] * 12))
    response = support.raw_request(
        server.base_url,
        "GET",
        f"/v1/batch-query/jobs/{submitted['id']}",
        {**DEMO_BASIC, "Accept-Encoding": "gzip"},
    )
    assert response.headers.get("content-encoding") == "gzip"
    assert json.loads(gzip.decompress(response.body))["id"] == submitted["id"]


def test_track_id_echoed_and_request_id_sent(demo: httpx.Client) -> None:
    for response in (
        demo.get("/v1/describe", headers={"Zuora-Track-Id": "track-123"}),
        demo.get(f"/v1/batch-query/jobs/{'0' * 32}", headers={"Zuora-Track-Id": "track-123"}),
        demo.post("/v1/batch-query/", content=b"{", headers={"Zuora-Track-Id": "track-123"}),
    ):
        assert response.headers["Zuora-Track-Id"] == "track-123"
        assert support.is_id(response.headers["Zuora-Request-Id"]), response.headers
    unauthenticated = httpx.get(demo.base_url.join("/v1/describe"))
    assert unauthenticated.status_code == 401
    assert unauthenticated.headers.get("Zuora-Request-Id")
    first = demo.get("/v1/describe").headers["Zuora-Request-Id"]
    second = demo.get("/v1/describe").headers["Zuora-Request-Id"]
    assert first != second


@pytest.mark.parametrize(
    "path",
    [
        "/v1/file/..%2F..%2Fsecret.key",
        "/v1/file/..%2F..%2Ftenants.json",
        "/v1/files/..%2Fresults",
        "/apps/api/file/..%2F..%2Fsecret.key",
        "/v1/file/a/b",
        "/v1/file/a%2Fb",
        "/v1/file/%2E%2E",
        "/v1/file/" + "0" * 32,
        "/v1/files/" + "0" * 32,
        "/apps/api/file/" + "0" * 32,
        "/v1/file/not-an-id",
        "/v1/file/" + "0" * 32 + ".csv",
    ],
)
def test_unknown_or_path_like_file_ids_are_404(demo: httpx.Client, path: str) -> None:
    response = demo.get(path)
    assert response.status_code == 404, (path, response.status_code, response.text[:200])
    assert b"scrypt" not in response.content and b"tenants" not in response.content


def test_gzip_request_body_that_is_not_gzip_is_400(demo: httpx.Client) -> None:
    response = demo.post(
        "/v1/batch-query/", content=b'{"version": "1.0"}', headers={"Content-Encoding": "gzip"}
    )
    assert response.status_code == 400, response.text
    assert response.json()["status"] == "error"


def test_gzip_request_body_over_one_megabyte_unzipped_is_413(demo: httpx.Client) -> None:
    bomb = gzip.compress(b"{" + b" " * (3 * 1024 * 1024) + b"}")
    assert len(bomb) < 1024 * 1024
    response = demo.post("/v1/batch-query/", content=bomb, headers={"Content-Encoding": "gzip"})
    assert response.status_code == 413, response.text


def test_file_id_with_csv_suffix_downloads_the_file(
    demo: httpx.Client, finished: dict[str, object]
) -> None:
    file_id = finished["batches"][0]["fileId"]  # type: ignore[index]
    expected = support.download(demo, file_id).content
    assert support.download(demo, f"{file_id}.csv").content == expected


@pytest.mark.parametrize(
    ("path", "methods"),
    [
        ("/v1/batch-query/jobs/" + "0" * 32, {"GET", "DELETE"}),
        ("/apps/api/batch-query/", {"POST"}),
        ("/v1/object/Account/" + "0" * 32, {"GET", "PUT", "DELETE"}),
        ("/api/rest/v1/reportruns/" + "0" * 32, {"GET", "DELETE"}),
        ("/reporting/api/rest/v1/reportruns/" + "0" * 32, {"GET", "DELETE"}),
        ("/aquarium/api/v1/jobs/" + "0" * 32, {"GET", "DELETE"}),
    ],
)
def test_options_and_405_list_every_method_of_the_path(
    demo: httpx.Client, path: str, methods: set[str]
) -> None:
    """OPTIONS answers 204 with ``Allow``; a method the path does not take answers 405 in the
    family's envelope with the same ``Allow`` (issue 11: DELETE used to be missing)."""
    options = demo.options(path)
    assert options.status_code == 204, options.text
    allowed = {part.strip() for part in options.headers["Allow"].split(",")}
    assert allowed == methods | {"OPTIONS"}
    wrong = demo.patch(path)
    assert wrong.status_code == 405, wrong.text
    assert {part.strip() for part in wrong.headers["Allow"].split(",")} == allowed
    assert "detail" not in wrong.json()
