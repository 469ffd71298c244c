"""The Reporting API over real HTTP: the documented flow from search to export, cancel's answers,
the run list of the Cancel page, auth on both path families, isolation and bad input."""

from __future__ import annotations

import json
import time
from typing import Any

import httpx
import pytest

from aquarium.store import logins_repo
from tests import tenants_setup
from tests.acceptance import deployments, support
from tests.acceptance.conftest import OTHER_AUTH

DEPLOYMENTS = deployments.BOTH  # every test runs embedded and scale-out (conftest.py)

PREFIXES = ["/api/rest/v1", "/reporting/api/rest/v1"]
IN_PROGRESS = "status=STARTED&status=QUERYDATA&status=PROCESSINGDATA"
TERMINAL = {"COMPLETED", "ERROR", "INVALID", "CANCELLED"}
HEADERS = {"apiAccessKeyId": "demo", "apiSecretAccessKey": "demo"}


def ok(response: httpx.Response) -> Any:
    assert response.status_code == 200, response.text
    document = response.json()
    assert document["success"] is True, document
    return document["response"]


def refused(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    document = response.json()
    assert document["success"] is False and document["links"] is None
    inner: dict[str, Any] = json.loads(document["response"])
    assert set(inner) == {"errorId", "message", "errorCode"}
    return inner


def report_named(client: httpx.Client, name: str, prefix: str = "/api/rest/v1") -> dict[str, Any]:
    found = ok(client.get(f"{prefix}/reports/search", params={"query": name}))
    matches = [r for r in found["reports"] if r["name"] == name]
    assert matches, found
    report: dict[str, Any] = matches[0]
    return report


def run_to_end(
    client: httpx.Client, report_id: str, view: str, prefix: str = "/api/rest/v1"
) -> dict[str, Any]:
    started = ok(client.post(f"{prefix}/reports/{report_id}/reportrun?viewType={view}"))
    run_id = started["reportRunId"]
    assert support.is_id(run_id) and run_id != report_id
    deadline = time.monotonic() + support.JOB_TIMEOUT_S
    while True:
        run: dict[str, Any] = ok(client.get(f"{prefix}/reportruns/{run_id}"))
        if run["status"] in TERMINAL or time.monotonic() > deadline:
            return run
        time.sleep(support.POLL_INTERVAL_S)


@pytest.fixture(scope="module")
def completed(demo: httpx.Client) -> dict[str, Any]:
    """A completed Summary run of the demo report "Accounts by status"."""
    report = report_named(demo, "Accounts by status")
    run = run_to_end(demo, report["id"], "Summary")
    assert run["status"] == "COMPLETED", run
    return run


@pytest.mark.parametrize("prefix", PREFIXES)
def test_the_documented_flow_search_run_poll_data_export(demo: httpx.Client, prefix: str) -> None:
    report = report_named(demo, "Open invoices", prefix)
    run = run_to_end(demo, report["id"], "Detail", prefix)

    assert run["status"] == "COMPLETED", run
    assert set(run) >= {"id", "reportId", "reportType", "status", "startedOn", "updatedOn"}
    assert (run["reportId"], run["reportType"]) == (report["id"], "Detail")
    assert run["startedOn"].endswith("+0000") and "." in run["startedOn"]
    definition = json.loads(run["reportDefinition"])
    assert definition["dsName"] == "Invoice" and definition["viewType"] == "Detail"
    data = ok(demo.get(f"{prefix}/reportruns/reportdata/{run['id']}?offset=1&pageSize=100"))
    assert (data["size"], data["offset"], data["total"]) == (100, 1, run["rowCount"])
    assert data["total"] > 0
    first = data["page"][0]
    assert list(first) == [
        "Invoice.InvoiceNumber",
        "Account.AccountNumber",
        "Account.Name",
        "Invoice.DueDate",
        "Invoice.Currency",
        "Invoice.Amount",
        "Invoice.Balance",
    ]
    assert all(isinstance(value, str) for value in first.values())
    assert first["Invoice.Balance"].replace(",", "").replace(".", "").isdigit()
    exported = demo.get(f"{prefix}/reportruns/export/{run['id']}")
    assert exported.status_code == 200
    assert exported.headers["content-type"] == "text/csv;charset=utf-16"
    assert exported.content[:2] == b"\xff\xfe"
    lines = exported.content[2:].decode("utf-16-le").rstrip("\n").split("\n")
    assert lines[0].split("\t")[:3] == [
        "Invoice: Invoice Number",
        "Account: Account Number",
        "Account: Name",
    ]
    assert len(lines) == run["rowCount"] + 1
    assert lines[1] == "\t".join(first.values())


def test_a_summary_exports_unpivoted_by_default_and_crosstab_on_request(
    demo: httpx.Client, completed: dict[str, Any]
) -> None:
    run_id = completed["id"]
    flat = demo.get(f"/api/rest/v1/reportruns/export/{run_id}")
    same = demo.get(f"/api/rest/v1/reportruns/export/{run_id}?pivoted=false")
    crosstab = demo.get(f"/api/rest/v1/reportruns/export/{run_id}?pivoted=true")
    assert flat.content == same.content
    header = flat.content[2:].decode("utf-16-le").split("\n")[0].split("\t")
    assert header[:2] == ["Account: Status", "Account: Currency"]
    assert header[2].startswith("COUNT of 'Account: ") and header[3].startswith("SUM of 'Account: ")
    lines = crosstab.content[2:].decode("utf-16-le").rstrip("\n").split("\n")
    assert lines[0].split("\t")[0] == "Account: Currency"
    assert lines[1].split("\t")[0] == "Account: Status"
    statuses = {row["Account.Status"] for row in _all_data(demo, run_id)}
    assert len(lines) == 2 + len(statuses)


def _all_data(client: httpx.Client, run_id: str) -> list[dict[str, str]]:
    page = ok(client.get(f"/api/rest/v1/reportruns/reportdata/{run_id}?offset=1&pageSize=10000"))
    rows: list[dict[str, str]] = page["page"]
    assert len(rows) == page["total"]
    return rows


def test_cancel_answers_as_documented_and_as_contracted(
    demo: httpx.Client, completed: dict[str, Any]
) -> None:
    report = report_named(demo, "Usage by account")
    started = ok(demo.post(f"/api/rest/v1/reports/{report['id']}/reportrun?viewType=Summary"))
    run_id = started["reportRunId"]
    first = demo.delete(f"/api/rest/v1/reportruns/{run_id}")
    if first.json()["success"]:
        # Still in progress when the DELETE arrived (almost always: it was just started).
        assert first.json() == {"success": True, "response": "The report run has been canceled"}
        again = demo.delete(f"/reporting/api/rest/v1/reportruns/{run_id}")
        assert again.json() == {"success": True, "response": "The report run was canceled"}
        assert ok(demo.get(f"/api/rest/v1/reportruns/{run_id}"))["status"] == "CANCELLED"
    done = refused(demo.delete(f"/api/rest/v1/reportruns/{completed['id']}"), 400)
    assert done["errorCode"] == "ZAN-USAGE-REST-ERROR"
    assert done["message"] == (
        f"The report run {completed['id']} is already COMPLETED and cannot be canceled."
    )
    unknown = refused(demo.delete(f"/api/rest/v1/reportruns/{'0' * 32}"), 404)
    assert unknown["message"] == f"The report run with id {'0' * 32} does not exist."


def test_the_cancel_pages_in_progress_query(demo: httpx.Client, completed: dict[str, Any]) -> None:
    body = {
        "columns": [
            "reportId",
            "startedOn",
            "reportType",
            "createdByUserProfile.username",
            "status",
            " ",
        ],
        "pagination": {"currentPage": 1, "pageSize": 250},
        "sort": [{"field": "startedOn", "direction": "desc", "priority": 0}],
    }
    found = ok(demo.post(f"/api/rest/v1/reportruns?{IN_PROGRESS}", json=body))
    assert set(found) == {"totalCount", "totalPage", "currentPage", "pageSize", "elements"}
    assert all(e["status"] in {"STARTED", "QUERYDATA", "PROCESSINGDATA"} for e in found["elements"])
    everything = ok(demo.post("/api/rest/v1/reportruns", json={}))
    assert completed["id"] in {e["id"] for e in everything["elements"]}
    done = ok(demo.post("/api/rest/v1/reportruns?status=COMPLETED", json=body))
    assert {e["status"] for e in done["elements"]} == {"COMPLETED"}
    assert done["elements"][0]["createdByUserProfile"] == {"username": "demo"}


def test_last_completed_run(demo: httpx.Client, completed: dict[str, Any]) -> None:
    for prefix in PREFIXES:
        latest = ok(demo.get(f"{prefix}/reports/{completed['reportId']}/reportruns/latest"))
        assert latest["status"] == "COMPLETED" and latest["reportId"] == completed["reportId"]
    never = report_named(demo, "MRR by product")
    warned = refused(demo.get(f"/api/rest/v1/reports/{never['id']}/reportruns/latest"), 400)
    assert warned["message"] == (
        "The current user has not run this report yet. Please run the report before retrying."
    )


def test_every_auth_style_on_both_path_families(
    server: support.RunningServer, completed: dict[str, Any]
) -> None:
    token = httpx.post(
        f"{server.base_url}/oauth/token",
        data={
            "client_id": support.DEMO_CLIENT[0],
            "client_secret": support.DEMO_CLIENT[1],
            "grant_type": "client_credentials",
        },
    ).json()["access_token"]
    styles: list[dict[str, str]] = [
        HEADERS,
        {"Authorization": f"Bearer {token}"},
        {"Authorization": support.basic("demo", "demo")},
    ]
    for prefix in PREFIXES:
        for headers in styles:
            answer = httpx.get(
                f"{server.base_url}{prefix}/reportruns/{completed['id']}", headers=headers
            )
            assert ok(answer)["id"] == completed["id"]
        bad = httpx.get(
            f"{server.base_url}{prefix}/reportruns/{completed['id']}",
            headers={"apiAccessKeyId": "demo", "apiSecretAccessKey": "nope"},
        )
        assert refused(bad, 401)["errorCode"] == "loginFailed"


def test_another_tenant_sees_nothing(
    server: support.RunningServer, completed: dict[str, Any]
) -> None:
    other = server.client(auth=OTHER_AUTH)
    run_id = completed["id"]
    for method, path in (
        ("GET", f"/api/rest/v1/reportruns/{run_id}"),
        ("DELETE", f"/api/rest/v1/reportruns/{run_id}"),
        ("GET", f"/api/rest/v1/reportruns/reportdata/{run_id}?offset=1&pageSize=10"),
    ):
        assert refused(other.request(method, path), 404)["message"] == (
            f"The report run with id {run_id} does not exist."
        )
    assert refused(other.get(f"/api/rest/v1/reportruns/export/{run_id}"), 404)["message"] == (
        "There are errors when exporting the report."
    )
    listed = ok(other.post("/api/rest/v1/reportruns", json={}))
    assert run_id not in {e["id"] for e in listed["elements"]}
    run = refused(
        other.post(f"/api/rest/v1/reports/{completed['reportId']}/reportrun?viewType=Summary"), 404
    )
    assert "does not exist" in run["message"]


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "message"),
    [
        ("POST", "/reportruns?status=BOGUS", {}, 400, "Unknown report run status 'BOGUS'"),
        ("POST", "/reportruns", {"columns": ["nope"]}, 400, "Unknown column 'nope'"),
        ("POST", "/reportruns", {"sort": [{"field": "nope"}]}, 400, "Unknown sort field 'nope'"),
        ("POST", "/reportruns", b"{not json", 500, "Could not read JSON"),
        (
            "GET",
            "/reportruns/reportdata/RUN?offset=a&pageSize=10",
            None,
            400,
            "offset must be an integer",
        ),
        (
            "GET",
            "/reportruns/reportdata/RUN?pageSize=10",
            None,
            400,
            "Required int parameter 'offset'",
        ),
        ("GET", "/reportruns/export/RUN?pivoted=maybe", None, 400, "pivoted must be true or false"),
        ("POST", "/reports/REPORT/reportrun", None, 400, "Required String parameter 'viewType'"),
        ("POST", "/reports/REPORT/reportrun?viewType=Crosstab", None, 400, "viewType Crosstab"),
        ("POST", "/reports/REPORT/reportrun?viewType=Detail", b"[1, 2]", 400, "filter"),
        ("POST", "/reports/REPORT/reportrun?viewType=Detail", b"nope", 500, "Could not read JSON"),
    ],
)
def test_bad_input_gets_the_reporting_envelope_never_a_500_crash(
    demo: httpx.Client,
    completed: dict[str, Any],
    method: str,
    path: str,
    body: object,
    status: int,
    message: str,
) -> None:
    path = path.replace("RUN", completed["id"]).replace("REPORT", completed["reportId"])
    kwargs: dict[str, Any] = {}
    if isinstance(body, bytes):
        kwargs["content"] = body
    elif body is not None:
        kwargs["json"] = body
    answer = demo.request(method, f"/api/rest/v1{path}", **kwargs)
    found = refused(answer, status)
    assert message in found["message"], found
    framework = status == 500 or message.startswith("Required")
    assert found["errorCode"] == ("ZAN-REST-ERROR" if framework else "ZAN-USAGE-REST-ERROR")


