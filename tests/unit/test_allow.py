"""OPTIONS and 405 answers list every method a path takes, in every family (api/allow.py).

Starlette alone said only the first matching route's methods (``POST`` on a job said
``Allow: GET``, without DELETE). The app is described without services: neither answer needs
one, and no request here reaches a route.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from aquarium.api import app as api_app
from aquarium.api import openapi

DOCUMENT = openapi.document()
METHODS = {"get", "post", "put", "delete", "patch"}


def request(method: str, url: str) -> httpx.Response:
    async def send() -> httpx.Response:
        transport = httpx.ASGITransport(app=api_app.create_app(None), raise_app_exceptions=False)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            return await client.request(method, url)

    return asyncio.run(send())


def concrete(template: str) -> str:
    """A documented path with every parameter filled in."""
    return template.replace("{", "x").replace("}", "")


def documented_methods(template: str) -> set[str]:
    return {method.upper() for method in DOCUMENT["paths"][template] if method in METHODS}


def allowed(response: httpx.Response) -> set[str]:
    return {part.strip() for part in response.headers["Allow"].split(",")}


@pytest.mark.unit
@pytest.mark.parametrize("template", sorted(DOCUMENT["paths"]))
def test_options_lists_every_method_of_every_documented_path(template: str) -> None:
    response = request("OPTIONS", concrete(template))
    assert response.status_code == 204, response.text
    assert allowed(response) == documented_methods(template) | {"OPTIONS"}


@pytest.mark.unit
@pytest.mark.parametrize(
    ("path", "methods", "family_check"),
    [
        ("/v1/batch-query/jobs/abc", {"GET", "DELETE"}, lambda body: body["errorCode"]),
        ("/apps/api/batch-query/jobs/abc", {"GET", "DELETE"}, lambda body: body["errorCode"]),
        ("/v1/object/account/abc", {"GET", "PUT", "DELETE"}, lambda body: body["Errors"]),
        ("/api/rest/v1/reportruns/abc", {"GET", "DELETE"}, lambda body: body["response"]),
        (
            "/reporting/api/rest/v1/reports/abc/reportlabels",
            {"GET", "POST", "DELETE"},
            lambda body: body["response"],
        ),
        ("/aquarium/api/v1/jobs/abc", {"GET", "DELETE"}, lambda body: body["error"]["code"]),
    ],
)
def test_a_method_the_path_does_not_take_is_405_with_every_method(
    path: str, methods: set[str], family_check: Any
) -> None:
    response = request("PATCH", path)
    assert response.status_code == 405
    assert allowed(response) == methods | {"OPTIONS"}
    assert family_check(json.loads(response.text))


@pytest.mark.unit
def test_post_on_a_report_run_lists_delete_too() -> None:
    """The issue's own example: ``POST /reportruns/{id}`` left DELETE out of ``Allow``."""
    for prefix in ("/api/rest/v1", "/reporting/api/rest/v1"):
        response = request("POST", prefix + "/reportruns/" + "0" * 32)
        assert response.status_code == 405
        assert {"GET", "DELETE"} <= allowed(response)
        assert response.json()["success"] is False


@pytest.mark.unit
@pytest.mark.parametrize("path", ["/v1/nowhere", "/api/rest/v1/nowhere", "/aquarium/api/v1/x/y"])
def test_options_on_an_unknown_path_is_the_familys_404(path: str) -> None:
    response = request("OPTIONS", path)
    assert response.status_code == 404
    assert "Allow" not in response.headers
    assert "detail" not in response.json()


@pytest.mark.unit
def test_pages_keep_their_answers() -> None:
    """The Job Finder's pages answer OPTIONS too; a wrong method keeps the framework's body."""
    assert allowed(request("OPTIONS", "/jobs")) == {"GET", "OPTIONS"}
    wrong = request("DELETE", "/jobs")
    assert wrong.status_code == 405
    assert wrong.json() == {"detail": "Method Not Allowed"}
    assert allowed(wrong) == {"GET", "OPTIONS"}
