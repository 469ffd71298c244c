"""The CLI's local endpoints through the app, in-process: only with the server's token, not in
the API's schema, refusals in the words the CLI prints, and work done on the server's engine."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from aquarium import server
from aquarium.api import local_routes
from tests.integration.demo_server import demo_server
from tests.integration.test_report_definitions import AppClient

QUERY = local_routes.PREFIX + "/query"


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[server.Server]:
    with demo_server(tmp_path_factory, "local") as made:
        yield made


@pytest.fixture(scope="module")
def app(built: server.Server) -> AppClient:
    return AppClient(built.app())


@pytest.fixture(scope="module")
def token(built: server.Server) -> dict[str, str]:
    assert built.services.local is not None
    return {local_routes.TOKEN_HEADER: built.services.local.token}


def query(zoql: str, **more: Any) -> dict[str, Any]:
    return {"tenant": "demo", "zoql": zoql, **more}


@pytest.mark.parametrize("headers", [{}, {local_routes.TOKEN_HEADER: "guess"}])
def test_without_the_token_nothing_is_done(app: AppClient, headers: dict[str, str]) -> None:
    for path in ("", "/query", "/simulate", "/datagen"):
        method = app.get if path == "" else app.post
        response = method(local_routes.PREFIX + path, headers=headers, json={})
        assert response.status_code == 401, (path, response.text)
        assert response.json()["error"]["code"] is not None


def test_the_endpoints_are_not_part_of_the_api(app: AppClient) -> None:
    paths = app.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith(local_routes.PREFIX)]


def test_the_server_says_which_data_dir_it_serves(
    app: AppClient, built: server.Server, token: dict[str, str]
) -> None:
    answer = app.get(local_routes.PREFIX, headers=token)
    assert answer.json() == {"dataDir": str(built.settings.data_dir.resolve())}


def test_a_query_answers_the_csv_and_a_bad_one_the_line_and_caret(
    app: AppClient, token: dict[str, str]
) -> None:
    found = app.post(QUERY, headers=token, json=query("select Id from Account", null="-"))
    assert found.status_code == 200 and found.headers["content-type"].startswith("text/csv")
    assert found.text.splitlines()[0] == "Account.Id" and len(found.text.splitlines()) > 1
    refused = app.post(QUERY, headers=token, json=query("select Nmae from Account"))
    assert refused.status_code == 400
    error = refused.json()["error"]
    assert error["code"] == "refused"
    assert "line 1, column 8: unknown field 'Nmae' on Account" in error["message"]
    assert error["excerpt"].splitlines() == ["select Nmae from Account", "       ^"]
    missing = app.post(QUERY, headers=token, json=query("select Id from Account") | {"tenant": "x"})
    assert missing.status_code == 400 and missing.json()["error"]["excerpt"] is None


def test_simulate_and_datagen_change_the_servers_own_data(
    app: AppClient, token: dict[str, str]
) -> None:
    before = app.post(QUERY, headers=token, json=query("select count(*) from Contact")).text
    report = app.post(
        local_routes.PREFIX + "/simulate",
        headers=token,
        json={"tenant": "demo", "days": 20, "seed": 2},
    ).json()
    assert report["tenant"] == "demo" and report["days"] == 20
    writes = sum(n for _, _, n in report["counts"])
    assert 0 < len(report["changed"]) <= writes  # a row may be written more than once
    after = app.post(QUERY, headers=token, json=query("select count(*) from Contact")).text
    assert before != after  # new customers came with contacts
    made = app.post(
        local_routes.PREFIX + "/datagen",
        headers=token,
        json={"tenant": "acme", "scale": 0.01, "seed": 1, "timeZone": "Europe/Paris"},
    ).json()
    accounts = app.post(
        QUERY, headers=token, json={"tenant": "acme", "zoql": "select count(*) from Account"}
    )
    assert accounts.text.splitlines()[1] == str(made["rows"]["Account"])
    refused = app.post(
        local_routes.PREFIX + "/datagen",
        headers=token,
        json={"tenant": "Bad Name", "scale": 0.01, "seed": 1},
    )
    assert refused.status_code == 400 and refused.json()["error"]["message"]


@pytest.mark.parametrize(
    ("raw", "words"),
    [
        (b"[" * 1000 + b"]" * 1000, "levels deep"),  # issue 11, defect 3
        (
            b'{"tenant": "demo", "zoql": "select Id from Account where Name = \'\\ud800\'"}',
            "Unicode",
        ),
        (b'{"tenant": "demo", "days": ' + b"9" * 5000 + b', "seed": 1}', "beyond 64 bits"),
    ],
)
def test_bodies_beyond_the_json_limits_are_refused_like_everywhere(
    app: AppClient, token: dict[str, str], raw: bytes, words: str
) -> None:
    for path in ("/query", "/simulate", "/datagen"):
        answer = app.post(local_routes.PREFIX + path, headers=token, content=raw)
        assert answer.status_code == 400, answer.text
        assert words in answer.json()["error"]["message"]


def test_a_body_of_the_wrong_shape_says_which_member(app: AppClient, token: dict[str, str]) -> None:
    answer = app.post(QUERY, headers=token, json={"tenant": "demo", "zoql": 3, "extra": 1})
    assert answer.status_code == 400
    message = answer.json()["error"]["message"].lower()
    assert "body.zoql" in message and "body.extra" in message


@pytest.mark.parametrize("null", [",", '"', "a\nb"])
def test_a_null_the_csv_cannot_hold_is_refused_before_the_engine(
    app: AppClient, token: dict[str, str], null: str
) -> None:
    answer = app.post(QUERY, headers=token, json=query("select Id from Account", null=null))
    assert answer.status_code == 400
    message = answer.json()["error"]["message"]
    assert "The null replacement cannot hold" in message and "DELIMITER" not in message