def _bearer(server: support.RunningServer, client_id: str, secret: str) -> httpx.Client | None:
    """A client sending a fresh bearer token of ``client_id``; None when no token is given."""
    grant = httpx.post(
        f"{server.base_url}/oauth/token",
        data={"client_id": client_id, "client_secret": secret, "grant_type": "client_credentials"},
    )
    if grant.status_code != 200:
        return None
    token = grant.json()["access_token"]
    return server.client(auth=None, headers={"Authorization": f"Bearer {token}"})


def _eventually(check: Any) -> Any:
    """``check()`` once it is truthy (the server reloads changed tenants in the background)."""
    deadline = time.monotonic() + support.JOB_TIMEOUT_S
    while not (found := check()) and time.monotonic() < deadline:
        time.sleep(support.POLL_INTERVAL_S)
    return found


def test_the_seeds_find_then_cancel_works_through_oauth_as_the_clients_user(
    server: support.RunningServer, demo: httpx.Client, completed: dict[str, Any]
) -> None:
    """The /reporting paths take OAuth only: a client acts as the user it belongs to (the demo
    client: user demo, an admin), so it finds the user's runs and may cancel them."""
    bearer = _bearer(server, *support.DEMO_CLIENT)
    assert bearer is not None
    prefix = "/reporting/api/rest/v1"
    body = {"columns": ["reportId", "createdByUserProfile.username", "status"]}
    listed = ok(bearer.post(f"{prefix}/reportruns?status=COMPLETED", json=body))
    mine = {e["id"]: e for e in listed["elements"]}
    assert completed["id"] in mine, listed
    assert mine[completed["id"]]["createdByUserProfile"] == {"username": "demo"}
    # Allowed to cancel the user's run: the answer is the documented refusal of a finished one.
    done = refused(bearer.delete(f"{prefix}/reportruns/{completed['id']}"), 400)
    assert "is already COMPLETED" in done["message"]
    report = report_named(bearer, "Usage by account", prefix)
    started = ok(bearer.post(f"{prefix}/reports/{report['id']}/reportrun?viewType=Detail"))
    run = ok(bearer.get(f"{prefix}/reportruns/{started['reportRunId']}"))
    assert run["createdByUserProfile"] == {"username": "demo"}
    in_progress = ok(bearer.post(f"{prefix}/reportruns?{IN_PROGRESS}", json=body))
    for element in in_progress["elements"]:
        answer = bearer.delete(f"{prefix}/reportruns/{element['id']}")
        # Cancelled, or finished between the list and the DELETE: never refused as not allowed.
        assert answer.status_code in {200, 400}, answer.text


