"""A tenant's custom fields end to end, through a server in-process (one worker, real DuckDB and
SQLite): the admin API adds a field, and describe, ``select *``, filters, groups, sorts, label
headers, object CRUD, stateful exports with deleted rows and reports all see it; another tenant
does not; removing it takes it away everywhere. Also the Invoice Settlement switch's effect on
the legacy objects' CRUD."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import time
from collections.abc import Iterator
from typing import Any
from xml.etree import ElementTree

import httpx
import pytest

from aquarium import server
from aquarium.domain import jobs, tenancy
from aquarium.engines import naming
from aquarium.services import auth, reports
from aquarium.settings import Settings
from aquarium.store import logins_repo, tenants_repo
from aquarium.web import sessions

DEMO = {"apiAccessKeyId": "demo", "apiSecretAccessKey": "demo"}
OTHER = {"apiAccessKeyId": "olga", "apiSecretAccessKey": "olga-password"}
CLERK = {"apiAccessKeyId": "clerk", "apiSecretAccessKey": "clerk-password"}
FIELDS = "/aquarium/api/v1/custom-fields"
FEATURES = "/aquarium/api/v1/tenant/features"
REGION = {
    "object": "Account",
    "name": "Region__c",
    "type": "picklist",
    "label": "Sales Region",
    "values": ["EMEA", "APAC", "AMER"],
}
WAIT_S = 30.0


class Client:
    """Requests to the app in-process as one set of credentials."""

    def __init__(self, app: Any, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = headers

    def __call__(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        async def send() -> httpx.Response:
            transport = httpx.ASGITransport(app=self.app, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
                return await client.request(method, url, headers=self.headers, **kwargs)

        return asyncio.run(send())


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Iterator[server.Server]:
    data_dir = tmp_path_factory.mktemp("custom-fields")
    made = server.build(Settings(data_dir=data_dir, demo_scale=0.02, workers=1))
    with made.metadata.begin() as conn:
        tenants_repo.add_tenant(conn, "other", time_zone="UTC")
        logins_repo.add_user(conn, "other", "olga", "olga-password", admin=True)
        logins_repo.add_user(conn, "demo", "clerk", "clerk-password", admin=False)
    made.start()
    made.tenants.refresh()
    try:
        yield made
    finally:
        made.stop()


@pytest.fixture(scope="module")
def demo(built: server.Server) -> Client:
    return Client(built.app(), DEMO)


@pytest.fixture(scope="module")
def region(demo: Client) -> dict[str, Any]:
    """Region__c on Account, and three accounts with a region each (one of them deleted)."""
    answer = demo("POST", FIELDS, json=REGION)
    assert answer.status_code == 201, answer.text
    made = {}
    for name, value in (("Zeta", "EMEA"), ("Yps", "APAC"), ("Xi", "EMEA")):
        body = {"Name": name, "Currency": "USD", "BillCycleDay": 1, "Region__c": value.lower()}
        created = demo("POST", "/v1/object/Account", json=body)
        assert created.status_code == 200, created.text
        made[name] = created.json()["Id"]
    found: dict[str, Any] = answer.json()
    found["ids"] = made
    return found


def _job(client: Client, body: dict[str, Any]) -> dict[str, Any]:
    submitted = client("POST", "/v1/batch-query/", json=body).json()
    assert submitted.get("status") == "submitted", submitted
    deadline = time.monotonic() + WAIT_S
    while True:
        document: dict[str, Any] = client("GET", f"/v1/batch-query/jobs/{submitted['id']}").json()
        if document["status"] in {s.value for s in jobs.TERMINAL}:
            assert document["status"] == "completed", document
            return document
        assert time.monotonic() < deadline, document
        time.sleep(0.05)


def _rows(client: Client, document: dict[str, Any], batch: int = 0) -> list[list[str]]:
    content = client("GET", f"/v1/file/{document['batches'][batch]['fileId']}").text
    return list(csv.reader(io.StringIO(content, newline="")))


def _query(client: Client, zoql: str, *, labels: bool = False) -> list[list[str]]:
    body = {
        "format": "csv",
        "version": "1.1",
        "useQueryLabels": not labels,
        "queries": [{"name": "q", "query": zoql, "type": "zoqlexport"}],
    }
    return _rows(client, _job(client, body))


def _refused(client: Client, zoql: str) -> str:
    body = {"format": "csv", "version": "1.1", "queries": [{"name": "q", "query": zoql}]}
    document = client("POST", "/v1/batch-query/", json=body).json()
    assert document["status"] == "error", document
    message: str = document["message"]
    return message


def test_the_admin_api_answers_the_field_and_lists_it(demo: Client, region: dict[str, Any]) -> None:
    assert {k: v for k, v in region.items() if k != "ids"} == REGION
    listed = demo("GET", FIELDS, params={"object": "account"}).json()
    assert listed == {"fields": [REGION]}
    assert demo("GET", FIELDS, params={"object": "Invoice"}).json() == {"fields": []}


def test_describe_shows_it_after_the_standard_fields(demo: Client, region: dict[str, Any]) -> None:
    root = ElementTree.fromstring(demo("GET", "/v1/describe/Account").content)
    fields = root.findall("fields/field")
    assert [f.findtext("name") for f in fields][-2:] == ["UpdatedDate", "Region__c"]
    shown = fields[-1]
    assert shown.findtext("label") == "Sales Region"
    assert shown.findtext("type") == "picklist"
    assert [o.text for o in shown.findall("options/option")] == ["EMEA", "APAC", "AMER"]
    assert [c.text for c in shown.findall("contexts/context")] == ["export"]


def _signed_in_get(built: server.Server, tenant: str, user: str, path: str) -> str:
    """A Job Finder page as ``user`` of ``tenant``, signed in (its session cookie)."""
    settings = built.services.settings
    codec = sessions.SessionCodec(
        auth.load_or_create_secret(settings.data_dir), settings.web_session_idle_s
    )
    found = built.services.aqua.tenant_of(tenant)
    login = found.user(user) if found is not None else None
    assert login is not None
    cookie = f"{sessions.COOKIE}={codec.encode(codec.issue(tenant, login, time.time()))}"
    answer = Client(built.app(), {"Cookie": cookie})("GET", path)
    assert answer.status_code == 200, answer.text
    return answer.text


def test_the_objects_page_shows_it_to_its_tenant_only(
    built: server.Server, demo: Client, region: dict[str, Any]
) -> None:
    page = _signed_in_get(built, "demo", "demo", "/objects/Account")
    assert '<code>Region__c</code> <span class="sub">custom</span>' in page
    assert "Region__c" not in _signed_in_get(built, "other", "olga", "/objects/Account")


def test_select_star_filter_group_and_sort(demo: Client, region: dict[str, Any]) -> None:
    header, *rows = _query(demo, "select * from Account")
    assert header[-1] == "Account.Region__c" and header[-2] == "Account.UpdatedDate"
    assert sorted(r[-1] for r in rows if r[-1]) == ["APAC", "EMEA", "EMEA"]
    filtered = _query(demo, "select Name from Account where Region__c = 'EMEA' order by Name")
    assert filtered == [["Account.Name"], ["Xi"], ["Zeta"]]
    grouped = _query(
        demo,
        "select Region__c, count(Id) from Account where Region__c != null "
        "group by Region__c order by Region__c desc",
    )
    assert grouped[1:] == [["EMEA", "2"], ["APAC", "1"]]


def test_label_headers_use_its_label_and_joins_reach_it(
    demo: Client, region: dict[str, Any]
) -> None:
    header = _query(demo, "select Name, Region__c from Account limit 1", labels=True)[0]
    assert header == ["Account: Name", "Account: Sales Region"]
    joined = _query(demo, "select Account.Region__c from Invoice limit 1", labels=True)[0]
    assert joined == ["Account: Sales Region"]


def test_crud_reads_and_validates_it(demo: Client, region: dict[str, Any]) -> None:
    zeta = region["ids"]["Zeta"]
    assert demo("GET", f"/v1/object/Account/{zeta}").json()["Region__c"] == "EMEA"
    wrong = demo("PUT", f"/v1/object/Account/{zeta}", json={"Region__c": "Mars"})
    assert wrong.status_code == 400
    assert wrong.json()["Errors"][0]["Code"] == "INVALID_VALUE"
    assert demo("GET", f"/v1/object/Account/{zeta}").json()["Region__c"] == "EMEA"


def test_another_tenant_gets_the_unknown_field_error(
    built: server.Server, region: dict[str, Any]
) -> None:
    other = Client(built.app(), OTHER)
    lacking = _refused(other, "select Region__c from Account")
    unknown = _refused(other, "select Nowhere__c from Account")
    assert lacking == unknown.replace("Nowhere__c", "Region__c")
    assert "unknown field 'Region__c' on Account" in lacking


def test_a_stateful_export_with_deleted_rows_carries_it(
    demo: Client, region: dict[str, Any]
) -> None:
    deleted = demo("DELETE", f"/v1/object/Account/{region['ids']['Yps']}")
    assert deleted.status_code == 200, deleted.text
    body = {
        "format": "csv",
        "version": "1.2",
        "partner": "salesforce",
        "project": "custom-fields",
        "useQueryLabels": True,
        "incrementalTime": "2019-01-20 00:00:00",
        "queries": [
            {
                "name": "accounts",
                "query": "select Id, Name, Region__c from Account where Region__c != null",
                "type": "zoqlexport",
                "deleted": {"column": "IsDeleted", "format": "Boolean"},
            }
        ],
    }
    document = _job(demo, body)
    header, *rows = _rows(demo, document)
    assert header == ["Account.IsDeleted", "Account.Id", "Account.Name", "Account.Region__c"]
    by_name = {row[2]: row for row in rows}
    assert by_name["Yps"][0] == "true" and by_name["Yps"][3] == "APAC"
    assert by_name["Zeta"][0] == "false" and by_name["Zeta"][3] == "EMEA"
    assert document["batches"][0]["recordCount"] == len(rows)


def test_a_report_groups_on_it(built: server.Server, region: dict[str, Any]) -> None:
    admin = tenancy.Principal("demo", "demo", True, tenancy.AuthMethod.BASIC)
    definition = {
        "rowFields": [{"id": "Account.Region__c"}],
        "valFields": [{"id": "Account.Id", "aggregation": "COUNT"}],
        "selectedFields": [{"id": "Account.Name"}, {"id": "Account.Region__c"}],
    }
    definitions = built.services.reports
    assert definitions is not None
    body = {"name": "by region", "dsName": "Account", "definition": json.dumps(definition)}
    saved = definitions.create(admin, body)
    assert saved["dsName"] == "Account"
    runs = built.services.report_runs
    assert runs is not None
    run_id = runs.run(admin, saved["id"], "Detail", None)["reportRunId"]
    deadline = time.monotonic() + WAIT_S
    while runs.get(admin, run_id)["status"] not in {s.value for s in jobs.REPORT_RUN_TERMINAL}:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert runs.get(admin, run_id)["status"] == "COMPLETED", runs.get(admin, run_id)
    page = runs.data(admin, run_id, "1", "997")["page"]
    regions = {(row.get("Account.Name"), row.get("Account.Region__c")) for row in page}
    assert {("Zeta", "EMEA"), ("Xi", "EMEA")} <= regions, page[:3]


def test_only_administrators_manage_fields(built: server.Server) -> None:
    clerk = Client(built.app(), CLERK)
    for method, url in (("GET", FIELDS), ("POST", FIELDS), ("GET", FEATURES)):
        answer = clerk(method, url, json={})
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({**REGION, "name": "Region"}, "must end in '__c'"),
        ({**REGION, "name": "1Region__c"}, "must start with a letter"),
        ({**REGION, "name": "Sales Region__c"}, "letters, digits and '_' only"),
        ({**REGION, "name": "REGION__C"}, "must end in '__c'"),
        ({**REGION, "name": "region__c"}, "already has a custom field 'Region__c'"),
        ({**REGION, "object": "RatePlanChargeTier", "name": "X__c"}, "takes no custom fields"),
        ({**REGION, "object": "Nothing", "name": "X__c"}, "there is no object 'Nothing'"),
        ({**REGION, "name": "A" * 61 + "__c"}, "at most 63 are allowed"),
        ({**REGION, "name": "Name__c", "values": ["a", "A"]}, "given twice"),
        (
            {"object": "Account", "name": "N__c", "type": "number", "values": ["1"]},
            "only a picklist",
        ),
        ({"object": "Account", "name": "Kind__c", "type": "picklist"}, "needs its values"),
        ({"object": "Account", "name": "Kind__c", "type": "colour"}, "unknown type 'colour'"),
    ],
)
def test_bad_fields_are_refused_and_nothing_changes(
    demo: Client, region: dict[str, Any], body: dict[str, Any], words: str
) -> None:
    before = demo("GET", FIELDS).json()
    answer = demo("POST", FIELDS, json=body)
    assert answer.status_code == 400, answer.text
    assert words.lower() in answer.json()["error"]["message"].lower()
    assert demo("GET", FIELDS).json() == before


def test_legacy_objects_are_read_only_while_invoice_settlement_is_on(demo: Client) -> None:
    assert demo("GET", FEATURES).json() == {"invoiceSettlement": True}
    body = {"InvoiceId": "0" * 32, "PaymentId": "0" * 32, "Amount": 1}
    refused = demo("POST", "/v1/object/InvoicePayment", json=body)
    assert refused.status_code == 400
    (problem,) = refused.json()["Errors"]
    assert problem["Code"] == "INVALID_TYPE" and "InvoiceSettlement" in problem["Message"]
    assert demo("PUT", FEATURES, json={"invoiceSettlement": False}).json() == {
        "invoiceSettlement": False
    }
    try:
        allowed = demo("POST", "/v1/object/InvoicePayment", json=body)
        # The write is checked like any other now: the made-up ids name no invoice.
        assert allowed.json()["Errors"][0]["Code"] == "INVALID_VALUE", allowed.text
        _the_family_is_gone(demo)
    finally:
        demo("PUT", FEATURES, json={"invoiceSettlement": True})
    assert _query(demo, "select Id from InvoicePayment limit 1")[0] == ["InvoicePayment.Id"]
    assert _query(demo, "select Id from CreditMemo limit 1")[0] == ["CreditMemo.Id"]
    listed = demo("GET", "/v1/describe").text
    assert "<name>CreditMemo</name>" in listed and "<name>InvoicePayment</name>" in listed


def _the_family_is_gone(demo: Client) -> None:
    """With Invoice Settlement off: its objects are not listed, not described, not queryable,
    no report data source, and not reached through a join."""
    listed = demo("GET", "/v1/describe").text
    assert "<name>CreditMemo</name>" not in listed and "<name>InvoicePayment</name>" in listed
    assert demo("GET", "/v1/describe/CreditMemo").status_code == 404
    hidden = _refused(demo, "select Id from CreditMemo")
    assert hidden == _refused(demo, "select Id from Nothing").replace("Nothing", "CreditMemo")
    body = {"name": "memos", "dsName": "CreditMemo", "definition": '{"selectedFields": []}'}
    report = demo("POST", "/api/rest/v1/reports", json=body)
    assert report.status_code == 400, report.text
    assert reports.INVALID_DATASOURCE in report.json()["response"], report.text
    assert demo("GET", "/v1/object/CreditMemo/" + "0" * 32).status_code == 404


def test_removing_it_takes_it_away_everywhere(
    built: server.Server, demo: Client, region: dict[str, Any]
) -> None:
    removed = demo("DELETE", f"{FIELDS}/account/region__c")
    assert removed.status_code == 204, removed.text
    assert demo("DELETE", f"{FIELDS}/Account/Region__c").status_code == 404
    assert "Region__c" in _refused(demo, "select Region__c from Account")
    assert _query(demo, "select * from Account limit 1")[0][-1] == "Account.UpdatedDate"
    root = ElementTree.fromstring(demo("GET", "/v1/describe/Account").content)
    assert "Region__c" not in {f.findtext("name") for f in root.findall("fields/field")}
    zeta = demo("GET", f"/v1/object/Account/{region['ids']['Zeta']}").json()
    assert "Region__c" not in zeta
    schema = naming.schema_name("demo")
    columns = built.engine._db.execute(
        "SELECT column_name FROM information_schema.columns "
        "WHERE table_schema = ? AND table_name = 'Account'",
        [schema],
    ).fetchall()
    assert "Region__c" not in {c[0] for c in columns}
    # Added again, it starts empty: the values went with the column, as in Zuora.
    assert demo("POST", FIELDS, json=REGION).status_code == 201
    assert (
        demo("GET", f"/v1/object/Account/{region['ids']['Zeta']}").json().get("Region__c") is None
    )
    assert demo("DELETE", f"{FIELDS}/Account/Region__c").status_code == 204
