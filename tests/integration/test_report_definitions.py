"""Reporting API report definitions through the FastAPI app, on both path families."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests import tenants_setup
from tests.integration.demo_server import demo_server

PREFIXES = ["/api/rest/v1", "/reporting/api/rest/v1"]
DEMO = {"apiAccessKeyId": "demo", "apiSecretAccessKey": "demo"}
OTHER = {"apiAccessKeyId": "olga", "apiSecretAccessKey": "olga-secret"}


class AppClient:
    """A synchronous facade over ``httpx.ASGITransport`` (the app runs in-process)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def request(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return await client.request(method, url, **kwargs)

        return asyncio.run(send())

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("GET", url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("POST", url, **kwargs)

    def delete(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.request("DELETE", url, **kwargs)


DETAIL = {
    "selectedFields": [
        {"name": "Name", "id": "Account.Name", "type": "text"},
        {"name": "Currency", "id": "Account.Currency", "type": "picklist"},
    ],
    "detailFilters": [
        {
            "field": {"name": "Status", "id": "Account.Status"},
            "value": "Active",
            "operator": {"name": "is equal to", "value": "="},
        }
    ],
}
SUMMARY = {
    "rowFields": [{"name": "Currency", "id": "Invoice.Currency"}],
    "valFields": [{"name": "Amount", "id": "Invoice.Amount", "aggregation": "SUM"}],
}


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[AppClient]:
    with demo_server(tmp_path_factory, "reports") as built:
        tenants_setup.add_tenant(built, "other", time_zone="UTC")
        tenants_setup.add_user(built, "other", "olga", "olga-secret")
        yield AppClient(built.app())


def body(name: str, definition: dict[str, object], ds: str = "Account") -> dict[str, object]:
    return {"name": name, "dsName": ds, "datasource": ds, "definition": json.dumps(definition)}


def error_of(response: object) -> dict[str, object]:
    document = response.json()  # type: ignore[attr-defined]
    assert document["success"] is False
    assert document["links"] is None
    inner = json.loads(document["response"])
    assert set(inner) == {"errorId", "message", "errorCode"}
    return inner  # type: ignore[no-any-return]


@pytest.mark.parametrize("prefix", PREFIXES)
def test_create_get_update_copy_delete(client: AppClient, prefix: str) -> None:
    created = client.post(f"{prefix}/reports", json=body("Active accounts", DETAIL), headers=DEMO)
    assert created.status_code == 200
    report = created.json()["response"]
    assert created.json()["success"] is True
    assert len(report["id"]) == 32 and report["number"].startswith("REP")
    assert (report["dsName"], report["viewType"], report["creator"]) == (
        "Account",
        "Detail",
        "demo",
    )
    assert json.loads(report["definition"]) == DETAIL

    got = client.get(f"{prefix}/reports/report/{report['id']}", headers=DEMO).json()
    assert got == {"success": True, "response": report}

    saved = client.post(
        f"{prefix}/reports/{report['id']}",
        json=body("Invoices by currency", SUMMARY, ds="Invoice"),
        headers=DEMO,
    ).json()["response"]
    assert (saved["id"], saved["name"], saved["viewType"]) == (
        report["id"],
        "Invoices by currency",
        "Summary",
    )
    assert saved["version"] == 2

    copied = client.post(
        f"{prefix}/reports/copy", params={"from": report["id"], "name": "Copy"}, headers=DEMO
    ).json()["response"]
    assert copied["prototypeId"] == report["id"] and copied["name"] == "Copy"
    assert copied["id"] != report["id"] and copied["definition"] == saved["definition"]
    kept = client.post(f"{prefix}/reports/copy?from={report['id']}", headers=DEMO).json()
    assert kept["response"]["name"] == "Invoices by currency"

    deleted = client.delete(f"{prefix}/reports/{report['id']}", headers=DEMO)
    assert deleted.json() == {
        "success": True,
        "response": "The report has been successfully deleted.",
    }
    again = client.delete(f"{prefix}/reports/{report['id']}", headers=DEMO)
    assert again.status_code == 404
    assert error_of(again) == {
        "errorId": error_of(again)["errorId"],
        "message": f"An error occurred. The report with ID {report['id']} does not exist.",
        "errorCode": "ZAN-USAGE-REST-ERROR",
    }
    missing = client.get(f"{prefix}/reports/report/{report['id']}", headers=DEMO)
    assert missing.status_code == 404
    assert error_of(missing)["message"] == f"The report with id {report['id']} does not exist."


@pytest.mark.parametrize("prefix", PREFIXES)
def test_search_and_list(client: AppClient, prefix: str) -> None:
    tag = prefix.replace("/", "")
    for name in (f"Zebra {tag} accounts", f"Alpha {tag} accounts"):
        response = client.post(f"{prefix}/reports", json=body(name, DETAIL), headers=DEMO)
        assert response.status_code == 200
    found = client.get(f"{prefix}/reports/search", params={"query": f"{tag} a"}, headers=DEMO)
    names = [r["name"] for r in found.json()["response"]["reports"]]
    assert names == [f"Alpha {tag} accounts", f"Zebra {tag} accounts"]
    assert found.json()["response"]["count"] == 2
    descending = client.get(
        f"{prefix}/reports/search",
        params={"query": tag.upper(), "orderBy": '[{"field": "name", "ascend": "false"}]'},
        headers=DEMO,
    ).json()["response"]["reports"]
    assert [r["name"] for r in descending] == names[::-1]
    paged = client.get(
        f"{prefix}/reports/search", params={"query": tag, "searchStart": "1"}, headers=DEMO
    ).json()["response"]
    assert [r["name"] for r in paged["reports"]] == names[1:] and paged["count"] == 2
    no_query = client.get(f"{prefix}/reports/search", headers=DEMO)
    assert no_query.status_code == 400
    assert error_of(no_query) | {"errorId": ""} == {
        "errorId": "",
        "message": "Required String parameter 'query' is not present.",
        "errorCode": "ZAN-REST-ERROR",
    }
    bad_sort = client.get(
        f"{prefix}/reports/search",
        params={"query": tag, "orderBy": '[{"field": "nope"}]'},
        headers=DEMO,
    )
    assert bad_sort.status_code == 400
    mine = client.get(f"{prefix}/reports", headers=DEMO).json()["response"]
    assert set(names) <= {r["name"] for r in mine["reports"]}
    assert mine["count"] == len(mine["reports"])


@pytest.mark.parametrize("prefix", PREFIXES)
def test_validation(client: AppClient, prefix: str) -> None:
    def refused(payload: object, status: int = 400) -> dict[str, object]:
        response = client.post(f"{prefix}/reports", json=payload, headers=DEMO)
        assert response.status_code == status, response.text
        return error_of(response)

    bad_ds = refused(body("x", DETAIL, ds="NoSuchThing"))
    assert bad_ds["message"] == "The datasource name is not a valid datasource."
    assert bad_ds["errorCode"] == "ZAN-USAGE-REST-ERROR"
    unknown_field = {"selectedFields": [{"name": "Nope", "id": "Account.Nope"}]}
    assert "Account.Nope" in str(refused(body("x", unknown_field))["message"])
    unknown_object = {"selectedFields": [{"id": "Galaxy.Name"}]}
    assert "Galaxy.Name" in str(refused(body("x", unknown_object))["message"])
    bad_agg = {"valFields": [{"id": "Account.Balance", "aggregation": "MEDIAN"}]}
    assert "MEDIAN" in str(refused(body("x", bad_agg))["message"])
    no_operator = {"detailFilters": [{"field": {"id": "Account.Name"}, "value": "a"}]}
    refused(body("x", no_operator))
    assert "name" in str(refused({"dsName": "Account", "definition": "{}"})["message"])
    refused(body("x", DETAIL) | {"viewType": "Trending"})
    labels = refused(body("x", DETAIL) | {"labelIds": ["f" * 32]})
    assert labels["message"] == "Cannot find any matching label(s) for id(s) provided in request."
    unreadable = refused(body("x", DETAIL) | {"definition": "{not json"}, status=500)
    assert unreadable["errorCode"] == "ZAN-REST-ERROR"
    raw = client.post(
        f"{prefix}/reports",
        content=b'{"name" "x"}',
        headers=DEMO | {"content-type": "application/json"},
    )
    assert raw.status_code == 500
    assert str(error_of(raw)["message"]).startswith("Could not read JSON")
    # a related object's field, and the label as data source name, are accepted
    related = {"selectedFields": [{"id": "Account.Name"}, {"id": "Invoice.InvoiceNumber"}]}
    ok = client.post(
        f"{prefix}/reports",
        json={"name": "Items", "datasource": "Invoice Item", "definition": json.dumps(related)},
        headers=DEMO,
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["response"]["dsName"] == "InvoiceItem"


@pytest.mark.parametrize("prefix", PREFIXES)
def test_tenant_isolation_and_auth(client: AppClient, prefix: str) -> None:
    report = client.post(f"{prefix}/reports", json=body("Private", DETAIL), headers=DEMO).json()
    report_id = report["response"]["id"]
    for response in (
        client.get(f"{prefix}/reports/report/{report_id}", headers=OTHER),
        client.post(f"{prefix}/reports/{report_id}", json=body("Mine", DETAIL), headers=OTHER),
        client.post(f"{prefix}/reports/copy", params={"from": report_id}, headers=OTHER),
        client.delete(f"{prefix}/reports/{report_id}", headers=OTHER),
    ):
        assert response.status_code == 404
        assert "does not exist" in str(error_of(response)["message"])
    searched = client.get(f"{prefix}/reports/search", params={"query": "Private"}, headers=OTHER)
    assert searched.json()["response"] == {"reports": [], "count": 0}
    assert client.get(f"{prefix}/reports", headers=OTHER).json()["response"]["count"] == 0
    assert client.get(f"{prefix}/reports/report/{report_id}", headers=DEMO).status_code == 200
    anonymous = client.get(f"{prefix}/reports", headers={"apiAccessKeyId": "demo"})
    assert anonymous.status_code == 401
    assert error_of(anonymous)["errorCode"] == "loginFailed"


@pytest.mark.parametrize("start", [" 1", "1_0", "\u0661", "+1", "-1", "9" * 19, "9" * 5000, "x"])
def test_search_start_is_decimal_digits_or_nothing(client: AppClient, start: str) -> None:
    """Found by the fuzz tier: int() took blanks, "_" and other scripts' digits, and raised
    past 4,300 digits; searchStart is ASCII digits (empty: absent, as Spring reads it)."""
    refused = client.get(
        "/api/rest/v1/reports/search", params={"query": "a", "searchStart": start}, headers=DEMO
    )
    assert refused.status_code == 400, refused.text
    assert error_of(refused)["message"] == "searchStart must be a non-negative integer."
    empty = client.get(
        "/api/rest/v1/reports/search", params={"query": "a", "searchStart": ""}, headers=DEMO
    )
    assert empty.status_code == 200
