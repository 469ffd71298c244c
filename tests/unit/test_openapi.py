"""The committed openapi.json is the one the application generates (run `make openapi`)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx

from aquarium.api import app as api_app
from aquarium.api import openapi

COMMITTED = Path(__file__).resolve().parents[2] / "openapi.json"


def test_committed_openapi_is_current() -> None:
    assert COMMITTED.read_text("utf-8") == openapi.render(), "run `make openapi` and commit"


def test_every_zuora_path_is_documented() -> None:
    paths = openapi.document()["paths"]
    for prefix in ("/v1/batch-query", "/apps/api/batch-query"):
        assert "post" in paths[prefix]
        assert {"get", "delete"} <= set(paths[prefix + "/jobs/{job_id}"])
        assert "get" in paths[prefix + "/jobs/partner/{partner}/project/{project}"]
    for path in ("/v1/file/{file_id}", "/v1/files/{file_id}", "/apps/api/file/{file_id}"):
        assert "get" in paths[path]
    assert {"/v1/describe", "/v1/describe/{object_name}", "/oauth/token"} <= set(paths)


def test_the_server_serves_the_committed_document() -> None:
    async def fetch() -> httpx.Response:
        transport = httpx.ASGITransport(app=api_app.create_app(None))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.get("/openapi.json")

    served = asyncio.run(fetch())
    assert served.status_code == 200
    assert served.json() == json.loads(COMMITTED.read_text("utf-8"))
