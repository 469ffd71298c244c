"""Reporting administration through the FastAPI app: Get/Update Tenant Settings and Transfer
Report Ownership [TSET][TUPD][XFER], on both path families."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from aquarium.services import reports
from tests import tenants_setup
from tests.integration.demo_server import demo_server
from tests.integration.test_report_definitions import DETAIL, AppClient, body

PREFIXES = ["/api/rest/v1", "/reporting/api/rest/v1"]
DEMO = {"apiAccessKeyId": "demo", "apiSecretAccessKey": "demo"}  # an admin of demo
NINA = {"apiAccessKeyId": "nina", "apiSecretAccessKey": "nina-secret"}  # not an admin
OLGA = {"apiAccessKeyId": "olga", "apiSecretAccessKey": "olga-secret"}  # admin of "other"


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppClient]:
    with demo_server(tmp_path_factory, "report-admin") as built:
        tenants_setup.add_user(built, "demo", "nina", "nina-secret")
        tenants_setup.add_tenant(built, "other", time_zone="Asia/Tokyo")
        tenants_setup.add_user(built, "other", "olga", "olga-secret", admin=True)
        yield AppClient(built.app())


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/json;charset=UTF-8"
    document = response.json()
    assert document["success"] is True
    return document["response"]


def refused(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    document = response.json()
    assert document["success"] is False and document["links"] is None
    inner: dict[str, Any] = json.loads(document["response"])
    return inner


# -- tenant settings -------------------------------------------------------------------------------


def test_tenant_settings_read_replace_and_clear(client: AppClient) -> None:
    for prefix in PREFIXES:
        assert ok(client.get(f"{prefix}/settings", headers=NINA)) == {"emailDomains": []}
    update = {"emailDomains": ["CorporationXYZ.com", " zuora.com ", "corporationxyz.COM"]}
    saved = ok(client.post("/api/rest/v1/settings", json=update, headers=DEMO))
    assert saved == {"status": "OK", "code": 100, "message": "Success"}  # [TUPD]
    expected = {"emailDomains": ["CorporationXYZ.com", "zuora.com"]}
    for prefix in PREFIXES:
        assert ok(client.get(f"{prefix}/settings", headers=NINA)) == expected
    # Another tenant's settings are its own.
    assert ok(client.get("/api/rest/v1/settings", headers=OLGA)) == {"emailDomains": []}
    replaced = {"emailDomains": ["example.org"]}
    ok(client.post("/reporting/api/rest/v1/settings", json=replaced, headers=DEMO))
    assert ok(client.get("/api/rest/v1/settings", headers=DEMO)) == replaced
    ok(client.post("/api/rest/v1/settings", json={"emailDomains": []}, headers=DEMO))
    assert ok(client.get("/api/rest/v1/settings", headers=DEMO)) == {"emailDomains": []}


@pytest.mark.parametrize(
    ("payload", "status", "code", "words"),
    [
        ({"emailDomains": ["not a domain"]}, 400, "ZAN-USAGE-REST-ERROR", "'not a domain' is not"),
        ({"emailDomains": ["localhost"]}, 400, "ZAN-USAGE-REST-ERROR", "not an email domain"),
        ({}, 400, "ZAN-USAGE-REST-ERROR", "emailDomains is required"),
        ({"emailDomains": "zuora.com"}, 500, "ZAN-REST-ERROR", "java.util.ArrayList"),
        ([], 500, "ZAN-REST-ERROR", "must be a JSON object"),
        (None, 500, "ZAN-REST-ERROR", "Required request body content is missing"),
    ],
)
def test_bad_settings_are_refused_and_change_nothing(
    client: AppClient, payload: object, status: int, code: str, words: str
) -> None:
    ok(client.post("/api/rest/v1/settings", json={"emailDomains": ["keep.me"]}, headers=DEMO))
    sent = {} if payload is None else {"json": payload}
    found = refused(client.post("/api/rest/v1/settings", headers=DEMO, **sent), status)
    assert found["errorCode"] == code and words in found["message"], found
    assert ok(client.get("/api/rest/v1/settings", headers=DEMO)) == {"emailDomains": ["keep.me"]}


def test_only_an_administrator_changes_the_settings(client: AppClient) -> None:
    found = refused(
        client.post("/api/rest/v1/settings", json={"emailDomains": []}, headers=NINA), 403
    )
    assert found["errorCode"] == "ZAN-USAGE-REST-ERROR"
    assert "administrator" in found["message"]
    assert refused(client.get("/api/rest/v1/settings"), 401)["errorCode"] == "loginFailed"


# -- transfer of ownership -------------------------------------------------------------------------


def _report(client: AppClient, name: str, *, labels: list[str] | None = None) -> dict[str, Any]:
    sent = body(name, DETAIL) | ({"labelIds": labels} if labels is not None else {})
    created: dict[str, Any] = ok(client.post("/api/rest/v1/reports", json=sent, headers=DEMO))
    return created


def _labels(client: AppClient, report_id: str) -> list[str]:
    found = ok(client.get(f"/api/rest/v1/reports/{report_id}/reportlabels", headers=DEMO))
    return [label["labelNamePath"] for label in found]


def test_transfer_by_ids_and_by_names(client: AppClient) -> None:
    roots = {r["name"]: r["id"] for r in ok(client.get("/api/rest/v1/reportlabels", headers=DEMO))}
    first = _report(client, "Transfer me 1", labels=[roots["My Reports"], roots["Shared Reports"]])
    second = _report(client, "Transfer me 2")
    nina_id = reports.user_id("demo", "nina")
    moved = ok(
        client.post(
            "/reporting/api/rest/v1/reports/transfer-ownership",
            json={"reportIds": [first["id"]], "newOwnerUserId": nina_id},
            headers=DEMO,
        )
    )
    assert moved == "Transfer ownership successfully"  # [XFER]
    got = ok(client.get(f"/api/rest/v1/reports/report/{first['id']}", headers=DEMO))
    assert (got["creator"], got["createdBy"], got["updater"]) == ("nina", nina_id, "demo")
    assert got["definition"] == first["definition"] and got["name"] == first["name"]
    folders = _labels(client, first["id"])
    # Out of My Reports, into the dated folder under it; a shared folder stays.
    assert folders[0] == "/1/Shared Reports"
    [dated] = folders[1:]
    assert re.fullmatch(r"/1/My Reports/Transferred Reports \d{4}-\d\d-\d\d", dated), dated
    # By name, with the user name: the same dated folder, made once.
    ok(
        client.post(
            "/api/rest/v1/reports/transfer-ownership",
            json={"reportNames": ["Transfer me 2"], "newOwnerUserId": "nina"},
            headers=DEMO,
        )
    )
    assert _labels(client, second["id"]) == [dated]
    mine = ok(client.get("/api/rest/v1/reports", headers=NINA))["reports"]
    assert {r["id"] for r in mine}.isdisjoint({first["id"], second["id"]})  # in the sub-folder
    # The new owner, no admin, may now delete it: it is hers.
    assert ok(client.delete(f"/api/rest/v1/reports/{second['id']}", headers=NINA))


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ({"reportIds": ["0" * 32], "newOwnerUserId": "nina"}, "report with ID 000"),
        ({"reportNames": ["No such report"], "newOwnerUserId": "nina"}, "with name No such"),
        ({"reportIds": ["ID"], "newOwnerUserId": "ghost"}, "The user ghost does not exist."),
        ({"reportIds": ["ID"], "newOwnerUserId": "olga"}, "The user olga does not exist."),
        ({"reportIds": ["ID"]}, "newOwnerUserId is required"),
        ({"newOwnerUserId": "nina"}, "Send reportIds or reportNames"),
        ({"reportIds": ["ID"], "reportNames": ["x"], "newOwnerUserId": "nina"}, "one of them"),
        ({"reportIds": [], "newOwnerUserId": "nina"}, "at least one report"),
    ],
)
def test_a_bad_transfer_is_refused_and_changes_nothing(
    client: AppClient, payload: dict[str, Any], words: str
) -> None:
    report = _report(client, "Stays mine")
    sent = {k: [report["id"] if v == "ID" else v for v in value] if isinstance(value, list)
            else value for k, value in payload.items()}  # fmt: skip
    found = refused(
        client.post("/api/rest/v1/reports/transfer-ownership", json=sent, headers=DEMO), 400
    )
    assert found["errorCode"] == "ZAN-USAGE-REST-ERROR"
    assert words in found["message"], found
    got = ok(client.get(f"/api/rest/v1/reports/report/{report['id']}", headers=DEMO))
    assert got["creator"] == "demo" and got["labelIds"] == []


def test_only_an_administrator_transfers(client: AppClient) -> None:
    report = _report(client, "Not nina's to give")
    found = refused(
        client.post(
            "/api/rest/v1/reports/transfer-ownership",
            json={"reportIds": [report["id"]], "newOwnerUserId": "nina"},
            headers=NINA,
        ),
        403,
    )
    assert "administrator" in found["message"]
    # Another tenant's admin finds no such report: tenants stay apart.
    other = refused(
        client.post(
            "/api/rest/v1/reports/transfer-ownership",
            json={"reportIds": [report["id"]], "newOwnerUserId": "olga"},
            headers=OLGA,
        ),
        400,
    )
    assert "does not exist" in other["message"]
    assert ok(client.get(f"/api/rest/v1/reports/report/{report['id']}", headers=DEMO))[
        "creator"
    ] == ("demo")


def test_transfer_ownership_is_not_taken_for_a_save(client: AppClient) -> None:
    """The path used to reach Save a Report (``POST /reports/{id}``) with id
    ``transfer-ownership``."""
    answer = client.post("/api/rest/v1/reports/transfer-ownership", json={}, headers=DEMO)
    assert "Send reportIds or reportNames" in refused(answer, 400)["message"]