def test_a_client_of_a_non_admin_has_that_users_rights_and_stops_with_it(
    server: support.RunningServer, completed: dict[str, Any]
) -> None:
    tenants_setup.add_user(server, "demo", "nora", "nora-password")
    tenants_setup.change(
        server,
        lambda conn: logins_repo.add_client(conn, "demo", "nora-client", "s", user="nora"),
    )
    bearer = _eventually(lambda: _bearer(server, "nora-client", "s"))
    assert bearer is not None
    prefix = "/reporting/api/rest/v1"
    listed = ok(bearer.post(f"{prefix}/reportruns", json={}))
    assert completed["id"] not in {e["id"] for e in listed["elements"]}  # demo's, not nora's
    assert refused(bearer.delete(f"{prefix}/reportruns/{completed['id']}"), 403)
    tenants_setup.change(server, lambda conn: logins_repo.remove_user(conn, "nora"))
    gone = _eventually(lambda: bearer.post(f"{prefix}/reportruns", json={}).status_code == 401)
    assert gone, "the token of a client whose user was removed still works"
    assert _bearer(server, "nora-client", "s") is None


def test_run_a_report_twice_with_one_idempotency_key_starts_one_run(demo: httpx.Client) -> None:
    report = report_named(demo, "Accounts by status")
    key = {"Idempotency-Key": f"retry-{time.time_ns()}"}
    path = f"/api/rest/v1/reports/{report['id']}/reportrun?viewType=Summary"
    first = ok(demo.post(path, headers=key))
    again = ok(demo.post(path.replace("/api/", "/reporting/api/", 1), headers=key))
    assert again == first
    other = refused(demo.post(path.replace("Summary", "Detail"), headers=key), 422)
    assert other["errorCode"] == "ZAN-USAGE-REST-ERROR"
    # Keys are the tenant's, across APIs: one used by an AQuA submit names that job.
    aqua_key = {"Idempotency-Key": f"aqua-{time.time_ns()}"}
    submitted = demo.post(
        "/v1/batch-query/", json=support.stateless("select Id from Account"), headers=aqua_key
    )
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    assert refused(demo.post(path, headers=aqua_key), 422)["message"].startswith(
        "This Idempotency-Key was used"
    )


