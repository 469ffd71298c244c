"""Reporting API report labels (folders) and delete permission, through the app, both prefixes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests import tenants_setup
from tests.integration import test_report_definitions as defs
from tests.integration.demo_server import demo_server

PREFIXES = defs.PREFIXES
DEMO = defs.DEMO  # an administrator of tenant demo
NINA = {"apiAccessKeyId": "nina", "apiSecretAccessKey": "nina-secret"}  # demo, not an admin
OTHER = defs.OTHER  # tenant other
CHANGED = "The reports label status has successfully been changed."
NO_LABELS = "Cannot find any matching label(s) for id(s) provided in request."
LABEL_FIELDS = {
    "createdBy", "updatedBy", "createdOn", "updatedOn", "id", "deleted", "name", "type",
    "parentId", "pshareId", "order", "userId", "creator", "updater", "favorite", "shared",
    "zuora", "home", "root", "labelNamePath",
}  # fmt: skip
error_of = defs.error_of


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[defs.AppClient]:
    with demo_server(tmp_path_factory, "labels") as built:
        tenants_setup.add_user(built, "demo", "nina", "nina-secret")
        tenants_setup.add_tenant(built, "other", time_zone="UTC")
        tenants_setup.add_user(built, "other", "olga", "olga-secret")
        yield defs.AppClient(built.app())


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["success"] is True
    return document["response"]


def refusal(response: httpx.Response, status: int, code: str = "ZAN-USAGE-REST-ERROR") -> str:
    assert response.status_code == status, response.text
    inner = error_of(response)
    assert inner["errorCode"] == code
    return str(inner["message"])


def roots(client: defs.AppClient, prefix: str, who: dict[str, str]) -> dict[str, dict[str, Any]]:
    return {label["name"]: label for label in ok(client.get(f"{prefix}/reportlabels", headers=who))}


def new_label(
    client: defs.AppClient, prefix: str, name: str, parent: str | None = None, who: Any = DEMO
) -> dict[str, Any]:
    payload = {"name": name} if parent is None else {"name": name, "parentId": parent}
    return ok(client.post(f"{prefix}/reportlabels", json=payload, headers=who))


def new_report(
    client: defs.AppClient, prefix: str, name: str, who: Any = DEMO, **extra: Any
) -> dict[str, Any]:
    payload = defs.body(name, defs.DETAIL) | extra
    return ok(client.post(f"{prefix}/reports", json=payload, headers=who))


def labels_of(client: defs.AppClient, prefix: str, report_id: str) -> list[str]:
    found = ok(client.get(f"{prefix}/reports/{report_id}/reportlabels", headers=DEMO))
    return [label["name"] for label in found]


def change(
    client: defs.AppClient, method: str, prefix: str, report_id: str, payload: Any, **kw: Any
) -> httpx.Response:
    url = f"{prefix}/reports/{report_id}/reportlabels"
    if payload is not None:
        kw["json"] = payload
    return client.request(method, url, headers=kw.pop("headers", DEMO), **kw)


@pytest.mark.parametrize("prefix", PREFIXES)
def test_root_labels_and_sub_labels(client: defs.AppClient, prefix: str) -> None:
    tag = prefix.replace("/", "")
    found = ok(client.get(f"{prefix}/reportlabels", headers=DEMO))
    assert [(r["name"], r["type"], r["order"]) for r in found] == [
        ("My Reports", "Private", 0),
        ("Shared Reports", "Shared", 1),
    ]
    mine, shared = found
    assert all(set(label) == LABEL_FIELDS for label in found)
    assert (mine["home"], mine["root"], mine["shared"], mine["parentId"]) == (
        True,
        True,
        False,
        None,
    )
    assert (shared["home"], shared["root"], shared["shared"]) == (False, True, True)
    assert mine["labelNamePath"] == "/1/My Reports"
    assert shared["labelNamePath"] == "/1/Shared Reports"
    assert mine["pshareId"] is None and mine["deleted"] is False
    assert len(mine["id"]) == 32 and mine["createdOn"].endswith("+0000")

    finance = new_label(client, prefix, f"Finance {tag}", shared["id"])
    assert set(finance) == LABEL_FIELDS
    assert (finance["type"], finance["parentId"], finance["root"], finance["home"]) == (
        "Shared",
        shared["id"],
        False,
        False,
    )
    assert finance["labelNamePath"] == f"/1/Shared Reports/Finance {tag}"
    assert (finance["creator"], finance["shared"]) == ("demo", True)
    audit = new_label(client, prefix, "Audit", finance["id"])
    assert audit["labelNamePath"] == f"/1/Shared Reports/Finance {tag}/Audit"
    assert audit["order"] == 0
    drafts = new_label(client, prefix, f"Drafts {tag}")  # no parentId: under My Reports
    assert (drafts["parentId"], drafts["type"]) == (mine["id"], "Private")
    assert drafts["labelNamePath"] == f"/1/My Reports/Drafts {tag}"

    subs = ok(client.get(f"{prefix}/reportlabels/{shared['id']}/reportlabels", headers=DEMO))
    assert finance in subs and audit not in subs
    assert ok(client.get(f"{prefix}/reportlabels/{finance['id']}/reportlabels", headers=DEMO)) == [
        audit
    ]
    assert ok(client.get(f"{prefix}/reportlabels/{audit['id']}/reportlabels", headers=DEMO)) == []
    assert roots(client, prefix, DEMO) == {"My Reports": mine, "Shared Reports": shared}

    unknown = client.get(f"{prefix}/reportlabels/{'f' * 32}/reportlabels", headers=DEMO)
    message = f"An error occurred. The label with ID {'f' * 32} does not exist."
    assert refusal(unknown, 404) == message


@pytest.mark.parametrize("prefix", PREFIXES)
def test_create_label_refusals(client: defs.AppClient, prefix: str) -> None:
    tag = prefix.replace("/", "")
    shared = roots(client, prefix, DEMO)["Shared Reports"]["id"]
    new_label(client, prefix, f"Twice {tag}", shared)

    def refused(payload: object, status: int = 400, code: str = "ZAN-USAGE-REST-ERROR") -> str:
        response = client.post(f"{prefix}/reportlabels", json=payload, headers=DEMO)
        return refusal(response, status, code)

    assert refused({"name": f"Twice {tag}", "parentId": shared}) == (
        f"A label named Twice {tag} already exists in /1/Shared Reports."
    )
    assert refused({"parentId": shared}) == "The label name is required."
    assert refused({"name": "  "}) == "The label name is required."
    assert refused({"name": 7}) == "The label name must be a string."
    assert refused({"name": "a/b"}) == "The label name cannot contain /."
    assert refused({"name": "x" * 256}) == "The label name is longer than 255 characters."
    assert refused({"name": "x", "parentId": 5}) == "The label parentId must be a string."
    assert refused({"name": "x", "parentId": "e" * 32}) == (
        f"An error occurred. The label with ID {'e' * 32} does not exist."
    )
    assert refused(["name"], 500, "ZAN-REST-ERROR").startswith("Could not read JSON")
    missing = client.post(f"{prefix}/reportlabels", headers=DEMO)
    assert refusal(missing, 500, "ZAN-REST-ERROR") == "Required request body content is missing"
    bad_json = client.post(
        f"{prefix}/reportlabels",
        content=b'{"name" "x"}',
        headers=DEMO | {"content-type": "application/json"},
    )
    assert refusal(bad_json, 500, "ZAN-REST-ERROR").startswith("Could not read JSON")


@pytest.mark.parametrize("prefix", PREFIXES)
def test_label_and_unlabel_a_report(client: defs.AppClient, prefix: str) -> None:
    tag = prefix.replace("/", "")
    shared = roots(client, prefix, DEMO)["Shared Reports"]
    sales = new_label(client, prefix, f"Sales {tag}", shared["id"])
    report = new_report(client, prefix, f"Labelled {tag}")
    assert labels_of(client, prefix, report["id"]) == []

    both = {"labelIds": [sales["id"], shared["id"]]}
    assert ok(change(client, "POST", prefix, report["id"], both)) == CHANGED
    found = ok(client.get(f"{prefix}/reports/{report['id']}/reportlabels", headers=DEMO))
    assert [label["id"] for label in found] == [sales["id"], shared["id"]]
    assert found[0] == sales
    again = {"labelIds": [sales["id"]]}
    assert ok(change(client, "POST", prefix, report["id"], again)) == CHANGED
    assert labels_of(client, prefix, report["id"]) == [f"Sales {tag}", "Shared Reports"]
    got = ok(client.get(f"{prefix}/reports/report/{report['id']}", headers=DEMO))
    assert got["labelIds"] == [sales["id"], shared["id"]]

    assert ok(change(client, "DELETE", prefix, report["id"], again)) == CHANGED
    assert labels_of(client, prefix, report["id"]) == ["Shared Reports"]
    assert ok(change(client, "DELETE", prefix, report["id"], again)) == CHANGED  # not there
    assert labels_of(client, prefix, report["id"]) == ["Shared Reports"]

    for method in ("POST", "DELETE"):
        partly = {"labelIds": [sales["id"], "f" * 32]}
        assert refusal(change(client, method, prefix, report["id"], partly), 400) == NO_LABELS
        empty = change(client, method, prefix, report["id"], {"labelIds": []})
        assert refusal(empty, 400) == NO_LABELS
        assert refusal(change(client, method, prefix, report["id"], {}), 400) == NO_LABELS
        missing = change(client, method, prefix, report["id"], None)
        assert refusal(missing, 500, "ZAN-REST-ERROR") == "Required request body content is missing"
        text = change(client, method, prefix, report["id"], {"labelIds": sales["id"]})
        assert refusal(text, 500, "ZAN-REST-ERROR") == (
            "Could not read JSON: Can not deserialize instance of java.util.ArrayList"
            " out of VALUE_STRING token"
        )
        nested = change(client, method, prefix, report["id"], {"labelIds": [{"id": "x"}]})
        assert refusal(nested, 500, "ZAN-REST-ERROR") == (
            "Could not read JSON: Can not deserialize instance of java.lang.String"
            " out of START_OBJECT token"
        )
        number = change(client, method, prefix, report["id"], {"labelIds": [7]})
        assert refusal(number, 400) == NO_LABELS
        unknown = change(client, method, prefix, "0" * 32, again)
        assert (
            refusal(unknown, 404)
            == f"An error occurred. The report with ID {'0' * 32} does not exist."
        )
    assert labels_of(client, prefix, report["id"]) == ["Shared Reports"]
    unknown = client.get(f"{prefix}/reports/{'0' * 32}/reportlabels", headers=DEMO)
    assert (
        refusal(unknown, 404) == f"An error occurred. The report with ID {'0' * 32} does not exist."
    )


@pytest.mark.parametrize("prefix", PREFIXES)
def test_create_save_and_copy_assign_labels(client: defs.AppClient, prefix: str) -> None:
    tag = prefix.replace("/", "")
    shared = roots(client, prefix, DEMO)["Shared Reports"]
    ops = new_label(client, prefix, f"Ops {tag}", shared["id"])
    report = new_report(client, prefix, f"Born labelled {tag}", labelIds=[ops["id"], ops["id"]])
    assert report["labelIds"] == [ops["id"]]
    assert labels_of(client, prefix, report["id"]) == [f"Ops {tag}"]

    url = f"{prefix}/reports/{report['id']}"
    kept = ok(client.post(url, json=defs.body("Renamed", defs.DETAIL), headers=DEMO))
    assert kept["labelIds"] == [ops["id"]]  # a save without labelIds keeps them
    moved = defs.body("Renamed", defs.DETAIL) | {"labelIds": [shared["id"]]}
    assert ok(client.post(url, json=moved, headers=DEMO))["labelIds"] == [shared["id"]]
    unknown = defs.body("Renamed", defs.DETAIL) | {"labelIds": ["f" * 32]}
    assert refusal(client.post(url, json=unknown, headers=DEMO), 400) == NO_LABELS
    not_array = defs.body("Renamed", defs.DETAIL) | {"labelIds": "abc"}
    assert "java.util.ArrayList" in refusal(
        client.post(url, json=not_array, headers=DEMO), 500, "ZAN-REST-ERROR"
    )
    cleared = defs.body("Renamed", defs.DETAIL) | {"labelIds": []}
    assert ok(client.post(url, json=cleared, headers=DEMO))["labelIds"] == []

    copy_url = f"{prefix}/reports/copy"
    params = {"from": report["id"], "labelIds": f"{ops['id']}, {shared['id']}"}
    copied = ok(client.post(copy_url, params=params, headers=DEMO))
    assert copied["labelIds"] == [ops["id"], shared["id"]]
    assert labels_of(client, prefix, copied["id"]) == [f"Ops {tag}", "Shared Reports"]
    params = {"from": report["id"], "labelIds": f"{ops['id']},{'f' * 32}"}
    assert refusal(client.post(copy_url, params=params, headers=DEMO), 400) == NO_LABELS
    plain = ok(client.post(copy_url, params={"from": report["id"]}, headers=DEMO))
    assert plain["labelIds"] == []


@pytest.mark.parametrize("prefix", PREFIXES)
def test_my_reports_and_reports_by_label(client: defs.AppClient, prefix: str) -> None:
    tag = prefix.replace("/", "")
    found = roots(client, prefix, DEMO)
    home, shared = found["My Reports"]["id"], found["Shared Reports"]["id"]
    loose = new_report(client, prefix, f"Loose {tag}")
    homed = new_report(client, prefix, f"Homed {tag}", labelIds=[home])
    away = new_report(client, prefix, f"Away {tag}", labelIds=[shared])
    hers = new_report(client, prefix, f"Hers {tag}", who=NINA)

    mine = {r["id"] for r in ok(client.get(f"{prefix}/reports", headers=DEMO))["reports"]}
    assert {loose["id"], homed["id"]} <= mine
    assert not {away["id"], hers["id"]} & mine
    details = f"{prefix}/reports/reportlabels/{home}/report-details"
    plain = ok(client.get(details, headers=DEMO))
    assert isinstance(plain, list)  # without paging: the array of [DETLBL]
    assert {r["id"] for r in plain} == mine
    ninas = ok(client.get(details, headers=NINA))
    assert hers["id"] in {r["id"] for r in ninas}
    assert {r["creator"] for r in ninas} == {"nina"}

    folder = new_label(client, prefix, f"Paged {tag}", shared)
    names = [f"{letter} {tag}" for letter in ("Bravo", "alpha", "Charlie")]
    for name in names:
        new_report(client, prefix, name, who=NINA, labelIds=[folder["id"]])
    details = f"{prefix}/reports/reportlabels/{folder['id']}/report-details"
    first = ok(client.get(details, params={"paging": '{"pageNo":0,"pageSize":2}'}, headers=DEMO))
    assert {k: v for k, v in first.items() if k != "elements"} == {
        "totalCount": 3,
        "totalPage": 2,
        "pageNo": 0,
        "pageSize": 2,
    }
    assert [r["name"] for r in first["elements"]] == [f"alpha {tag}", f"Bravo {tag}"]
    assert first["elements"][0]["creator"] == "nina"
    second = ok(
        client.get(
            details,
            params={
                "paging": '{"pageNo": "1", "pageSize": 2}',
                "orderBy": '[{"field": "name", "ascend": "true"}]',
            },
            headers=DEMO,
        )
    )
    assert [r["name"] for r in second["elements"]] == [f"Charlie {tag}"]
    backwards = ok(
        client.get(
            details,
            params={"paging": "{}", "orderBy": '[{"field": "name", "ascend": "false"}]'},
            headers=DEMO,
        )
    )
    assert backwards["pageSize"] == 20
    assert [r["name"] for r in backwards["elements"]] == [
        f"Charlie {tag}",
        f"Bravo {tag}",
        f"alpha {tag}",
    ]
    beyond = ok(client.get(details, params={"paging": '{"pageNo":5}'}, headers=DEMO))
    assert (beyond["totalCount"], beyond["elements"]) == (3, [])
    empty = new_label(client, prefix, f"Empty {tag}", shared)
    nothing = ok(
        client.get(
            f"{prefix}/reports/reportlabels/{empty['id']}/report-details",
            params={"paging": '{"pageNo":0,"pageSize":20}'},
            headers=DEMO,
        )
    )
    assert nothing == {"totalCount": 0, "totalPage": 0, "pageNo": 0, "pageSize": 20, "elements": []}


@pytest.mark.parametrize("prefix", PREFIXES)
def test_reports_by_label_refusals(client: defs.AppClient, prefix: str) -> None:
    shared = roots(client, prefix, DEMO)["Shared Reports"]["id"]
    details = f"{prefix}/reports/reportlabels/{shared}/report-details"
    for paging, message in (
        ("[0, 20]", 'paging must be a JSON object such as {"pageNo": 0, "pageSize": 20}.'),
        ("{pageNo: 0}", 'paging must be a JSON object such as {"pageNo": 0, "pageSize": 20}.'),
        ('{"pageNo": "x"}', 'pageNo must be an integer, not "x".'),
        ('{"pageNo": 1.5}', "pageNo must be an integer, not 1.5."),
        ('{"pageNo": true}', "pageNo must be an integer, not true."),
        ('{"pageNo": -1}', "pageNo must be 0 or more, not -1."),
        ('{"pageSize": 0}', "pageSize must be from 1 to 1000, not 0."),
        ('{"pageSize": -3}', "pageSize must be from 1 to 1000, not -3."),
        ('{"pageSize": 1001}', "pageSize must be from 1 to 1000, not 1001."),
        ('{"pageSize": null}', "pageSize must be an integer, not null."),
    ):
        response = client.get(details, params={"paging": paging}, headers=DEMO)
        assert refusal(response, 400) == message, paging
    bad_order = client.get(details, params={"orderBy": '[{"field": "size"}]'}, headers=DEMO)
    assert refusal(bad_order, 400) == "Cannot sort by size: use name or updated_on."
    unknown = client.get(f"{prefix}/reports/reportlabels/{'f' * 32}/report-details", headers=DEMO)
    message = f"An error occurred. The label with ID {'f' * 32} does not exist."
    assert refusal(unknown, 404) == message
    for path in ("/reports/reportlabels", "/reports/reportlabels/"):
        no_label = client.get(prefix + path, headers=DEMO)
        assert refusal(no_label, 405, "ZAN-REST-ERROR") == "Method Not Allowed"


@pytest.mark.parametrize("prefix", PREFIXES)
def test_labels_of_another_tenant_are_unknown(client: defs.AppClient, prefix: str) -> None:
    tag = prefix.replace("/", "")
    demo_roots = roots(client, prefix, DEMO)
    olga_roots = roots(client, prefix, OTHER)
    assert set(olga_roots) == set(demo_roots)
    assert olga_roots["My Reports"]["id"] != demo_roots["My Reports"]["id"]
    shared = demo_roots["Shared Reports"]["id"]
    secret = new_label(client, prefix, f"Secret {tag}", shared)
    report = new_report(client, prefix, f"Demo only {tag}", labelIds=[secret["id"]])
    theirs = new_report(client, prefix, f"Olga's {tag}", who=OTHER)

    gone = f"An error occurred. The label with ID {secret['id']} does not exist."
    subs = client.get(f"{prefix}/reportlabels/{secret['id']}/reportlabels", headers=OTHER)
    assert refusal(subs, 404) == gone
    details = f"{prefix}/reports/reportlabels/{secret['id']}/report-details"
    assert refusal(client.get(details, headers=OTHER), 404) == gone
    under = client.post(
        f"{prefix}/reportlabels", json={"name": "x", "parentId": shared}, headers=OTHER
    )
    assert refusal(under, 400) == f"An error occurred. The label with ID {shared} does not exist."
    foreign = {"labelIds": [secret["id"]]}
    assert refusal(change(client, "POST", prefix, theirs["id"], foreign, headers=OTHER), 400) == (
        NO_LABELS
    )
    assert (
        refusal(
            client.post(
                f"{prefix}/reports",
                json=defs.body("x", defs.DETAIL) | foreign,
                headers=OTHER,
            ),
            400,
        )
        == NO_LABELS
    )
    own_label = {"labelIds": [olga_roots["Shared Reports"]["id"]]}
    on_demo = change(client, "POST", prefix, report["id"], own_label, headers=OTHER)
    assert (
        refusal(on_demo, 404)
        == f"An error occurred. The report with ID {report['id']} does not exist."
    )
    labels = client.get(f"{prefix}/reports/{report['id']}/reportlabels", headers=OTHER)
    assert refusal(labels, 404).endswith("does not exist.")
    assert labels_of(client, prefix, report["id"]) == [f"Secret {tag}"]
    anonymous = client.get(f"{prefix}/reportlabels", headers={"apiAccessKeyId": "demo"})
    assert refusal(anonymous, 401, "loginFailed")


@pytest.mark.parametrize("prefix", PREFIXES)
def test_only_the_creator_or_an_admin_may_delete(client: defs.AppClient, prefix: str) -> None:
    by_admin = new_report(client, prefix, "Admin's")
    refused = client.delete(f"{prefix}/reports/{by_admin['id']}", headers=NINA)
    assert refusal(refused, 403) == (
        "Only the creator of the report or an administrator can delete it."
    )
    assert ok(client.get(f"{prefix}/reports/report/{by_admin['id']}", headers=DEMO))
    deleted = "The report has been successfully deleted."
    assert ok(client.delete(f"{prefix}/reports/{by_admin['id']}", headers=DEMO)) == deleted
    by_nina = new_report(client, prefix, "Nina's", who=NINA)
    assert ok(client.delete(f"{prefix}/reports/{by_nina['id']}", headers=NINA)) == deleted
    again = new_report(client, prefix, "Nina's again", who=NINA)
    assert ok(client.delete(f"{prefix}/reports/{again['id']}", headers=DEMO)) == deleted
    gone = client.delete(f"{prefix}/reports/{again['id']}", headers=NINA)
    assert (
        refusal(gone, 404) == f"An error occurred. The report with ID {again['id']} does not exist."
    )
