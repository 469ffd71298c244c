"""Every API family answers its errors in its own envelope, through the FastAPI app in-process:
an unexpected exception (500, no internal words), the router's own unknown route and wrong
method, and an authentication failure."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from aquarium import server
from tests.integration.demo_server import demo_server

DEMO = {"apiAccessKeyId": "demo", "apiSecretAccessKey": "demo"}
WRONG = {"apiAccessKeyId": "demo", "apiSecretAccessKey": "wrong"}
ID = "0" * 32
SECRET = "duckdb.BinderException: Referenced column secret_x42 not found"


class App:
    """Requests to the app in-process; an exception the app raises becomes its 500 answer."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return await client.request(method, url, **kwargs)

        return asyncio.run(send())


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[server.Server]:
    with demo_server(tmp_path_factory, "envelopes") as found:
        yield found


@pytest.fixture(scope="module")
def app(built: server.Server) -> App:
    return App(built.app())


def aqua_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    document: dict[str, Any] = response.json()
    assert set(document) == {"id", "status", "errorCode", "message"}, document
    assert document["id"] is None and document["status"] == "error"
    return document


def object_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    document = response.json()
    assert set(document) == {"Success", "Errors"} and document["Success"] is False, document
    (problem,) = document["Errors"]
    assert set(problem) == {"Code", "Message"}
    found: dict[str, Any] = problem
    return found


def reporting_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    document = response.json()
    assert set(document) == {"success", "response", "links"}, document
    assert document["success"] is False and document["links"] is None
    inner: dict[str, Any] = json.loads(document["response"])
    assert set(inner) == {"errorId", "message", "errorCode"}
    return inner


def job_api_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    document = response.json()
    assert set(document) == {"error"} and set(document["error"]) == {"code", "message"}
    found: dict[str, Any] = document["error"]
    return found


def _boom(*args: object, **kwargs: object) -> object:
    raise RuntimeError(SECRET)


# -- unexpected exceptions -------------------------------------------------------------------------


