"""Zuora's object CRUD endpoints on a real server: shapes, refusals, isolation, AQuA sees writes.

The writes happen on a server of this module's own (the shared ``server`` fixture's data is
counted by other tests), with a demo tenant and a second tenant as in ``conftest.server``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests import tenants_setup
from tests.acceptance import support
from tests.acceptance.conftest import OTHER_AUTH, OTHER_TENANT, OTHER_TIME_ZONE

UNKNOWN_ID = "0" * 32


@pytest.fixture(scope="module")
def crud_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[support.RunningServer]:
    data_dir = tmp_path_factory.mktemp("crud") / "data"
    tenants_setup.ensure_demo(data_dir)
    tenants_setup.add_tenant(data_dir, OTHER_TENANT, time_zone=OTHER_TIME_ZONE)
    tenants_setup.add_user(data_dir, OTHER_TENANT, *OTHER_AUTH)
    support.aquarium_cli(data_dir, "datagen", "--tenant", OTHER_TENANT, "--scale", "0.02")
    yield from support.serving(support.start_server("crud", data_dir, demo_scale=0.02))


@pytest.fixture(scope="module")
def client(crud_server: support.RunningServer) -> httpx.Client:
    return crud_server.client()


@pytest.fixture(scope="module")
def other(crud_server: support.RunningServer) -> httpx.Client:
    return crud_server.client(auth=OTHER_AUTH)


def _created(client: httpx.Client, obj: str, body: dict[str, Any]) -> str:
    response = client.post(f"/v1/object/{obj}", json=body)
    assert response.status_code == 200, response.text
    document = response.json()
    assert document.keys() == {"Success", "Id"}
    assert document["Success"] is True
    assert support.is_id(document["Id"])
    return str(document["Id"])


def _account(client: httpx.Client, name: str = "Crud Test Inc") -> str:
    return _created(client, "account", {"Name": name, "Currency": "USD", "BillCycleDay": 1})


def _refused(response: httpx.Response, status: int, code: str) -> list[dict[str, str]]:
    assert response.status_code == status, response.text
    document = response.json()
    assert document["Success"] is False, document
    assert code in {error["Code"] for error in document["Errors"]}, document
    assert all(error["Message"] for error in document["Errors"]), document
    problems: list[dict[str, str]] = document["Errors"]
    return problems


def _export(client: httpx.Client, query: str) -> list[list[str]]:
    done = support.run_job(client, support.stateless(query))
    return support.parse_csv(support.download(client, done["batches"][0]["fileId"]).content)


def test_create_get_update_delete(client: httpx.Client) -> None:
    account = _account(client)
    got = client.get(f"/v1/object/account/{account}")
    assert got.status_code == 200, got.text
    fields = got.json()
    assert fields["Id"] == account
    assert fields["Name"] == "Crud Test Inc"
    assert fields["BillCycleDay"] == 1
    assert "Notes" not in fields  # nulls are left out
    assert fields["CreatedDate"] == fields["UpdatedDate"]
    assert fields["CreatedDate"][-6:] in {"-08:00", "-07:00"}  # the demo tenant's zone
    assert support.is_id(fields["CreatedById"])

    contact = _created(
        client, "Contact", {"AccountId": account, "FirstName": "Ada", "LastName": "Lovelace"}
    )
    updated = client.put(
        f"/v1/object/Account/{account}",
        json={"Status": "Active", "BillToId": contact, "SoldToId": contact, "AutoPay": "true"},
    )
    assert updated.status_code == 200, updated.text
    assert updated.json() == {"Success": True, "Id": account}
    fields = client.get(f"/v1/object/ACCOUNT/{account}").json()
    assert (fields["Status"], fields["BillToId"], fields["AutoPay"]) == ("Active", contact, True)
    assert fields["UpdatedDate"] >= fields["CreatedDate"]

    deleted = client.delete(f"/v1/object/contact/{contact}")
    assert deleted.status_code == 200, deleted.text
    assert deleted.json() == {"success": True, "id": contact}
    _refused(client.get(f"/v1/object/contact/{contact}"), 404, "INVALID_ID")
    _refused(client.delete(f"/v1/object/contact/{contact}"), 404, "INVALID_ID")
    _refused(client.put(f"/v1/object/contact/{contact}", json={"City": "x"}), 404, "INVALID_ID")


def test_refusals_name_zuoras_codes(client: httpx.Client) -> None:
    account = _account(client)
    base = {"Name": "x", "Currency": "USD", "BillCycleDay": 1}
    _refused(client.post("/v1/object/account", json={**base, "Nmae": "x"}), 400, "INVALID_FIELD")
    _refused(
        client.post("/v1/object/account", json={**base, "Id": UNKNOWN_ID}), 400, "INVALID_FIELD"
    )
    _refused(
        client.put(f"/v1/object/account/{account}", json={"CreatedDate": "2026-01-01T00:00:00"}),
        400,
        "INVALID_FIELD",
    )
    for bad in (
        {"BillCycleDay": "first"},
        {"Currency": "Doubloons"},
        {"AutoPay": 3},
        {"Balance": "ten"},
        {"LastInvoiceDate": "31/01/2026"},
        {"BillToId": UNKNOWN_ID},
        {"ParentId": "not-an-id"},
    ):
        _refused(client.put(f"/v1/object/account/{account}", json=bad), 400, "INVALID_VALUE")
    problems = _refused(client.post("/v1/object/account", json={}), 400, "MISSING_REQUIRED_VALUE")
    assert len(problems) == 3  # Name, Currency, BillCycleDay
    _refused(client.post("/v1/object/account", content=b"{nope"), 400, "INVALID_VALUE")
    _refused(client.post("/v1/object/account", json=[1, 2]), 400, "INVALID_VALUE")
    _refused(client.post("/v1/object/opportunity", json=base), 404, "INVALID_TYPE")
    _refused(client.get(f"/v1/object/opportunity/{UNKNOWN_ID}"), 404, "INVALID_TYPE")
    _refused(client.get(f"/v1/object/account/{UNKNOWN_ID}"), 404, "INVALID_ID")
    _refused(client.get("/v1/object/account/None"), 404, "INVALID_ID")


def test_credentials_are_required(crud_server: support.RunningServer) -> None:
    anonymous = crud_server.client(auth=None)
    assert anonymous.post("/v1/object/account", json={}).status_code == 401
    assert anonymous.get(f"/v1/object/account/{UNKNOWN_ID}").status_code == 401


def test_another_tenants_ids_answer_like_unknown_ones(
    client: httpx.Client, other: httpx.Client
) -> None:
    account = _account(client, "Private Ltd")
    for method, body in (("GET", None), ("PUT", {"Name": "Stolen"}), ("DELETE", None)):
        foreign = other.request(method, f"/v1/object/account/{account}", json=body)
        unknown = other.request(method, f"/v1/object/account/{UNKNOWN_ID}", json=body)
        assert foreign.status_code == unknown.status_code == 404
        assert foreign.json()["Errors"][0]["Code"] == unknown.json()["Errors"][0]["Code"]
    assert client.get(f"/v1/object/account/{account}").json()["Name"] == "Private Ltd"
    # nor can another tenant's row be referenced
    _refused(
        other.post(
            "/v1/object/contact", json={"AccountId": account, "FirstName": "a", "LastName": "b"}
        ),
        400,
        "INVALID_VALUE",
    )


def test_an_aqua_job_after_the_writes_sees_them(client: httpx.Client) -> None:
    kept, gone = _account(client, "Kept Co"), _account(client, "Gone Co")
    assert (
        client.put(f"/v1/object/account/{kept}", json={"Name": "Kept Renamed"}).status_code == 200
    )
    assert client.delete(f"/v1/object/account/{gone}").status_code == 200
    rows = _export(client, f"select Id, Name from Account where Id = '{kept}' or Id = '{gone}'")
    assert rows[1:] == [[kept, "Kept Renamed"]]


def test_a_body_that_is_not_a_json_object_is_refused_in_the_crud_envelope(
    client: httpx.Client,
) -> None:
    for content in (b"{not json", b"[1, 2]"):
        response = client.post("/v1/object/account", content=content)
        problems = _refused(response, 400, "INVALID_VALUE")
        assert problems, content
