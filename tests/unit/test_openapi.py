"""The committed openapi.json is the one the application generates (run `make openapi`)."""

from __future__ import annotations

from pathlib import Path

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