def test_aqua_answers_an_unexpected_exception_with_90010(
    app: App, built: server.Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(built.services.aqua, "cancel", _boom)
    for prefix in ("/v1", "/apps/api"):
        response = app.request("DELETE", f"{prefix}/batch-query/jobs/{ID}", headers=DEMO)
        document = aqua_error(response, 500)
        assert (document["errorCode"], document["message"]) == ("90010", "Internal Server Error.")
        assert "secret_x42" not in response.text


def test_object_crud_answers_an_unexpected_exception_in_its_envelope(
    app: App, built: server.Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert built.services.objects is not None
    monkeypatch.setattr(built.services.objects, "get", _boom)
    response = app.request("GET", f"/v1/object/Account/{ID}", headers=DEMO)
    assert object_error(response, 500) == {
        "Code": "UNKNOWN_ERROR",
        "Message": "Internal Server Error.",
    }
    assert "secret_x42" not in response.text


def test_reporting_answers_an_unexpected_exception_in_its_envelope(
    app: App, built: server.Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert built.services.report_runs is not None
    monkeypatch.setattr(built.services.report_runs, "get", _boom)
    for prefix in ("/api/rest/v1", "/reporting/api/rest/v1"):
        response = app.request("GET", f"{prefix}/reportruns/{ID}", headers=DEMO)
        inner = reporting_error(response, 500)
        assert (inner["errorCode"], inner["message"]) == (
            "ZAN-REST-ERROR",
            "Internal Server Error.",
        )
        assert "secret_x42" not in response.text


def test_the_job_api_answers_an_unexpected_exception_in_its_envelope(
    app: App, built: server.Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert built.services.finder is not None
    monkeypatch.setattr(built.services.finder, "list_jobs", _boom)
    response = app.request("GET", "/aquarium/api/v1/jobs", headers=DEMO)
    assert job_api_error(response, 500) == {
        "code": "internal_error",
        "message": "Internal Server Error.",
    }
    assert "secret_x42" not in response.text


# -- the router's own errors -----------------------------------------------------------------------


def test_aqua_paths_answer_unknown_routes_and_methods_in_the_aqua_envelope(app: App) -> None:
    for path in ("/v1/batch-query/nothing/here", "/apps/api/nothing", "/v1/nothing"):
        document = aqua_error(app.request("GET", path, headers=DEMO), 404)
        assert document["message"] == "Not Found"
    for method, path in (
        ("PUT", f"/v1/batch-query/jobs/{ID}"),
        ("GET", "/v1/batch-query"),
        ("POST", f"/v1/file/{ID}"),
        ("GET", "/oauth/token"),
    ):
        response = app.request(method, path, headers=DEMO)
        assert aqua_error(response, 405)["message"] == "Method Not Allowed"
        assert response.headers["Allow"]


def test_object_paths_answer_unknown_routes_and_methods_in_the_crud_envelope(app: App) -> None:
    missing = object_error(app.request("GET", f"/v1/object/Account/{ID}/x", headers=DEMO), 404)
    assert missing["Message"] == "Not Found"
    response = app.request("PATCH", f"/v1/object/Account/{ID}", headers=DEMO)
    assert object_error(response, 405)["Message"] == "Method Not Allowed"
    assert "GET" in response.headers["Allow"]


@pytest.mark.parametrize("prefix", ["/api/rest/v1", "/reporting/api/rest/v1"])
def test_reporting_paths_answer_unknown_routes_and_methods_in_the_reporting_envelope(
    app: App, prefix: str
) -> None:
    missing = reporting_error(app.request("GET", f"{prefix}/nothing", headers=DEMO), 404)
    assert (missing["errorCode"], missing["message"]) == ("ZAN-REST-ERROR", "Not Found")
    wrong = app.request("PUT", f"{prefix}/reportruns/{ID}", headers=DEMO)
    refused = reporting_error(wrong, 405)
    assert (refused["errorCode"], refused["message"]) == ("ZAN-REST-ERROR", "Method Not Allowed")


def test_job_api_paths_answer_unknown_routes_and_methods_in_its_envelope(app: App) -> None:
    for path in ("/aquarium/api/v1/nothing", "/aquarium/api/nothing"):
        assert job_api_error(app.request("GET", path, headers=DEMO), 404)["code"] == "not_found"
    wrong = app.request("PUT", f"/aquarium/api/v1/jobs/{ID}", headers=DEMO)
    assert job_api_error(wrong, 405)["code"] == "method_not_allowed"


def test_other_paths_keep_the_frameworks_answer(app: App) -> None:
    response = app.request("GET", "/no/such/page")
    assert (response.status_code, response.json()) == (404, {"detail": "Not Found"})


# -- authentication failures -----------------------------------------------------------------------


def test_each_family_refuses_bad_credentials_with_401_in_its_own_envelope(app: App) -> None:
    aqua = app.request("GET", f"/v1/batch-query/jobs/{ID}", headers=WRONG)
    assert aqua_error(aqua, 401)["errorCode"] == "90009"
    assert aqua.headers["WWW-Authenticate"].startswith("Basic")

    crud = app.request("GET", f"/v1/object/Account/{ID}", headers=WRONG)
    assert object_error(crud, 401)["Code"] == "INVALID_LOGIN"
    assert crud.headers["WWW-Authenticate"].startswith("Basic")

    for prefix in ("/api/rest/v1", "/reporting/api/rest/v1"):
        reporting = app.request("GET", f"{prefix}/reportruns/{ID}", headers=WRONG)
        assert reporting_error(reporting, 401)["errorCode"] == "loginFailed"

    jobs = app.request("GET", "/aquarium/api/v1/jobs", headers=WRONG)
    assert job_api_error(jobs, 401)["code"] == "unauthorized"


def test_object_crud_answers_an_oversized_body_in_its_envelope(app: App) -> None:
    body = b'{"Name": "' + b"x" * (1024 * 1024) + b'"}'
    problem = object_error(
        app.request("POST", "/v1/object/Account", headers=DEMO, content=body), 413
    )
    assert problem["Code"] == "INVALID_VALUE" and "larger than" in problem["Message"]