REPORTING_JSON = "application/json;charset=UTF-8"


def test_reporting_answers_json_with_zuoras_charset_and_aqua_keeps_its_own(
    server: support.RunningServer, demo: httpx.Client, completed: dict[str, Any]
) -> None:
    """[KC-OVR]: JSON answers are application/json;charset=UTF-8, refusals of every kind too;
    the export keeps its UTF-16 type and AQuA its plain application/json."""
    answers = [
        demo.get(f"/api/rest/v1/reportruns/{completed['id']}"),
        demo.post("/reporting/api/rest/v1/reportruns", json={}),
        demo.get(f"/api/rest/v1/reportruns/{'0' * 32}"),  # 404, the Reporting envelope
        demo.get("/api/rest/v1/no-such-endpoint"),  # the framework's 404, same envelope
        httpx.get(f"{server.base_url}/api/rest/v1/reportruns/{completed['id']}"),  # 401
        demo.post("/api/rest/v1/reportruns", content=b"{nope"),  # 500, unreadable JSON
    ]
    for answer in answers:
        assert answer.headers["content-type"] == REPORTING_JSON, (answer.url, answer.text)
        assert answer.json()["success"] in {True, False}
    exported = demo.get(f"/api/rest/v1/reportruns/export/{completed['id']}")
    assert exported.headers["content-type"] == "text/csv;charset=utf-16"
    aqua = demo.get(f"/v1/batch-query/jobs/{'0' * 32}")
    assert aqua.headers["content-type"] == "application/json"


def test_entity_id_and_entity_name_together_are_refused(
    demo: httpx.Client, completed: dict[str, Any]
) -> None:
    """[OVR]: an entity is chosen by entityId or entityName; sending both is an error."""
    path = f"/api/rest/v1/reportruns/{completed['id']}"
    for headers in ({"entityId": "e1"}, {"entityName": "Global"}, {"entityId": "", "x": "y"}):
        assert ok(demo.get(path, headers=headers))["id"] == completed["id"]
    for prefix in PREFIXES:
        both = {"entityId": "e1", "entityName": "Global"}
        for method, where in (("GET", path), ("POST", "/api/rest/v1/reportruns")):
            answer = demo.request(method, where.replace("/api/rest/v1", prefix, 1), headers=both)
            found = refused(answer, 400)
            assert found["errorCode"] == "ZAN-USAGE-REST-ERROR"
            assert "not both" in found["message"]
    # Credentials come first: a stranger sending both is told to authenticate.
    anonymous = httpx.get(
        f"{demo.base_url}{path}", headers={"entityId": "e1", "entityName": "Global"}
    )
    assert refused(anonymous, 401)["errorCode"] == "loginFailed"
