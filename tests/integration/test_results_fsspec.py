"""Result files on a shared filesystem, end to end: a server whose ResultStore is the fsspec one
over a ``file://`` URL (the shared directory of a scale-out deployment) runs an AQuA job, the
file lands in the shared directory, and ``/v1/file/{id}`` serves it whole and in ``Range``
segments; a file removed from the shared directory (another node's retention sweep) is 404.

The server is built in-process (real SQLite, DuckDB, HTTP through ASGI); for a ``file://`` URL
``storage.open_results`` picks the local store, so ``deployment.open_results`` is replaced for
the build with one making the fsspec store over that URL."""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from aquarium import deployment, server, storage
from aquarium.domain import jobs
from aquarium.settings import Settings
from aquarium.storage import fsspec_store

DEMO = {"apiAccessKeyId": "demo", "apiSecretAccessKey": "demo"}
WAIT_S = 60.0  # seconds the job may take before the test fails
ZOQL = "select Id, Name, AccountNumber, Balance from Account"


def _request(app: Any, method: str, url: str, **kwargs: Any) -> httpx.Response:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, url, **kwargs)

    return asyncio.run(send())


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("shared-results")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, shared: Path) -> Iterator[server.Server]:
    data_dir = tmp_path_factory.mktemp("node")
    url = f"file://{shared}"

    def fsspec_results(settings: Settings) -> fsspec_store.FsspecResultStore:
        return fsspec_store.FsspecResultStore(url, settings.data_dir / storage.RESULTS_CACHE_DIR)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(deployment, "open_results", fsspec_results)
        made = server.build(Settings(data_dir=data_dir, demo_scale=0.05, workers=1))
    assert isinstance(made.results, fsspec_store.FsspecResultStore)
    made.start()
    try:
        yield made
    finally:
        made.stop()


def _completed_file(app: Any) -> dict[str, Any]:
    body = {
        "format": "csv",
        "version": "1.1",
        "queries": [{"name": "accounts", "query": ZOQL, "type": "zoqlexport"}],
    }
    submitted = _request(app, "POST", "/v1/batch-query/", json=body, headers=DEMO).json()
    assert submitted.get("status") == "submitted", submitted
    deadline = time.monotonic() + WAIT_S
    while True:
        path = f"/v1/batch-query/jobs/{submitted['id']}"
        document: dict[str, Any] = _request(app, "GET", path, headers=DEMO).json()
        if document["status"] in {s.value for s in jobs.TERMINAL}:
            assert document["status"] == "completed", document
            batch: dict[str, Any] = document["batches"][0]
            return batch
        assert time.monotonic() < deadline, document
        time.sleep(0.05)


def test_a_result_file_is_published_to_the_shared_directory_and_served_in_ranges(
    built: server.Server, shared: Path
) -> None:
    app = built.app()
    file_id = _completed_file(app)["fileId"]
    published = shared / "demo" / file_id
    assert published.is_file()
    assert [p.name for p in (shared / "demo").iterdir()] == [file_id]  # no staging copy left
    stored = published.read_bytes()
    assert stored.startswith(b"Account: ID,Account: Name,") and stored.count(b"\n") > 10

    whole = _request(app, "GET", f"/v1/file/{file_id}", headers=DEMO)
    assert whole.status_code == 200 and whole.content == stored
    assert whole.headers["x-checksum-sha256"] == hashlib.sha256(stored).hexdigest()
    cut = len(stored) // 3
    first = _request(app, "GET", f"/v1/file/{file_id}", headers={**DEMO, "Range": f"bytes=0-{cut}"})
    rest = _request(
        app, "GET", f"/v1/file/{file_id}", headers={**DEMO, "Range": f"bytes={cut + 1}-"}
    )
    assert (first.status_code, rest.status_code) == (206, 206)
    assert first.content + rest.content == stored
    assert rest.headers["content-range"] == f"bytes {cut + 1}-{len(stored) - 1}/{len(stored)}"


def test_a_file_gone_from_the_shared_directory_is_not_served(
    built: server.Server, shared: Path
) -> None:
    app = built.app()
    file_id = _completed_file(app)["fileId"]
    assert _request(app, "GET", f"/v1/file/{file_id}", headers=DEMO).status_code == 200
    (shared / "demo" / file_id).unlink()  # another node's retention sweep
    assert _request(app, "GET", f"/v1/file/{file_id}", headers=DEMO).status_code == 404
